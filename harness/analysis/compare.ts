// Two runs side by side: per scenario x variant x metric, base, head, delta and delta %,
// with a change flagged when the two runs' trial ranges (min-max) do not overlap. Pure.
import { METRICS } from './metrics.js';
import type { Spread, SummaryRow } from '../core/types.js';

export interface MetricDelta {
  metric: string;
  base: Spread | null;
  head: Spread | null;
  /** head - base, of the medians. */
  delta: number | null;
  /** delta / |base|, as a fraction; null when base is 0 or missing. */
  deltaRatio: number | null;
  /** The trials' min-max ranges of base and head do not overlap. */
  flagged: boolean;
}

export interface RowComparison {
  scenario: string;
  variant: string;
  baseTrials: number;
  headTrials: number;
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

export function compareMetric(metric: string, base: Spread | null, head: Spread | null): MetricDelta {
  const b = base?.median ?? null;
  const h = head?.median ?? null;
  const delta = b === null || h === null ? null : h - b;
  const deltaRatio = delta === null || b === null || b === 0 ? null : delta / Math.abs(b);
  let flagged = false;
  if (base && head && delta !== null && delta !== 0) {
    const [bl, bh, hl, hh] = [lo(base), hi(base), lo(head), hi(head)];
    flagged = bl !== null && bh !== null && hl !== null && hh !== null && (hl > bh || hh < bl);
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
      const names = metricOrder([...Object.keys(br.metrics), ...Object.keys(hr.metrics)]);
      rows.push({
        scenario, variant, baseTrials: br.trials, headTrials: hr.trials,
        metrics: names.map((m) => compareMetric(m, br.metrics[m] ?? null, hr.metrics[m] ?? null)),
      });
    }
  }
  return { base: baseId, head: headId, rows, missing };
}
