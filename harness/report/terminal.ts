// What the terminal shows at the end of a run: a summary table (MiB, ms, %) and an RSS
// chart per scenario with every variant and the release marked.
import asciichart from 'asciichart';
import Table from 'cli-table3';
import pc from 'picocolors';
import type { SummaryRow } from '../core/types.js';
import { MiB, formatMiB, formatMs, formatPercent } from '../core/units.js';
import { growthLines } from './growth.js';
import { LEDGER_TITLE, ledgerTable } from './ledger.js';
import { REMEDIES_TITLE, remedyLines } from './remedies.js';

interface Column {
  head: string;
  metric: string;
  format: (v: number | null) => string;
}

const COLUMNS: Column[] = [
  { head: 'baseline MiB', metric: 'baselineRss', format: (v) => formatMiB(v) },
  { head: 'peak MiB', metric: 'peakRss', format: (v) => formatMiB(v) },
  { head: 'VmHWM MiB', metric: 'vmHwm', format: (v) => formatMiB(v) },
  { head: 'peak live MiB', metric: 'peakLive', format: (v) => formatMiB(v) },
  { head: 'retained MiB', metric: 'retainedRss', format: (v) => formatMiB(v) },
  { head: 'released MiB', metric: 'releasedRss', format: (v) => formatMiB(v) },
  { head: 'release ms', metric: 'releaseMs', format: (v) => formatMs(v) },
  { head: 'retention', metric: 'retention', format: (v) => formatPercent(v) },
  { head: 'release eff.', metric: 'releaseEfficiency', format: (v) => formatPercent(v) },
];

function cell(row: SummaryRow, c: Column): string {
  const m = row.metrics[c.metric];
  if (!m) return '-';
  const mid = c.format(m.median);
  return row.trials > 1 && m.min !== m.max ? `${mid} (${c.format(m.min)}-${c.format(m.max)})` : mid;
}

export function summaryTable(summary: readonly SummaryRow[], color = false): string {
  const out: string[] = [];
  for (const scenario of [...new Set(summary.map((r) => r.scenario))]) {
    const table = new Table({
      head: ['variant', 'trials', ...COLUMNS.map((c) => c.head), 'verdict'],
      style: { head: color ? ['cyan'] : [], border: color ? ['grey'] : [] },
    });
    for (const row of summary.filter((r) => r.scenario === scenario)) {
      const trials = row.failedTrials ? `${row.trials} (${row.failedTrials} failed)` : String(row.trials);
      table.push([row.variant, trials, ...COLUMNS.map((c) => cell(row, c)), row.verdict?.kind ?? '-']);
    }
    out.push(`${color ? pc.bold(scenario) : scenario}`, table.toString());
    for (const row of summary.filter((r) => r.scenario === scenario && r.verdict && (r.verdict.kind !== 'healthy' || r.profile))) {
      const v = row.verdict!;
      const label = v.severity ? `${v.kind} (${v.severity})` : v.kind;
      const kind = color ? (v.severity === 'critical' ? pc.red(label) : pc.yellow(label)) : label;
      if (v.kind !== 'healthy') out.push(`  ${row.variant}: ${kind}: ${v.remedy}`);
      else out.push(`  ${row.variant}: ${kind}`);
      for (const line of growthLines(row)) out.push(`    ${line}`);
    }
    const ledger = ledgerTable(summary.filter((r) => r.scenario === scenario));
    if (ledger) {
      const t = new Table({ head: ledger.head, style: { head: color ? ['cyan'] : [], border: color ? ['grey'] : [] } });
      for (const row of ledger.body) t.push(row);
      out.push(`  ${LEDGER_TITLE}`, t.toString());
    }
    const remedies = remedyLines(summary.filter((r) => r.scenario === scenario));
    if (remedies.length) out.push(`  ${REMEDIES_TITLE}`, ...remedies.flatMap((g) => [`  ${g.head}`, ...g.lines.map((l) => `    - ${l}`)]));
  }
  return out.join('\n');
}

export interface Curve {
  variant: string;
  points: Array<[number, number]>;  // [t_ms, rss_bytes]
  releaseAt: number | null;
}

const SERIES_COLORS = [asciichart.blue, asciichart.green, asciichart.red, asciichart.magenta, asciichart.cyan, asciichart.yellow];

/** Resamples to `width` columns, keeping each column's maximum (so peaks survive). */
export function resampleMax(points: ReadonlyArray<[number, number]>, endMs: number, width: number): number[] {
  const cols = new Array<number>(width).fill(Number.NaN);
  for (const [t, v] of points) {
    const i = Math.min(width - 1, Math.floor((t / endMs) * width));
    if (!(cols[i]! >= v)) cols[i] = v;
  }
  let last = points[0]?.[1] ?? 0;
  return cols.map((v) => (Number.isNaN(v) ? last : (last = v)));
}

/** One small chart per variant, on the same time and RSS scales, with the release marked. */
export function rssCharts(title: string, curves: readonly Curve[], color = false, width = 64, height = 6): string {
  if (curves.length === 0) return '';
  const endMs = Math.max(...curves.map((c) => c.points.at(-1)?.[0] ?? 1));
  const top = Math.max(...curves.flatMap((c) => c.points.map((p) => p[1]))) / MiB;
  const out = [`${title}: RSS over time, 0-${(endMs / 1000).toFixed(1)} s (^ = release)`];
  curves.forEach((c, i) => {
    const series = resampleMax(c.points, endMs, width).map((b) => b / MiB);
    const chart = asciichart.plot(series, {
      height, min: 0, max: top,
      colors: color ? [SERIES_COLORS[i % SERIES_COLORS.length]!] : undefined,
      format: (x: number) => `${x.toFixed(0).padStart(6)} MiB `,
    });
    const marks = new Array<string>(width).fill(' ');
    if (c.releaseAt !== null) marks[Math.min(width - 1, Math.floor((c.releaseAt / endMs) * width))] = '^';
    out.push(`${color ? pc.bold(c.variant) : c.variant}`, chart, ' '.repeat(12) + marks.join('').trimEnd());
  });
  return out.join('\n');
}
