// Reads a run folder back from its raw files (run.json, summary.json, trials.jsonl,
// events.jsonl, samples.csv) into what the reports draw. Both the run itself and
// `lab report` render from this, so a re-render is byte-identical to what the run wrote.
// samples.csv is streamed; only the charted trial of each scenario x variant is kept, as
// columns of numbers (a million samples: about 1 s, see `npm run bench -- report`).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from '../core/errors.js';
import { heldBytes } from '../analysis/metrics.js';
import { type Stack, parseCollapsed } from '../analysis/growth.js';
import type { RunInfo, TrialLine } from './schema.js';
import { csvRecords, jsonLines } from './read-files.js';
import type { LedgerEvent, Sample, SummaryRow } from '../core/types.js';
import { emptySeries, type Series } from '../core/series.js';

/** What a chart shows of one scenario x variant: its first complete trial. */
export interface ChartTrace {
  scenario: string;
  variant: string;
  trial: number;
  rss: Series;
  /** Bytes the relay holds (requests, responses, leaked requests, log records). */
  live: Series;
  allocated: Series;
  free: Series;
  unmapped: Series;
  phases: Array<{ name: string; tMs: number }>;
  releases: Array<{ tMs: number; ok: boolean; releaseMs: number | null; rssBeforeBytes: number | null; rssAfterBytes: number | null }>;
  /** The ledger's readings (each phase end, before and after a release), in time order. */
  ledgers: LedgerEvent[];
  endMs: number;
}

export interface RunData {
  info: RunInfo;
  summary: SummaryRow[];
  trials: TrialLine[];
  /** In run order: scenarios as in run.json, variants as in run.json. */
  charts: ChartTrace[];
  /** The growth profile's collapsed stacks (bytes) of each profiled row's first trial, by
   * `scenario/variant`, for report.html's flame graph; absent where none was written. */
  flames?: Record<string, Stack[]>;
}

/** The first trial's collapsed.txt of each profiled row (the symbolizer wrote it). */
function readFlames(dir: string, summary: readonly SummaryRow[]): Record<string, Stack[]> {
  const out: Record<string, Stack[]> = {};
  for (const r of summary) {
    if (r.profile?.status !== 'profiled') continue;
    for (let trial = 1; trial <= r.profile.trials + r.failedTrials; trial++) {
      const file = join(dir, r.profile.dir, `${r.variant}-${trial}`, 'collapsed.txt');
      if (!existsSync(file)) continue;
      out[`${r.scenario}/${r.variant}`] = parseCollapsed(readFileSync(file, 'utf8'));
      break;
    }
  }
  return out;
}

const key = (scenario: string, variant: string) => `${scenario}\u0000${variant}`;

function readJson<T>(dir: string, name: string): T {
  const path = join(dir, name);
  if (!existsSync(path)) throw new LabError('runDir', { dir, reason: `no ${name}` });
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (err) {
    throw new LabError('runDir', { dir, reason: `${name}: ${(err as Error).message}` });
  }
}

function checkDir(dir: string): void {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new LabError('runDir', { dir, reason: 'no such folder' });
}

/** run.json and summary.json: all `lab compare` needs. */
export function loadSummary(dir: string): { info: RunInfo; summary: SummaryRow[] } {
  checkDir(dir);
  const info = readJson<RunInfo>(dir, 'run.json');
  if (!info || typeof info.runId !== 'string' || !Array.isArray(info.scenarios)) {
    throw new LabError('runDir', { dir, reason: 'run.json has no runId or scenarios' });
  }
  const summary = readJson<SummaryRow[]>(dir, 'summary.json');
  if (!Array.isArray(summary)) throw new LabError('runDir', { dir, reason: 'summary.json is not an array' });
  return { info, summary };
}

function newChart(scenario: string, variant: string, trial: number): ChartTrace {
  return {
    scenario, variant, trial, rss: emptySeries(), live: emptySeries(), allocated: emptySeries(),
    free: emptySeries(), unmapped: emptySeries(), phases: [], releases: [], ledgers: [], endMs: 0,
  };
}

const num = (s: string | undefined): number | null => (s === undefined || s === '' ? null : Number(s));

function push(series: Series, t: number, value: number | null): void {
  if (value === null || Number.isNaN(value)) return;
  series.t.push(t);
  series.v.push(value);
}

export async function loadRun(dir: string): Promise<RunData> {
  const { info, summary } = loadSummary(dir);
  const trials: TrialLine[] = [];
  for await (const t of jsonLines(join(dir, 'trials.jsonl'))) trials.push(t as unknown as TrialLine);
  const { chartFor, charts } = chartedTrials(trials);
  await readChartSamples(join(dir, 'samples.csv'), chartFor);
  await readChartEvents(join(dir, 'events.jsonl'), chartFor);
  // Run order: scenarios, then variants, as run.json lists them; anything else after.
  const order = info.scenarios.flatMap((s) => info.variants.map((v) => key(s.name, v.id)));
  const rank = (k: string) => (order.includes(k) ? order.indexOf(k) : order.length);
  const sorted = [...charts.entries()].sort((a, b) => rank(a[0]) - rank(b[0])).map(([, c]) => c);
  const flames = readFlames(dir, summary);
  return { info, summary, trials, charts: sorted, ...(Object.keys(flames).length ? { flames } : {}) };
}

type ChartFor = (scenario: string, variant: string, trial: number) => ChartTrace | undefined;

/** The trial each scenario x variant charts: the first complete one, else the first
 * recorded, else the first seen in the files. */
function chartedTrials(trials: readonly TrialLine[]): { chartFor: ChartFor; charts: Map<string, ChartTrace> } {
  const chosen = new Map<string, number>();
  for (const t of trials) if (t.status === 'complete' && !chosen.has(key(t.scenario, t.variant))) chosen.set(key(t.scenario, t.variant), t.trial);
  for (const t of trials) if (!chosen.has(key(t.scenario, t.variant))) chosen.set(key(t.scenario, t.variant), t.trial);
  const charts = new Map<string, ChartTrace>();
  const chartFor = (scenario: string, variant: string, trial: number): ChartTrace | undefined => {
    const k = key(scenario, variant);
    if (!chosen.has(k)) chosen.set(k, trial);
    if (chosen.get(k) !== trial) return undefined;
    let c = charts.get(k);
    if (!c) charts.set(k, (c = newChart(scenario, variant, trial)));
    return c;
  };

  return { chartFor, charts };
}

/** The charted trials' rows of samples.csv: RSS, and the program's and allocator's counters. */
async function readChartSamples(csvPath: string, chartFor: ChartFor): Promise<void> {
  let col: ((name: string) => number) | undefined;
  let I: Record<'scenario' | 'variant' | 'trial' | 't' | 'source' | 'rss' | 'req' | 'resp' | 'leaked' | 'log' | 'allocated' | 'free' | 'unmapped', number> | undefined;
  let last: { scenario: string; variant: string; trial: string; chart: ChartTrace | undefined } = { scenario: '', variant: '', trial: '', chart: undefined };
  for await (const row of csvRecords(csvPath)) {
    if (!col || !I) {
      // Columns by name: runs written by older harnesses had fewer.
      col = (name: string) => row.indexOf(name);
      I = {
        scenario: col('scenario'), variant: col('variant'), trial: col('trial'), t: col('t_ms'), source: col('source'), rss: col('rss_bytes'),
        req: col('live_request_bytes'), resp: col('live_response_bytes'), leaked: col('leaked_request_bytes'), log: col('live_log_bytes'),
        allocated: col('alloc_allocated_bytes'), free: col('alloc_free_bytes'), unmapped: col('alloc_unmapped_bytes'),
      };
      continue;
    }
    const [sc, va, tr] = [row[I.scenario] ?? '', row[I.variant] ?? '', row[I.trial] ?? ''];
    if (sc !== last.scenario || va !== last.variant || tr !== last.trial) {
      last = { scenario: sc, variant: va, trial: tr, chart: chartFor(sc, va, Number(tr)) };  // rows come in runs of one trial
    }
    const c = last.chart;
    if (!c) continue;
    const t = Number(row[I.t]);
    if (t > c.endMs) c.endMs = t;
    if (row[I.source] === 'statm') {
      c.rss.t.push(t);
      c.rss.v.push(Number(row[I.rss]));
      continue;
    }
    const cell = (i: number) => num(row[i]);
    const held = heldBytes({ liveRequestBytes: cell(I.req), liveResponseBytes: cell(I.resp), leakedRequestBytes: cell(I.leaked), liveLogBytes: cell(I.log) } as Sample);
    push(c.live, t, held);
    push(c.allocated, t, cell(I.allocated));
    push(c.free, t, cell(I.free));
    push(c.unmapped, t, cell(I.unmapped));
  }

}

/** The charted trials' phase starts, releases and ledger readings (events.jsonl). */
async function readChartEvents(path: string, chartFor: ChartFor): Promise<void> {
  for await (const e of jsonLines(path)) {
    const c = chartFor(String(e.scenario), String(e.variant), Number(e.trial));
    if (!c) continue;
    const t = Number(e.tMs);
    if (t > c.endMs) c.endMs = t;
    if (e.type === 'phase') c.phases.push({ name: String(e.name), tMs: t });
    if (e.type === 'ledger' && e.split) c.ledgers.push(e as unknown as LedgerEvent);
    if (e.type === 'release') {
      const n = (x: unknown) => (typeof x === 'number' ? x : null);
      c.releases.push({ tMs: t, ok: e.ok === true, releaseMs: n(e.releaseMs), rssBeforeBytes: n(e.rssBeforeBytes), rssAfterBytes: n(e.rssAfterBytes) });
    }
  }
}

