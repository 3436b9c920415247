// `lab compare` output: the terminal table and the Markdown file, over one Comparison.
import Table from 'cli-table3';
import pc from 'picocolors';
import type { Comparison, MetricDelta, RowComparison } from '../analysis/compare.js';
import { metricUnit } from '../analysis/metrics.js';
import { formatMetric, shownUnit } from './columns.js';
import { mdText } from './markdown.js';

/** The delta in the metric's unit, signed; ratios in percentage points. */
export function formatDelta(metric: string, d: number | null): string {
  if (d === null) return '-';
  const abs = metricUnit(metric) === 'ratio' ? `${(Math.abs(d) * 100).toFixed(0)} pp` : formatMetric(metric, Math.abs(d));
  return signed(d, abs);
}

/** "+1.5", "-1.5"; no sign where the shown digits are all zero. */
function signed(d: number, abs: string): string {
  if (/^[0.]+(\D.*)?$/.test(abs)) return abs;
  return `${d > 0 ? '+' : '-'}${abs}`;
}

export function formatDeltaPercent(r: number | null): string {
  if (r === null) return '-';
  return signed(r, `${(Math.abs(r) * 100).toFixed(1)}%`);
}

function cells(m: MetricDelta): string[] {
  return [
    m.metric, shownUnit(m.metric), formatMetric(m.metric, m.base?.median), formatMetric(m.metric, m.head?.median),
    formatDelta(m.metric, m.delta), formatDeltaPercent(m.deltaRatio),
  ];
}

function missingLines(c: Comparison): string[] {
  return c.missing.map((m) => `${m.variant === null ? `scenario ${m.scenario}` : `${m.scenario} / ${m.variant}`}: only in ${m.onlyIn} (${m.onlyIn === 'base' ? c.base : c.head})`);
}

function rangeNote(rows: readonly RowComparison[]): string {
  return rows.some((r) => r.baseTrials < 2 || r.headTrials < 2)
    ? 'With one trial the range is a single value, so every change is flagged: use --trials 3 or more for a range worth the name.'
    : '';
}

const scenariosOf = (c: Comparison) => [...new Set(c.rows.map((r) => r.scenario))];

export function compareTerminal(c: Comparison, color = false): string {
  const out = [`base ${c.base}  ->  head ${c.head}`, '! = change beyond both runs\' trial ranges (min-max)'];
  for (const scenario of scenariosOf(c)) {
    const table = new Table({
      head: ['variant', 'metric', 'unit', 'base', 'head', 'delta', 'delta %', ''],
      style: { head: color ? ['cyan'] : [], border: color ? ['grey'] : [] },
      colAligns: ['left', 'left', 'left', 'right', 'right', 'right', 'right', 'left'],
      chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
    });
    for (const row of c.rows.filter((r) => r.scenario === scenario)) {
      for (const m of row.metrics) {
        const flag = m.flagged ? (color ? pc.yellow('!') : '!') : '';
        table.push([row.variant, ...cells(m), flag]);
      }
    }
    out.push('', color ? pc.bold(scenario) : scenario, table.toString());
  }
  const flagged = c.rows.reduce((n, r) => n + r.metrics.filter((m) => m.flagged).length, 0);
  out.push('', `${flagged} change${flagged === 1 ? '' : 's'} flagged`);
  const note = rangeNote(c.rows);
  if (note) out.push(note);
  const missing = missingLines(c);
  if (missing.length) out.push('', 'not compared:', ...missing.map((l) => `  ${l}`));
  return out.join('\n') + '\n';
}

export function compareMarkdown(c: Comparison): string {
  const out = [
    `# leak-lab compare: \`${c.base}\` → \`${c.head}\``,
    '⚠ marks a change beyond both runs\' trial ranges (min-max). Ratios change in percentage points (pp).',
  ];
  const note = rangeNote(c.rows);
  if (note) out.push(note);
  for (const scenario of scenariosOf(c)) {
    const lines = ['| variant | metric | unit | base | head | delta | delta % | |', '|---|---|---|---:|---:|---:|---:|---|'];
    for (const row of c.rows.filter((r) => r.scenario === scenario)) {
      for (const m of row.metrics) lines.push(`| ${[row.variant, ...cells(m)].map(mdText).join(' | ')} | ${m.flagged ? '⚠' : ''} |`);
    }
    out.push(`## ${mdText(scenario)}`, lines.join('\n'));
  }
  const missing = missingLines(c);
  if (missing.length) out.push('## Not compared', missing.map((l) => `- ${mdText(l)}`).join('\n'));
  return out.join('\n\n') + '\n';
}
