// A remedy, measured: the remedied run's row against the row it was tried on. What RSS kept
// above baseline at the retention point (right before the scenario's own release), the
// throughput and p99 of the main loaded phase, and a one-line conclusion. A remedy fixes the
// row when it keeps at most half of what the original kept, at a throughput cost of at
// most 2%; the best of several is the one that keeps least within that cost. Pure.
import { mibText } from '../core/units.js';
import type { RemedyOutcome, SummaryRow } from '../core/types.js';

/** A remedy must keep at most this fraction of the original's kept RSS... */
export const FIX_KEPT_MAX = 0.5;
/** ...at no less than this fraction of its throughput... */
export const THROUGHPUT_MIN = 0.98;
/** ...judged only when both rows have at least this many trials. */
export const COST_TRIALS_MIN = 3;

const med = (row: SummaryRow, k: string): number | null => row.metrics[k]?.median ?? null;

/** RSS kept above baseline at the retention point. */
export function keptBytes(row: SummaryRow): number | null {
  const r = med(row, 'retainedRss');
  const b = med(row, 'baselineRss');
  return r === null || b === null ? null : Math.max(0, r - b);
}

/** The main loaded phase of a row: the one with the highest throughput (a short warm-up
 * phase of a few requests would make any mean noise); null without built-in load. */
export function mainLoadPhase(row: SummaryRow): string | null {
  let best: { phase: string; rps: number } | null = null;
  for (const k of Object.keys(row.metrics)) {
    const rps = k.startsWith('throughput.') ? med(row, k) : null;
    if (rps !== null && rps > 0 && (!best || rps > best.rps)) best = { phase: k.slice('throughput.'.length), rps };
  }
  return best?.phase ?? null;
}

/** Throughput and p99 of `phase` in a row (null where not measured). */
export function loadFigures(row: SummaryRow, phase: string | null): { throughput: number | null; p99: number | null } {
  return phase === null ? { throughput: null, p99: null } : { throughput: med(row, `throughput.${phase}`), p99: med(row, `p99.${phase}`) };
}


export function compareRemedy(base: SummaryRow, remedied: SummaryRow, remedy: { id: string; kind: RemedyOutcome['kind']; label: string }): RemedyOutcome {
  const kept = keptBytes(remedied);
  const baseKept = keptBytes(base);
  const keptChange = kept === null || baseKept === null || baseKept === 0 ? null : (kept - baseKept) / baseKept;
  const phase = mainLoadPhase(base);
  const a = loadFigures(base, phase);
  const b = loadFigures(remedied, phase);
  const throughputRatio = a.throughput && b.throughput ? b.throughput / a.throughput : null;
  const p99DeltaMs = a.p99 !== null && b.p99 !== null ? b.p99 - a.p99 : null;
  // A throughput cost is judged only on medians of several trials: one trial of a short
  // burst moves by tens of percent from run to run.
  const judged = throughputRatio !== null && base.trials >= COST_TRIALS_MIN && remedied.trials >= COST_TRIALS_MIN;
  const cheap = !judged || throughputRatio! >= THROUGHPUT_MIN;
  const improved = kept !== null && baseKept !== null && kept <= FIX_KEPT_MAX * baseKept;
  const fixes = improved && cheap;
  const pct = (x: number) => `${x >= 0 ? '+' : ''}${Math.round(x * 100)}%`;
  const cost = throughputRatio === null ? ''
    : ` at ${Math.round(throughputRatio * 100)}% of the throughput${p99DeltaMs === null ? '' : `, p99 ${p99DeltaMs >= 0 ? '+' : ''}${p99DeltaMs.toFixed(1)} ms`}${judged ? '' : ` (cost not judged: ${Math.min(base.trials, remedied.trials)} trial, run --trials ${COST_TRIALS_MIN})`}`;
  const said = kept === null || baseKept === null
    ? `${remedy.label}: RSS kept not measured`
    : `${remedy.label} kept ${mibText(kept)} instead of ${mibText(baseKept)}${keptChange === null ? '' : ` (${pct(keptChange)})`}${cost}`;
  const why = !improved ? 'it does not fix this' : cheap ? 'it fixes this' : `it fixes the RSS but costs ${Math.round((1 - throughputRatio!) * 100)}% of the throughput`;
  return { id: remedy.id, kind: remedy.kind, label: remedy.label, of: base.variant, keptBytes: kept, baseKeptBytes: baseKept, keptChange, throughputRatio, p99DeltaMs, fixes, conclusion: `${said}: ${why}` };
}

/** The remedied rows of one original row, best first: those that fix it, by RSS kept; then
 * the others, by RSS kept. */
export function rankRemedies(rows: readonly SummaryRow[]): SummaryRow[] {
  const group = (r: SummaryRow) => (r.remedy!.fixes ? 0 : 1);
  const kept = (r: SummaryRow) => r.remedy!.keptBytes ?? Number.POSITIVE_INFINITY;
  return [...rows].sort((x, y) => group(x) - group(y) || kept(x) - kept(y));
}
