// Small statistics, pure functions.

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function min(values: readonly number[]): number | null {
  return values.length ? values.reduce((a, b) => (b < a ? b : a)) : null;
}

export function max(values: readonly number[]): number | null {
  return values.length ? values.reduce((a, b) => (b > a ? b : a)) : null;
}

/** The q-quantile (0..1) by linear interpolation. */
export function quantile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

export function mean(values: readonly number[]): number | null {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
}

/** Coefficient of variation (population standard deviation / mean). */
export function cv(values: readonly number[]): number | null {
  const m = mean(values);
  if (m === null || m === 0) return null;
  const variance = values.reduce((a, v) => a + (v - m) ** 2, 0) / values.length;
  return Math.sqrt(variance) / m;
}
