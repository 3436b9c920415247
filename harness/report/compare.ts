// `lab compare` output: the terminal text and the Markdown file, over one Comparison. Both
// lead with one headline row per variant (verdict, peak, retained and released RSS with
// signed deltas), then the metric table: in the terminal only the flagged metrics unless
// `all`, in Markdown every metric folded under <details>.
import Table from 'cli-table3';
import pc from 'picocolors';
import { type Comparison, type FlagRule, type MetricDelta, NOISE_FLOORS, type RowComparison } from '../analysis/compare.js';
import { type MetricUnit, metricUnit } from '../analysis/metrics.js';
import { formatMetric, shownUnit } from './columns.js';
import { mdText } from './markdown.js';

/** The headline metrics, with their column heads. */
export const HEADLINE: ReadonlyArray<{ metric: string; head: string }> = [
  { metric: 'peakRss', head: 'peak MiB' },
  { metric: 'retainedRss', head: 'retained MiB' },
  { metric: 'releasedRss', head: 'released MiB' },
];

/** The delta in the metric's unit, signed; ratios in percentage points. */
export function formatDelta(metric: string, d: number | null): string {
  if (d === null) return '-';
  const abs = metricUnit(metric) === 'ratio' ? `${(Math.abs(d) * 100).toFixed(0)} pp` : formatMetric(metric, Math.abs(d));
  return signed(d, abs);
}

export function formatDeltaPercent(r: number | null): string {
  if (r === null) return '-';
  return signed(r, `${(Math.abs(r) * 100).toFixed(1)}%`);
}

/** "+1.5", "-0.2%"; no sign where the shown number is zero ("0.0", "0.0%", "0 pp"). */
function signed(d: number, abs: string): string {
  const shown = Number(/^\d+(\.\d+)?/.exec(abs)?.[0] ?? NaN);
  if (shown === 0 || Number.isNaN(shown) || d === 0) return abs;
  return `${d > 0 ? '+' : '-'}${abs}`;
}

const UNIT_NAMES: Record<MetricUnit, string> = {
  bytes: 'bytes', ratio: 'ratios', ms: 'ms', rps: 'req/s', count: 'counts', 'bytes/request': 'B/request',
};

/** The noise floor rule in words, from NOISE_FLOORS (so text and code cannot drift). */
export function floorRuleText(): string {
  const parts = (Object.keys(NOISE_FLOORS) as MetricUnit[]).map((u) => {
    const { relative, absolute } = NOISE_FLOORS[u];
    const rel = `${+(relative * 100).toFixed(1)}%`;
    const abs = u === 'bytes' ? `${+(absolute / 2 ** 20).toFixed(1)} MiB` : u === 'ratio' ? `${+(absolute * 100).toFixed(1)} pp` : `${absolute} ${u === 'ms' ? 'ms' : ''}`.trim();
    const text = relative === 0 ? abs : absolute === 0 ? rel : `max(${rel}, ${abs})`;
    return `${UNIT_NAMES[u]} ${text}`;
  });
  return `the change exceeds the single-trial noise floor (measured with npm run bench -- repro; docs/reports.md): ${parts.join('; ')}`;
}

const RULE_TEXT: Record<FlagRule, () => string> = {
  range: () => 'the trial ranges (min-max) of base and head do not overlap',
  floor: floorRuleText,
};

/** Which rule flagged what: one line when every row used the same rule. */
export function ruleLines(c: Comparison): string[] {
  const by = new Map<FlagRule, string[]>();
  for (const r of c.rows) by.set(r.rule, [...(by.get(r.rule) ?? []), `${r.scenario}/${r.variant} (${r.baseTrials} vs ${r.headTrials} trials)`]);
  if (by.size <= 1) {
    const rule = c.rows[0]?.rule ?? 'range';
    const trials = rule === 'range' ? '2+ trials on both sides' : 'fewer than 2 trials on a side';
    return [`flag rule (${trials}): ${RULE_TEXT[rule]()}`];
  }
  return [...by].map(([rule, rows]) => `flag rule for ${rows.join(', ')}: ${RULE_TEXT[rule]()}`);
}

function verdictCell(r: RowComparison, arrow: string, mark: string): string {
  if (r.baseVerdict === r.headVerdict) return r.baseVerdict ?? '-';
  return `${r.baseVerdict ?? '-'} ${arrow} ${r.headVerdict ?? '-'} ${mark}`;
}

function headlineCell(m: MetricDelta | undefined, arrow: string, mark: string): string {
  if (!m || (m.base?.median == null && m.head?.median == null)) return '-';
  const text = `${formatMetric(m.metric, m.base?.median)} ${arrow} ${formatMetric(m.metric, m.head?.median)} (${formatDelta(m.metric, m.delta)}, ${formatDeltaPercent(m.deltaRatio)})`;
  return m.flagged ? `${text} ${mark}` : text;
}

/** One headline row per variant: variant, verdict, then each HEADLINE metric. */
export function headlineCells(r: RowComparison, arrow = '->', mark = '!'): string[] {
  return [r.variant, verdictCell(r, arrow, mark), ...HEADLINE.map((h) => headlineCell(r.metrics.find((m) => m.metric === h.metric), arrow, mark))];
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

const scenariosOf = (c: Comparison) => [...new Set(c.rows.map((r) => r.scenario))];
const flaggedCount = (rows: readonly RowComparison[]) => rows.reduce((n, r) => n + r.metrics.filter((m) => m.flagged).length, 0);
const metricCount = (rows: readonly RowComparison[]) => rows.reduce((n, r) => n + r.metrics.length, 0);
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function newTable(head: string[], aligns: Array<'left' | 'right'>, color: boolean): Table.Table {
  return new Table({
    head, colAligns: aligns,
    style: { head: color ? ['cyan'] : [], border: color ? ['grey'] : [] },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
}

/** The terminal text; `all` shows every metric, otherwise only the flagged ones below the
 * headline. */
export function compareTerminal(c: Comparison, color = false, all = false): string {
  const mark = color ? pc.yellow('!') : '!';
  const out = [`base ${c.base}  ->  head ${c.head}`, ...ruleLines(c).map((l) => `! = ${l}`)];
  for (const scenario of scenariosOf(c)) {
    const rows = c.rows.filter((r) => r.scenario === scenario);
    const headline = newTable(['variant', 'verdict', ...HEADLINE.map((h) => h.head)], ['left', 'left', 'right', 'right', 'right'], color);
    for (const r of rows) headline.push(headlineCells(r, '->', mark));
    out.push('', color ? pc.bold(scenario) : scenario, headline.toString());
    const shown = rows.flatMap((r) => r.metrics
      .filter((m) => all || (m.flagged && !HEADLINE.some((h) => h.metric === m.metric)))
      .map((m) => [r.variant, ...cells(m), m.flagged ? mark : '']));
    if (shown.length) {
      const table = newTable(['variant', 'metric', 'unit', 'base', 'head', 'delta', 'delta %', ''], ['left', 'left', 'left', 'right', 'right', 'right', 'right', 'left'], color);
      for (const line of shown) table.push(line);
      out.push(all ? 'every metric:' : 'other metrics flagged:', table.toString());
    }
  }
  const flagged = flaggedCount(c.rows);
  out.push('', `${plural(flagged, 'change')} flagged of ${plural(metricCount(c.rows), 'metric')} compared${all ? '' : '; --all shows every metric'}`);
  const missing = missingLines(c);
  if (missing.length) out.push('', 'not compared:', ...missing.map((l) => `  ${l}`));
  return out.join('\n') + '\n';
}

export function compareMarkdown(c: Comparison): string {
  const out = [
    `# leak-lab compare: \`${c.base}\` → \`${c.head}\``,
    ruleLines(c).map((l) => `⚠ = ${mdText(l)}`).join('  \n') + '. Ratios change in percentage points (pp).',
  ];
  for (const scenario of scenariosOf(c)) {
    const rows = c.rows.filter((r) => r.scenario === scenario);
    const headline = [
      `| variant | verdict | ${HEADLINE.map((h) => h.head).join(' | ')} |`,
      `|---|---|${HEADLINE.map(() => '---:').join('|')}|`,
      ...rows.map((r) => `| ${headlineCells(r, '→', '⚠').map(mdText).join(' | ')} |`),
    ];
    const lines = ['| variant | metric | unit | base | head | delta | delta % | |', '|---|---|---|---:|---:|---:|---:|---|'];
    for (const row of rows) {
      for (const m of row.metrics) lines.push(`| ${[row.variant, ...cells(m)].map(mdText).join(' | ')} | ${m.flagged ? '⚠' : ''} |`);
    }
    out.push(`## ${mdText(scenario)}`, headline.join('\n'),
      `<details><summary>All ${plural(metricCount(rows), 'metric')} (${flaggedCount(rows)} flagged)</summary>`, lines.join('\n'), '</details>');
  }
  const missing = missingLines(c);
  if (missing.length) out.push('## Not compared', missing.map((l) => `- ${mdText(l)}`).join('\n'));
  return out.join('\n\n') + '\n';
}
