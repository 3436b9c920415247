// report.md: GitHub-flavoured Markdown for a pull request or an issue. Per scenario: the
// summary table (with each variant's verdict), an RSS-over-time chart as a Mermaid
// xychart, then the environment and the command that reproduces the run.
import type { ChartTrace, RunData } from '../results/reader.js';
import type { SummaryRow } from '../core/types.js';
import { MiB } from '../core/units.js';
import { growthMarkdown } from './growth.js';
import { LEDGER_TITLE, ledgerTable } from './ledger.js';
import { REMEDIES_TITLE, remedyLines } from './remedies.js';
import { REPORT_COLUMNS, formatSpread, paletteAt, scenarioOrder, trialsCell } from './columns.js';
import {
  chartsOf, environmentRows, phaseLengths, phaseTexts, releaseTexts, reproduceCommand, runLine, scenarioDescription, scenarioInfo, seedText, variantRows,
} from './common.js';
import { bucketMax } from './downsample.js';

/** Columns of the Mermaid chart: its peak per column is kept. */
export const MERMAID_COLUMNS = 80;

/** Text safe in a Markdown table cell or paragraph: no HTML, no cell breaks. */
export function mdText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** Inline code that survives any backticks inside it. */
function mdCode(s: string): string {
  const longest = Math.max(0, ...(s.match(/`+/g) ?? []).map((m) => m.length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${longest ? ' ' : ''}${s.replace(/\r?\n/g, ' ')}${longest ? ' ' : ''}${fence}`;
}

function fenced(lang: string, body: string): string {
  const longest = Math.max(2, ...(body.match(/`+/g) ?? []).map((m) => m.length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${lang}\n${body}\n${fence}`;
}

function table(head: string[], align: Array<'l' | 'r'>, rows: string[][]): string {
  return [
    `| ${head.join(' | ')} |`,
    `|${align.map((a) => (a === 'r' ? '---:' : '---')).join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

function summaryTable(rows: readonly SummaryRow[]): string {
  // The verdict column appears once rows carry verdicts (harness/analysis/diagnosis.ts).
  const verdicts = rows.some((r) => r.verdict);
  const head = ['variant', 'trials', ...REPORT_COLUMNS.map((c) => c.head), ...(verdicts ? ['verdict'] : [])];
  const align: Array<'l' | 'r'> = ['l', 'r', ...REPORT_COLUMNS.map(() => 'r' as const), ...(verdicts ? ['l' as const] : [])];
  const body = rows.map((r) => [
    mdText(r.variant), trialsCell(r), ...REPORT_COLUMNS.map((c) => formatSpread(c.metric, r.metrics[c.metric], r.trials)),
    ...(verdicts ? [r.verdict ? `**${mdText(r.verdict.kind)}**` : '-'] : []),
  ]);
  return table(head, align, body);
}

function verdictList(rows: readonly SummaryRow[]): string {
  const lines = rows.filter((r) => r.verdict && r.verdict.kind !== 'healthy')
    .map((r) => `- **${mdText(r.variant)}**: ${mdText(r.verdict!.kind)}${r.verdict!.severity ? ` (${r.verdict!.severity})` : ''}. ${mdText(r.verdict!.remedy)}`);
  return lines.join('\n');
}

/** A Mermaid xychart of RSS (MiB) over time, one line per variant (largest value per
 * column, so peaks survive), coloured in run order. */
export function mermaidChart(title: string, charts: readonly ChartTrace[], columns = MERMAID_COLUMNS): string {
  const drawn = charts.filter((c) => c.rss.t.length > 0);
  if (drawn.length === 0) return '';
  const endMs = Math.max(...drawn.map((c) => c.endMs), 1);
  const lines = drawn.map((c) => bucketMax(c.rss, 0, endMs, columns).map((b) => +(b / MiB).toFixed(1)));
  const top = Math.max(...lines.flat());
  const yMax = top <= 0 ? 1 : Math.ceil((top * 1.05) / 10) * 10;
  const palette = drawn.map((_, i) => paletteAt(i).color).join(', ');
  return fenced('mermaid', [
    '---',
    'config:',
    '  themeVariables:',
    '    xyChart:',
    `      plotColorPalette: "${palette}"`,
    '---',
    'xychart-beta',
    `  title "${title.replace(/["\n]/g, '')}"`,
    `  x-axis "time (s)" 0 --> ${+(endMs / 1000).toFixed(1)}`,
    `  y-axis "RSS (MiB)" 0 --> ${yMax}`,
    ...lines.map((l) => `  line [${l.join(', ')}]`),
  ].join('\n'));
}

function scenarioSection(run: RunData, name: string): string {
  const s = scenarioInfo(run, name);
  const rows = run.summary.filter((r) => r.scenario === name);
  const charts = chartsOf(run, name);
  const out = [`## ${mdText(name)}`];
  const description = s ? scenarioDescription(s) : '';
  if (description) out.push(mdText(description));
  if (s) {
    out.push(`${s.trials} trial${s.trials === 1 ? '' : 's'} per variant, ${seedText(s)}. Phases: ${phaseTexts(s, phaseLengths(charts)).map(mdText).join(' → ')}.`);
  }
  out.push(rows.length ? summaryTable(rows) : '_No trial of this scenario finished._');
  if (rows.some((r) => r.trials > 1)) out.push('Medians across trials; (min-max) where the trials differ.');
  const verdicts = verdictList(rows);
  if (verdicts) out.push(verdicts);
  const ledger = ledgerTable(rows);
  if (ledger) out.push(`### ${LEDGER_TITLE}`, table(ledger.head.map(mdText), ledger.head.map((_, i) => (i === 0 ? 'l' : 'r')), ledger.body.map((r) => r.map(mdText))));
  const remedies = remedyLines(rows);
  if (remedies.length) out.push(`### ${REMEDIES_TITLE}`, remedies.map((g) => [`- **${mdText(g.head)}**`, ...g.lines.map((l) => `  - ${mdText(l)}`)].join('\n')).join('\n'));
  const growth = growthMarkdown(rows, mdText);
  if (growth) out.push(growth);
  const chart = mermaidChart(`${name}: RSS over time`, charts);
  if (chart) {
    const drawn = charts.filter((c) => c.rss.t.length > 0);
    const legend = drawn.map((c, i) => {
      const releases = releaseTexts(c);
      return `${paletteAt(i).square} ${mdText(c.variant)} (trial ${c.trial}${releases.length ? `; release at ${releases.join('; ')}` : ''})`;
    });
    out.push('### RSS over time', chart, `${legend.join(' · ')}. Each point is the largest RSS sample in 1/${MERMAID_COLUMNS} of the run, so peaks are kept; report.html has the full-resolution, interactive chart.`);
  }
  return out.join('\n\n');
}

export function markdownReport(run: RunData): string {
  const { info } = run;
  const out = [
    `# leak-lab run ${mdCode(info.runId)}`,
    mdText(runLine(info)),
  ];
  if (info.errors.length) out.push(`**Errors:**\n\n${info.errors.map((e) => `- ${mdText(e)}`).join('\n')}`);
  if (info.warnings?.length) out.push(`**Warnings:**\n\n${info.warnings.map((w) => `- ${mdText(w)}`).join('\n')}`);
  for (const name of scenarioOrder(info.scenarios.map((s) => s.name), run.summary)) out.push(scenarioSection(run, name));
  out.push(
    '## Environment',
    table(['what', 'value'], ['l', 'l'], environmentRows(info).map(([k, v]) => [mdText(k), mdText(v)])),
    table(['variant', 'allocator', 'environment'], ['l', 'l', 'l'], variantRows(info).map((r) => r.map(mdText))),
    '## Reproduce',
    info.environment.git?.commit
      ? `At commit ${mdCode(info.environment.git.commit)}${info.environment.git.dirty ? ' (the tree had uncommitted changes)' : ''}:`
      : 'From the repository root:',
    fenced('sh', reproduceCommand(info)),
  );
  return out.join('\n\n') + '\n';
}
