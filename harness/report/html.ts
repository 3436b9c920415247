// report.html: one self-contained page (uPlot and the chart code inlined, nothing
// fetched). Per scenario: an interactive RSS-over-time chart with every variant overlaid,
// phases shaded, release calls marked and the allocator's counters as optional series;
// the summary table; then the environment and the command. Every string from the run is
// escaped, in the page and in the embedded JSON.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ROOT } from '../core/paths.js';
import type { ChartTrace, RunData } from '../results/reader.js';
import type { SummaryRow } from '../core/types.js';
import { growthHtml } from './growth.js';
import { MiB, formatMiB } from '../core/units.js';
import { LEDGER_TITLE, PHASE_LEDGER_TITLE, ledgerBars, ledgerTable, phaseBars } from './ledger.js';
import { REMEDIES_TITLE, remedyLines } from './remedies.js';
import { flameHtml } from './flame.js';
import { REPORT_COLUMNS, formatSpread, paletteAt, scenarioOrder, trialsCell } from './columns.js';
import {
  chartsOf, environmentRows, phaseLengths, phaseTexts, releaseTexts, reproduceCommand, runLine, scenarioDescription, scenarioInfo, seedText, variantRows,
} from './common.js';
import { gridMinMax, gridTimes } from './downsample.js';
import { type Series } from '../core/series.js';

/** Values embedded across all charts of a page; the grid is sized to stay within it
 * (about 6 bytes each: report.html stays well under 2 MiB whatever the run's length). */
export const MAX_CHART_VALUES = 160_000;
const MIN_BUCKETS = 100;
const MAX_BUCKETS = 1500;

// From ROOT, not import.meta.url: this module may run bundled into build/js/ (scripts/run-ts.mjs).
const require = createRequire(join(ROOT, 'package.json'));
const asset = (name: string) => readFileSync(join(ROOT, 'harness', 'report', 'assets', name), 'utf8');

/** Text safe in HTML content and in quoted attribute values. */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** JSON safe inside <script>: no `</script>`, no `<!--`, no line separators JavaScript
 * would choke on. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** Code inlined into a <script> element: it must not close it early. */
function inlineScript(code: string): string {
  return code.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

type Kind = 'rss' | 'live' | 'allocated' | 'free' | 'unmapped';
const KINDS: ReadonlyArray<{ kind: Kind; label: string; of: (c: ChartTrace) => Series }> = [
  { kind: 'rss', label: 'RSS', of: (c) => c.rss },
  { kind: 'live', label: 'live bytes', of: (c) => c.live },
  { kind: 'allocated', label: 'allocated', of: (c) => c.allocated },
  { kind: 'free', label: 'free', of: (c) => c.free },
  { kind: 'unmapped', label: 'unmapped', of: (c) => c.unmapped },
];
const KIND_TITLES: Record<Kind, string> = {
  rss: 'RSS (/proc/<pid>/statm, every 10 ms)',
  live: 'bytes the relay holds: requests and responses in flight (and leaked requests, log records)',
  allocated: "the allocator's allocated bytes",
  free: "the allocator's free bytes (kept, not returned to the OS)",
  unmapped: "the allocator's unmapped / released bytes",
};

interface ChartData {
  id: string;
  name: string;
  x: number[];
  series: Array<{ label: string; variant: string; kind: Kind; color: string; y: Array<number | null> }>;
  phases: Array<{ name: string; start: number; end: number }>;
  releases: Array<{ variant: string; color: string; t: number }>;
}

const round = (x: number, digits: number) => +x.toFixed(digits);

function chartData(id: string, name: string, charts: readonly ChartTrace[], buckets: number): ChartData {
  const endMs = Math.max(1, ...charts.map((c) => c.endMs));
  const x = gridTimes(0, endMs, buckets).map((t) => round(t / 1000, 3));
  const series: ChartData['series'] = [];
  for (const k of KINDS) {
    charts.forEach((c, i) => {
      const s = k.of(c);
      if (s.t.length === 0) return;
      series.push({
        label: `${c.variant} ${k.label}`, variant: c.variant, kind: k.kind, color: paletteAt(i).color,
        y: gridMinMax(s, 0, endMs, buckets).map((v) => (v === null ? null : round(v / MiB, 2))),
      });
    });
  }
  // Phases of the first variant (the script is the same for all; start times differ by ms).
  const first = charts.find((c) => c.phases.length) ?? charts[0];
  const phases = (first?.phases ?? []).map((p, i, all) => ({
    name: p.name, start: round(p.tMs / 1000, 3), end: round((all[i + 1]?.tMs ?? endMs) / 1000, 3),
  }));
  const releases = charts.flatMap((c, i) => c.releases.map((r) => ({ variant: c.variant, color: paletteAt(i).color, t: round(r.tMs / 1000, 3) })));
  return { id, name, x, series, phases, releases };
}

/** Buckets per chart so that every chart of the page fits MAX_CHART_VALUES. */
function bucketsFor(run: RunData): number {
  const seriesCount = run.charts.reduce((n, c) => n + KINDS.filter((k) => k.of(c).t.length > 0).length + 1, 0);
  const fit = Math.floor(MAX_CHART_VALUES / Math.max(1, 2 * seriesCount));
  return Math.max(MIN_BUCKETS, Math.min(MAX_BUCKETS, fit));
}

function summaryTable(rows: readonly SummaryRow[], colors: Map<string, string>): string {
  const verdicts = rows.some((r) => r.verdict);  // the column appears once rows carry verdicts
  const head = [
    '<th>variant</th>', '<th class="num">trials</th>',
    ...REPORT_COLUMNS.map((c) => `<th class="num" title="${esc(c.title)}">${esc(c.head)}</th>`),
    ...(verdicts ? ['<th>verdict</th>'] : []),
  ];
  const body = rows.map((r) => {
    const color = colors.get(r.variant);
    const swatch = color ? `<span class="swatch" style="background:${color}"></span>` : '';
    const cells = [
      `<td class="variant">${swatch}${esc(r.variant)}</td>`, `<td class="num">${esc(trialsCell(r))}</td>`,
      ...REPORT_COLUMNS.map((c) => `<td class="num">${esc(formatSpread(c.metric, r.metrics[c.metric], r.trials))}</td>`),
      ...(verdicts ? [r.verdict
        ? `<td><span class="verdict ${esc(r.verdict.kind)}" title="${esc(r.verdict.remedy)}">${esc(r.verdict.kind)}</span></td>`
        : '<td>-</td>'] : []),
    ];
    return `<tr>${cells.join('')}</tr>`;
  });
  return `<table class="summary"><thead><tr>${head.join('')}</tr></thead><tbody>\n${body.join('\n')}\n</tbody></table>`;
}

function verdictList(rows: readonly SummaryRow[]): string {
  const items = rows.filter((r) => r.verdict && r.verdict.kind !== 'healthy')
    .map((r) => `<li><b>${esc(r.variant)}</b>: <span class="verdict ${esc(r.verdict!.kind)}">${esc(r.verdict!.kind)}</span>${r.verdict!.severity ? ` (${esc(r.verdict!.severity)})` : ''} ${esc(r.verdict!.remedy)}</li>`);
  return items.length ? `<ul class="verdicts">${items.join('')}</ul>` : '';
}

function scenarioSection(run: RunData, name: string, index: number, buckets: number): { html: string; chart: ChartData } {
  const s = scenarioInfo(run, name);
  const rows = run.summary.filter((r) => r.scenario === name);
  const charts = chartsOf(run, name).filter((c) => c.rss.t.length > 0);
  const chart = chartData(`chart-${index}`, name, charts, buckets);
  const colors = new Map(charts.map((c, i) => [c.variant, paletteAt(i).color]));
  const kinds = KINDS.filter((k) => k.kind !== 'rss' && chart.series.some((x) => x.kind === k.kind));
  const toggles = kinds.map((k) => `<label title="${esc(KIND_TITLES[k.kind])}"><input type="checkbox" data-kind="${k.kind}"> ${esc(k.label)}</label>`).join('');
  const releases = charts.filter((c) => c.releases.length).map((c) => `${esc(c.variant)} at ${esc(releaseTexts(c).join('; '))}`);
  const parts = [
    `<section class="card" id="scenario-${index}">`,
    `<h2>${esc(name)}</h2>`,
  ];
  const description = s ? scenarioDescription(s) : '';
  if (description) parts.push(`<p class="desc">${esc(description)}</p>`);
  if (s) parts.push(`<p class="phases">${s.trials} trial${s.trials === 1 ? '' : 's'} per variant, ${seedText(s)}. Phases: ${phaseTexts(s, phaseLengths(charts)).map(esc).join(' → ')}.</p>`);
  if (charts.length) {
    parts.push(
      `<div class="chart-head" data-chart="chart-${index}"><h3>RSS over time</h3><div class="toggles">${toggles ? `also show:${toggles}` : ''}</div></div>`,
      `<div class="chart" id="chart-${index}"></div>`,
      `<p class="hint">Trial ${charts.map((c) => `${esc(c.variant)}: ${c.trial}`).join(', ')}. Shaded bands are phases; dashed lines are release calls${releases.length ? ` (${releases.join('; ')})` : ''}. Drag to zoom, double-click to reset, click a legend entry to hide it. Each point is the lowest or highest sample of 1/${buckets} of the run, so peaks are kept.</p>`,
    );
  }
  parts.push('<h3>Summary</h3>', rows.length ? summaryTable(rows, colors) : '<p class="note">No trial of this scenario finished.</p>');
  if (rows.some((r) => r.trials > 1)) parts.push('<p class="note">Medians across trials; (min-max) where the trials differ.</p>');
  parts.push(verdictList(rows), ledgerHtml(rows, charts), remediesHtml(rows), growthHtml(rows, esc), flamesHtml(run, rows), '</section>');
  return { html: parts.filter(Boolean).join('\n'), chart };
}

const BAR_COLORS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac', '#1b9e77', '#d95f02', '#7570b3', '#e7298a', '#66a61e', '#a6761d'];

/** The ledger at the retention point: a stacked bar per variant (on one scale), then the
 * table; then, per variant, a bar at each phase end of its charted trial (one scale for all). */
function ledgerHtml(rows: readonly SummaryRow[], charts: readonly ChartTrace[]): string {
  const t = ledgerTable(rows);
  if (!t) return '';
  const bars = ledgerBars(rows);
  const byPhase = charts.map((c) => ({ c, bars: phaseBars(rows.find((r) => r.variant === c.variant)?.allocator ?? 'unknown', c.ledgers) })).filter((x) => x.bars.length);
  const all = [...bars, ...byPhase.flatMap((x) => x.bars)];
  const labels = [...new Set(all.flatMap((b) => b.segments.map((x) => x.label)))];
  const color = (label: string) => BAR_COLORS[labels.indexOf(label) % BAR_COLORS.length]!;
  const scale = (list: typeof bars) => Math.max(...list.map((b) => b.total), 1);
  const stack = (list: typeof bars, max: number) => list.map((b) => `<div class="ledger-row"><span class="ledger-name">${esc(b.label)}</span>`
    + `<div class="ledger-track"><div class="ledger-bar" style="width:${((b.total / max) * 100).toFixed(1)}%">`
    + b.segments.map((x) => `<span title="${esc(x.label)}: ${formatMiB(x.bytes)} MiB" style="width:${((x.bytes / b.total) * 100).toFixed(2)}%;background:${color(x.label)}"></span>`).join('')
    + `</div></div><span class="ledger-total">${formatMiB(b.total)} MiB</span></div>`).join('');
  const phaseMax = scale(byPhase.flatMap((x) => x.bars));
  const legend = `<div class="ledger-legend">${labels.map((l) => `<span><i style="background:${color(l)}"></i>${esc(l)}</span>`).join('')}</div>`;
  const head = `<tr>${t.head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>`;
  const body = t.body.map((r) => `<tr>${r.map((c, i) => (i === 0 ? `<td>${esc(c)}</td>` : `<td class="num">${esc(c)}</td>`)).join('')}</tr>`).join('');
  const phases = byPhase.length
    ? [`<h4>${esc(PHASE_LEDGER_TITLE)}</h4>`, `<div class="ledger">${byPhase.map((x) => `<p class="ledger-variant">${esc(x.c.variant)} (trial ${x.c.trial})</p>${stack(x.bars, phaseMax)}`).join('')}${legend}</div>`]
    : [];
  return [`<h3>${esc(LEDGER_TITLE)}</h3>`, `<div class="ledger">${stack(bars, scale(bars))}${legend}</div>`,
    `<table class="ledger-table"><thead>${head}</thead><tbody>${body}</tbody></table>`, ...phases].join('\n');
}

/** Each profiled row's flame graph of what grew (its first trial's collapsed stacks). */
function flamesHtml(run: RunData, rows: readonly SummaryRow[]): string {
  const parts = rows.flatMap((r) => {
    const stacks = run.flames?.[`${r.scenario}/${r.variant}`];
    const flame = stacks ? flameHtml(stacks, esc) : '';
    return flame ? [`<h4>${esc(r.variant)}: what grew, by call stack</h4>`, flame] : [];
  });
  return parts.length ? [...parts, '<p class="note">Width is bytes allocated under a frame between the two heap dumps (first trial); hover a frame for its name and size.</p>'].join('\n') : '';
}

function remediesHtml(rows: readonly SummaryRow[]): string {
  const groups = remedyLines(rows);
  if (!groups.length) return '';
  return `<h3>${esc(REMEDIES_TITLE)}</h3><ul class="remedies">${groups.map((g) => `<li><strong>${esc(g.head)}</strong><ul>${g.lines.map((l) => `<li>${esc(l)}</li>`).join('')}</ul></li>`).join('')}</ul>`;
}

export function htmlReport(run: RunData): string {
  const { info } = run;
  const buckets = bucketsFor(run);
  const names = scenarioOrder(info.scenarios.map((s) => s.name), run.summary);
  const sections = names.map((name, i) => scenarioSection(run, name, i, buckets));
  const git = info.environment.git;
  const uplotJs = readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8');
  const uplotCss = readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8');
  const uplotLicense = readFileSync(require.resolve('uplot/LICENSE'), 'utf8').replace(/--/g, '- -');
  const nav = names.length > 1 ? `<nav>${names.map((n, i) => `<a href="#scenario-${i}">${esc(n)}</a>`).join('')}</nav>` : '';
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>leak-lab · ${esc(info.runId)}</title>`,
    '<link rel="icon" href="data:,">',
    `<!-- uPlot ${esc(JSON.parse(readFileSync(require.resolve('uplot/package.json'), 'utf8')).version)}, inlined:\n${uplotLicense}-->`,
    `<style>${uplotCss}</style>`,
    `<style>${asset('report.css')}</style>`,
    '</head>',
    '<body><main>',
    `<header><h1>leak-lab run <code>${esc(info.runId)}</code></h1>`,
    `<p class="meta"><span class="status ${esc(info.status)}">${esc(info.status)}</span> ${esc(runLine(info).split(' · ').slice(1).join(' · '))}</p>${nav}</header>`,
    info.errors.length ? `<div class="errors"><b>Errors</b><ul>${info.errors.map((e) => `<li>${esc(e)}</li>`).join('')}</ul></div>` : '',
    info.warnings?.length ? `<div class="errors"><b>Warnings</b><ul>${info.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul></div>` : '',
    ...sections.map((s) => s.html),
    '<section class="card" id="environment">',
    '<h2>Environment</h2>',
    `<table class="env"><tbody>${environmentRows(info).map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</tbody></table>`,
    '<h3>Variants</h3>',
    `<table><thead><tr><th>variant</th><th>allocator</th><th>environment</th></tr></thead><tbody>${variantRows(info).map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`,
    '<h3>Reproduce</h3>',
    `<p class="note">${git?.commit ? `At commit <code>${esc(git.commit)}</code>${git.dirty ? ' (the tree had uncommitted changes)' : ''}:` : 'From the repository root:'}</p>`,
    `<pre><code>${esc(reproduceCommand(info))}</code></pre>`,
    '</section>',
    '</main>',
    `<script type="application/json" id="lab-data">${scriptJson({ scenarios: sections.map((s) => s.chart) })}</script>`,
    `<script>${inlineScript(uplotJs)}</script>`,
    `<script>${inlineScript(asset('report.js'))}</script>`,
    '</body>',
    '</html>',
  ].filter((l) => l !== '').join('\n') + '\n';
}
