// What the Markdown and HTML reports show of a summary row, and how: the key metrics in
// MiB, ms and %, with the trials' min-max when there were several. One list, so both
// reports agree.
import { metricUnit } from '../analysis/metrics.js';
import type { Spread, SummaryRow } from '../core/types.js';
import { formatMiB, formatMs, formatPercent } from '../core/units.js';

export interface Column {
  head: string;
  metric: string;
  /** What the column means, for the reports' legends. */
  title: string;
}

export const REPORT_COLUMNS: readonly Column[] = [
  { head: 'baseline MiB', metric: 'baselineRss', title: 'RSS before load' },
  { head: 'peak MiB', metric: 'peakRss', title: 'highest 10 ms RSS sample' },
  { head: 'peak live MiB', metric: 'peakLive', title: 'highest bytes the relay held (requests and responses in flight)' },
  { head: 'retained MiB', metric: 'retainedRss', title: 'RSS just before the release call (after drain and idle)' },
  { head: 'released MiB', metric: 'releasedRss', title: 'RSS at the end of the phase with the release call' },
  { head: 'release ms', metric: 'releaseMs', title: 'duration of the release call inside the relay' },
  { head: 'retention', metric: 'retention', title: '(retained - baseline) / (peak - baseline): what the allocator kept by itself' },
  { head: 'release eff.', metric: 'releaseEfficiency', title: '(retained - released) / (retained - baseline): what the release call gave back' },
];

/** A value in its report unit: bytes in MiB, times in ms, ratios in %. */
export function formatMetric(metric: string, v: number | null | undefined): string {
  switch (metricUnit(metric)) {
    case 'bytes': return formatMiB(v);
    case 'ms': return formatMs(v);
    case 'ratio': return formatPercent(v);
    case 'rps': return v === null || v === undefined ? '-' : v.toFixed(0);
    case 'bytes/request': return v === null || v === undefined ? '-' : v.toFixed(1);
    default: return v === null || v === undefined ? '-' : String(+v.toFixed(3));
  }
}

/** The unit a metric is shown in. */
export function shownUnit(metric: string): string {
  const u = metricUnit(metric);
  return u === 'bytes' ? 'MiB' : u === 'ratio' ? '%' : u === 'rps' ? 'req/s' : u === 'bytes/request' ? 'B/req' : u === 'ms' ? 'ms' : '';
}

/** The median, and "(min-max)" when there were several trials that differ. */
export function formatSpread(metric: string, s: Spread | undefined, trials: number): string {
  if (!s) return '-';
  const mid = formatMetric(metric, s.median);
  return trials > 1 && s.min !== s.max ? `${mid} (${formatMetric(metric, s.min)}-${formatMetric(metric, s.max)})` : mid;
}

export function trialsCell(row: SummaryRow): string {
  return row.failedTrials ? `${row.trials} (${row.failedTrials} failed)` : String(row.trials);
}

/** Scenario names in run order (run.json), then any the summary adds. */
export function scenarioOrder(listed: readonly string[], summary: readonly SummaryRow[]): string[] {
  return [...new Set([...listed, ...summary.map((r) => r.scenario)])];
}

/** The chart colours, one per variant in run order (also named for Markdown, which has
 * no legend: the coloured square shows which line is which). */
export const PALETTE: ReadonlyArray<{ color: string; square: string }> = [
  { color: '#2563eb', square: '🟦' },
  { color: '#ea580c', square: '🟧' },
  { color: '#16a34a', square: '🟩' },
  { color: '#dc2626', square: '🟥' },
  { color: '#9333ea', square: '🟪' },
  { color: '#92400e', square: '🟫' },
  { color: '#ca8a04', square: '🟨' },
  { color: '#111827', square: '⬛' },
];

export function paletteAt(i: number): { color: string; square: string } {
  return PALETTE[i % PALETTE.length]!;
}

/** A command line as one could paste it into a POSIX shell. */
export function shellJoin(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
