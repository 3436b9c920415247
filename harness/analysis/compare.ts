// Two runs side by side: per scenario x variant x metric, base, head, delta and delta %,
// and which changes are beyond noise. With 2+ trials on both sides a change is flagged when
// the trial ranges (min-max) do not overlap; with fewer, when it exceeds the single-trial
// noise floor measured with `npm run bench -- repro` (docs/reports.md, "lab compare"). Pure.
import { METRICS, type MetricUnit, metricUnit } from './metrics.js';
import type { Spread, SummaryRow, VerdictKind } from '../core/types.js';

const MiB = 1024 * 1024;

/** How a change was judged: 'range' = trial ranges do not overlap (2+ trials each side);
 * 'floor' = |delta| beyond NOISE_FLOORS (fewer than 2 trials on a side). */
export type FlagRule = 'range' | 'floor';

/** A change beyond max(relative x |base|, absolute) is beyond single-trial noise. `absolute`
 * is in the metric's own unit (bytes, ms, a 0-1 ratio, ...). */
export interface NoiseFloor {
  relative: number;
  absolute: number;
}

/** Single-trial noise floors per metric unit. Bytes: the widest spread between trials of
 * one commit in the README's `npm run bench -- repro` run (5 trials of burst --quick per
 * allocator), rounded up: peakRss 7.9% (mimalloc), releasedRss 3.0 MiB (mimalloc). Ratios:
 * 10 pp (retention of tcmalloc and jemalloc stays near 100%). The other units are not
 * measured by bench repro and are set wide. docs/reports.md ("lab compare") has the figures. */
export const NOISE_FLOORS: Record<MetricUnit, NoiseFloor> = {
  bytes: { relative: 0.08, absolute: 4 * MiB },
  ratio: { relative: 0, absolute: 0.1 },
  ms: { relative: 0.5, absolute: 5 },
  rps: { relative: 0.2, absolute: 0 },
  count: { relative: 0.2, absolute: 0 },
  'bytes/request': { relative: 0.5, absolute: 0 },
};

export interface MetricDelta {
  metric: string;
  base: Spread | null;
  head: Spread | null;
  /** head - base, of the medians. */
  delta: number | null;
  /** delta / |base|, as a fraction; null when base is 0 or missing. */
  deltaRatio: number | null;
  /** Beyond noise by the row's rule. */
  flagged: boolean;
}

export interface RowComparison {
  scenario: string;
  variant: string;
  baseTrials: number;
  headTrials: number;
  rule: FlagRule;
  baseVerdict: VerdictKind | null;
  headVerdict: VerdictKind | null;
  metrics: MetricDelta[];
}

export interface Comparison {
  base: string;
  head: string;
  rows: RowComparison[];
  /** Scenarios (variant null) or scenario x variant present on one side only. */
  missing: Array<{ scenario: string; variant: string | null; onlyIn: 'base' | 'head' }>;
}

const lo = (s: Spread) => s.min ?? s.median;
const hi = (s: Spread) => s.max ?? s.median;

export function ruleFor(baseTrials: number, headTrials: number): FlagRule {
  return baseTrials >= 2 && headTrials >= 2 ? 'range' : 'floor';
}

/** The smallest |delta| the floor rule flags for this metric and base value. */
export function noiseFloor(metric: string, base: number): number {
  const f = NOISE_FLOORS[metricUnit(metric)];
  return Math.max(f.relative * Math.abs(base), f.absolute);
}

export function compareMetric(metric: string, base: Spread | null, head: Spread | null, rule: FlagRule = 'range'): MetricDelta {
  const b = base?.median ?? null;
  const h = head?.median ?? null;
  const delta = b === null || h === null ? null : h - b;
  const deltaRatio = delta === null || b === null || b === 0 ? null : delta / Math.abs(b);
  let flagged = false;
  if (base && head && b !== null && delta !== null && delta !== 0) {
    if (rule === 'floor') {
      flagged = Math.abs(delta) > noiseFloor(metric, b);
    } else {
      const [bl, bh, hl, hh] = [lo(base), hi(base), lo(head), hi(head)];
      flagged = bl !== null && bh !== null && hl !== null && hh !== null && (hl > bh || hh < bl);
    }
  }
  return { metric, base, head, delta, deltaRatio, flagged };
}

function metricOrder(names: Iterable<string>): string[] {
  const rank = (n: string) => {
    const i = (METRICS as readonly string[]).indexOf(n);
    return i >= 0 ? i : METRICS.length;
  };
  return [...new Set(names)].map((n, i) => ({ n, i })).sort((a, b) => rank(a.n) - rank(b.n) || a.i - b.i).map((x) => x.n);
}

export function compareRuns(baseId: string, base: readonly SummaryRow[], headId: string, head: readonly SummaryRow[]): Comparison {
  const rows: RowComparison[] = [];
  const missing: Comparison['missing'] = [];
  const scenarios = [...new Set([...base, ...head].map((r) => r.scenario))];
  for (const scenario of scenarios) {
    const b = base.filter((r) => r.scenario === scenario);
    const h = head.filter((r) => r.scenario === scenario);
    if (!b.length || !h.length) {
      missing.push({ scenario, variant: null, onlyIn: b.length ? 'base' : 'head' });
      continue;
    }
    for (const variant of [...new Set([...b, ...h].map((r) => r.variant))]) {
      const br = b.find((r) => r.variant === variant);
      const hr = h.find((r) => r.variant === variant);
      if (!br || !hr) {
        missing.push({ scenario, variant, onlyIn: br ? 'base' : 'head' });
        continue;
      }
      const rule = ruleFor(br.trials, hr.trials);
      const names = metricOrder([...Object.keys(br.metrics), ...Object.keys(hr.metrics)]);
      rows.push({
        scenario, variant, baseTrials: br.trials, headTrials: hr.trials, rule,
        baseVerdict: br.verdict?.kind ?? null, headVerdict: hr.verdict?.kind ?? null,
        metrics: names.map((m) => compareMetric(m, br.metrics[m] ?? null, hr.metrics[m] ?? null, rule)),
      });
    }
  }
  return { base: baseId, head: headId, rows, missing };
}
