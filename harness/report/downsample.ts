// Downsampling for charts: a million samples become a few thousand points without losing
// the peak (nor the trough). Pure functions, one linear pass each.

import { type Series, emptySeries } from '../core/series.js';

export type { Series } from '../core/series.js';

/** The bucket of time `t` among `buckets` equal buckets over [t0, t1]. */
function bucketOf(t: number, t0: number, t1: number, buckets: number): number {
  if (t1 <= t0) return 0;
  return Math.max(0, Math.min(buckets - 1, Math.floor(((t - t0) / (t1 - t0)) * buckets)));
}

/** Per bucket, the index of the smallest and of the largest value (-1 where the bucket is
 * empty). The first of equal extremes wins, so the result does not depend on noise. */
function extremes(s: Series, t0: number, t1: number, buckets: number): { lo: Int32Array; hi: Int32Array } {
  const lo = new Int32Array(buckets).fill(-1);
  const hi = new Int32Array(buckets).fill(-1);
  for (let i = 0; i < s.t.length; i++) {
    const b = bucketOf(s.t[i]!, t0, t1, buckets);
    const v = s.v[i]!;
    if (lo[b] === -1 || v < s.v[lo[b]!]!) lo[b] = i;
    if (hi[b] === -1 || v > s.v[hi[b]!]!) hi[b] = i;
  }
  return { lo, hi };
}

/** Keeps, per bucket, its minimum and its maximum in time order: at most 2 x `buckets`
 * points, and the series' global minimum and maximum always survive. */
export function minMaxDownsample(s: Series, buckets: number, t0 = s.t[0] ?? 0, t1 = s.t.at(-1) ?? 0): Series {
  if (s.t.length <= 2 * buckets) return { t: [...s.t], v: [...s.v] };
  const { lo, hi } = extremes(s, t0, t1, buckets);
  const out = emptySeries();
  for (let b = 0; b < buckets; b++) {
    const a = lo[b]!;
    const z = hi[b]!;
    if (a === -1) continue;
    for (const i of a === z ? [a] : a < z ? [a, z] : [z, a]) {
      out.t.push(s.t[i]!);
      out.v.push(s.v[i]!);
    }
  }
  return out;
}

/** Min/max per bucket on a fixed grid shared by several series (so they line up without
 * gaps in one chart): bucket b has two slots, at t0 + (b + 1/4) w and t0 + (b + 3/4) w,
 * holding the bucket's two extremes in the order they happened; an empty bucket is null. */
export function gridMinMax(s: Series, t0: number, t1: number, buckets: number): Array<number | null> {
  const { lo, hi } = extremes(s, t0, t1, buckets);
  const out = new Array<number | null>(2 * buckets).fill(null);
  for (let b = 0; b < buckets; b++) {
    const a = lo[b]!;
    const z = hi[b]!;
    if (a === -1) continue;
    const [first, second] = a <= z ? [a, z] : [z, a];
    out[2 * b] = s.v[first]!;
    out[2 * b + 1] = s.v[second]!;
  }
  return out;
}

/** The grid of gridMinMax: the time (ms) of each slot. */
export function gridTimes(t0: number, t1: number, buckets: number): number[] {
  const w = (t1 - t0) / buckets;
  const out: number[] = [];
  for (let b = 0; b < buckets; b++) out.push(t0 + (b + 0.25) * w, t0 + (b + 0.75) * w);
  return out;
}

/** The largest value per bucket, carried forward over empty buckets (for charts that can
 * draw one value per column, such as Mermaid's): the peak always survives. */
export function bucketMax(s: Series, t0: number, t1: number, buckets: number): number[] {
  const { hi } = extremes(s, t0, t1, buckets);
  const out: number[] = [];
  let last = s.v[0] ?? 0;
  for (let b = 0; b < buckets; b++) {
    const i = hi[b]!;
    if (i !== -1) last = s.v[i]!;
    out.push(last);
  }
  return out;
}
