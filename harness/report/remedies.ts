// "Remedies, measured" (--remedies): for each row a remedy was tried on, every remedy's
// one-line conclusion, best first (analysis/remedy.ts rankRemedies), as the terminal and
// report.md show them.
import type { SummaryRow } from '../core/types.js';
import { rankRemedies } from '../analysis/remedy.js';

export const REMEDIES_TITLE = 'Remedies, measured (RSS kept above baseline right before the release; best first)';

/** Per original row, a heading line and its remedies' conclusions; none without remedies. */
export function remedyLines(rows: readonly SummaryRow[]): Array<{ head: string; lines: string[] }> {
  const tried = rows.filter((r) => r.remedy);
  const out: Array<{ head: string; lines: string[] }> = [];
  for (const of of [...new Set(tried.map((r) => r.remedy!.of))]) {
    const base = rows.find((r) => r.variant === of && !r.remedy);
    const ranked = rankRemedies(tried.filter((r) => r.remedy!.of === of));
    const best = ranked.find((r) => r.remedy!.fixes);
    const head = `${of}${base?.verdict ? ` (${base.verdict.kind})` : ''}: ${best ? `best: ${best.remedy!.label}` : 'no remedy tried fixes it'}`;
    out.push({ head, lines: ranked.map((r) => `${r.remedy!.conclusion} [${r.variant}: ${r.verdict?.kind ?? '-'}]`) });
  }
  return out;
}
