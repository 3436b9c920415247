// The detect table: one row per tool, as Markdown (detect.md, picked up by the reports)
// and for the terminal. Both read a DetectResult only.
import Table from 'cli-table3';
import { formatBytes, formatMiB } from '../core/units.js';
import type { DetectResult, DetectRow, Outcome } from './detect.js';
import type { Amount } from './parse.js';

export const HEAD = [
  'tool', 'definitely lost', 'indirectly lost', 'possibly lost', 'still reachable', 'tool says',
  'program leaked', 'finds the leak?', 'peak RSS MiB', 'RSS after idle MiB', 'wall s', 'wall x', 'req/s', 'req/s x slower',
] as const;

const OUTCOME_TEXT: Record<Outcome, string> = {
  found: 'yes',
  missed: 'no (missed)',
  'false-alarm': 'no (false alarm)',
  clean: 'no leak, none reported',
  'no-report': 'no report',
  unknown: 'unknown (no ground truth)',
  'not-run': 'not run',
};

function amount(a: Amount | null | undefined): string {
  return a ? `${formatBytes(a.bytes)} / ${a.blocks}` : '-';
}

function ratio(x: number | null): string {
  return x === null ? '-' : `${x.toFixed(x >= 10 ? 0 : 1)}x`;
}

function says(r: DetectRow): string {
  if (r.status === 'not-run') return r.how;
  if (r.tool === 'native') return r.verdict ? `verdict: ${r.verdict.kind}` : `no verdict (${r.status})`;
  if (!r.report) return '-';
  if (!r.report.reported) return r.report.headline;
  const leaked = r.report.leaked;
  if (r.tool === 'growth-profile') return leaked && leaked.bytes > 0 ? `leak: ${r.report.headline}` : `no leak: ${r.report.headline}`;
  return leaked && leaked.bytes > 0 ? `leak: ${formatBytes(leaked.bytes)} in ${leaked.blocks}` : 'no leak';
}

export function detectCells(r: DetectRow): string[] {
  const rep = r.report;
  return [
    r.tool,
    amount(rep?.definitelyLost), amount(rep?.indirectlyLost), amount(rep?.possiblyLost), amount(rep?.stillReachable),
    says(r),
    r.leakedBytes === null ? '-' : formatBytes(r.leakedBytes),
    r.status === 'complete' ? OUTCOME_TEXT[r.outcome] : `${r.status}: ${OUTCOME_TEXT[r.outcome]}`,
    formatMiB(r.peakRssBytes),
    formatMiB(r.retainedRssBytes),
    r.wallMs === null ? '-' : (r.wallMs / 1000).toFixed(1),
    ratio(r.wallSlowdown),
    r.rps === null ? '-' : r.rps.toFixed(0),
    ratio(r.rpsSlowdown),
  ];
}

function notes(d: DetectResult): string[] {
  const out = [
    `Scenario \`${d.scenario}\` on ${d.subject ?? 'the built-in relay'}, scaled for the tools (its --quick form, fixed durations and upstream delay x${d.scale.durationFactor}, `
      + `at most ${d.scale.maxConcurrency} requests in flight), seed ${d.seed}; native run on variant \`${d.variant}\`.`,
    'Amounts are bytes / blocks (memcheck), objects (gperftools) or allocations (LSan). "program leaked" is what the program itself '
      + 'counted as leaked in that run (the relay\'s leak mode, or a target\'s `truth` command), the truth the tools are judged by; '
      + 'without it (a user\'s server) the judgment is "unknown (no ground truth)". A tool finds the leak when it reports '
      + 'definitely or indirectly lost memory (memcheck, LSan) or any leak (heap checker) and the program did leak; "still reachable" does not count. '
      + 'The growth profile flags a leak when live bytes grew by at least 8 MiB between the heap dump at the end of the baseline and the one before release, and names the top site (docs/profiles.md).',
  ];
  for (const r of d.rows) {
    const extra = [r.how, r.exit ? `subject ${r.exit}` : null, r.error ? `error: ${r.error.split('\n')[0]}` : null].filter(Boolean).join('; ');
    out.push(`- ${r.tool}: ${extra}`);
  }
  return out;
}

export function detectMarkdown(d: DetectResult): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const lines = [
    `## Leak checkers side by side: ${d.scenario}`,
    '',
    `| ${HEAD.join(' | ')} |`,
    `|${HEAD.map((_, i) => (i === 0 || i === 5 || i === 7 ? '---' : '---:')).join('|')}|`,
    ...d.rows.map((r) => `| ${detectCells(r).map(esc).join(' | ')} |`),
    '',
    ...notes(d),
    '',
  ];
  return lines.join('\n');
}

export function detectTerminal(d: DetectResult, color = false): string {
  const table = new Table({
    head: [...HEAD],
    style: { head: color ? ['cyan'] : [], border: color ? ['grey'] : [] },
  });
  for (const r of d.rows) table.push(detectCells(r));
  return `leak checkers side by side: ${d.scenario}\n${table.toString()}\n${notes(d).join('\n')}`;
}
