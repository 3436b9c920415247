// Metrics (docs/metrics.md), computed from a trace. Pure functions: no I/O, no clocks.
import { max, median, min } from './stats.js';
import type { Sample, SummaryRow, Trace, TrialMetrics } from '../core/types.js';
import { type RssPoints, pointsOf } from '../core/rss-series.js';

/** RSS levels are the median of the statm samples in the last WINDOW_MS of a span, so one
 * noisy 10 ms sample cannot move a metric. */
export const WINDOW_MS = 200;

/** Scalar metric names, in report order. Per-phase metrics are added as
 * `rssEnd.<phase>` (the RSS level at the end of each phase), and for phases with load
 * `throughput.<phase>`, `p50.<phase>`, `p99.<phase>`. */
export const METRICS = [
  'baselineRss', 'peakRss', 'vmHwm', 'peakLive', 'peakAllocated', 'retainedRss', 'releasedRss',
  'releaseMs', 'retention', 'releaseEfficiency', 'liveAfter', 'liveGrowth', 'requestsServed',
  'leakSlope', 'inFlightAfter', 'inUseAfter', 'inUseGrowth', 'lateGrowthShare', 'policyReleases', 'relayCpuMs',
] as const;

export type MetricUnit = 'bytes' | 'ms' | 'ratio' | 'rps' | 'count' | 'bytes/request';

export const METRIC_UNITS: Record<string, MetricUnit> = {
  baselineRss: 'bytes', peakRss: 'bytes', vmHwm: 'bytes', peakLive: 'bytes', peakAllocated: 'bytes',
  retainedRss: 'bytes', releasedRss: 'bytes', releaseMs: 'ms', retention: 'ratio', releaseEfficiency: 'ratio',
  liveAfter: 'bytes', liveGrowth: 'bytes', requestsServed: 'count', leakSlope: 'bytes/request',
  inFlightAfter: 'bytes', inUseAfter: 'bytes', inUseGrowth: 'bytes', lateGrowthShare: 'ratio', policyReleases: 'count', relayCpuMs: 'ms',
};

export function metricUnit(name: string): MetricUnit {
  if (name.startsWith('throughput.')) return 'rps';
  if (name.startsWith('rssEnd.')) return 'bytes';
  if (name.startsWith('p50.') || name.startsWith('p99.')) return 'ms';
  return METRIC_UNITS[name] ?? 'ratio';
}

interface Span {
  start: number;
  end: number;
}

/** Start and end (ms) of each phase, from the phase events; the last ends with the trace. */
export function phaseSpans(trace: Trace): Map<string, Span> {
  const phases = trace.events.filter((e) => e.type === 'phase');
  const rss = statm(trace);
  const lastT = Math.max(
    trace.samples.at(-1)?.tMs ?? 0,
    rss.length ? rss.tAt(rss.length - 1) : 0,
    ...trace.events.filter((e) => e.type === 'end').map((e) => e.tMs),
  );
  const spans = new Map<string, Span>();
  phases.forEach((p, i) => spans.set(p.name, { start: p.tMs, end: phases[i + 1]?.tMs ?? lastT }));
  return spans;
}

/** The statm samples: the columns of a trace being run, or the statm rows of one read
 * back or built by hand. */
function statm(trace: Trace): RssPoints {
  return trace.rss ?? pointsOf(trace.samples.filter((s) => s.source === 'statm'));
}

/** Index of the first sample at or after `t` (samples are in time order). */
function firstAtOrAfter(points: RssPoints, t: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (points.tAt(mid) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Median RSS of the statm samples in [end - WINDOW_MS, end); else the last one before. */
export function rssAt(samples: readonly Sample[] | RssPoints, end: number, windowMs = WINDOW_MS): number | null {
  const points = Array.isArray(samples) ? pointsOf(samples as readonly Sample[]) : samples as RssPoints;
  const from = firstAtOrAfter(points, end - windowMs);
  const to = firstAtOrAfter(points, end);
  if (to > from) {
    const inWindow: number[] = [];
    for (let i = from; i < to; i++) inWindow.push(points.rssAt(i));
    return median(inWindow);
  }
  return to > 0 ? points.rssAt(to - 1) : null;
}

function maxRss(points: RssPoints): number | null {
  let m: number | null = null;
  for (let i = 0; i < points.length; i++) if (m === null || points.rssAt(i) > m) m = points.rssAt(i);
  return m;
}

/** Everything the program itself holds at a stats sample. For the relay: requests and
 * responses in flight, requests kept forever in leak mode, and long-lived log records.
 * For a target (no such counts): the bytes its allocator reports in use by the program. */
export function heldBytes(s: Sample): number | null {
  if (s.liveRequestBytes === null) return s.allocAllocatedBytes;
  return s.liveRequestBytes + (s.liveResponseBytes ?? 0) + (s.leakedRequestBytes ?? 0) + (s.liveLogBytes ?? 0);
}

/** Held bytes at the last stats sample before `t`. */
function heldAt(stats: readonly Sample[], t: number): number | null {
  const s = stats.filter((x) => x.tMs < t && heldBytes(x) !== null).at(-1);
  return s ? heldBytes(s) : null;
}

/** The allocator's allocated bytes at the last stats sample before `t`. */
function allocatedAt(stats: readonly Sample[], t: number): number | null {
  const s = stats.filter((x) => x.tMs < t && x.allocAllocatedBytes !== null).at(-1);
  return s ? s.allocAllocatedBytes : null;
}

/** Request and response bytes the relay had in flight at the last stats sample before `t`. */
function inFlightAt(stats: readonly Sample[], t: number): number | null {
  const s = stats.filter((x) => x.tMs < t && x.liveRequestBytes !== null).at(-1);
  return s ? s.liveRequestBytes! + (s.liveResponseBytes ?? 0) : null;
}

/** What the relay keeps beyond the requests in flight (leaked requests, log records). */
function keptBeyondFlight(s: Sample): number | null {
  if (s.liveRequestBytes === null) return null;
  return (s.leakedRequestBytes ?? 0) + (s.liveLogBytes ?? 0);
}

/** Of what the program's bytes grew from `start` to `end` of the load, the share gained
 * in its second half: about 0.5 for growth that goes on with requests (a leak), near 0
 * for growth that levelled off (a cache filled, a pool sized). 0 when nothing grew.
 * The bytes are what the relay keeps beyond the requests in flight (a backlog of
 * requests would swamp the measure), else the allocator's allocated bytes, which include
 * requests in flight: right for a steady load, misleading when a backlog builds. */
export function lateGrowthShare(stats: readonly Sample[], start: number, end: number): number | null {
  const own = stats.some((s) => keptBeyondFlight(s) !== null);
  const keptAt = (t: number) => {
    const s = stats.filter((x) => x.tMs < t && keptBeyondFlight(x) !== null).at(-1);
    return s ? keptBeyondFlight(s) : null;
  };
  const at = own ? keptAt : (t: number) => allocatedAt(stats, t);
  const a = at(start + 1);
  const mid = at((start + end) / 2);
  const b = at(end);
  if (a === null || mid === null || b === null) return null;
  return b - a <= 0 ? 0 : (b - mid) / (b - a);  // nothing grew: nothing grew late either
}

/** Requests completed by time `t`, from the load generator's cumulative ticks. */
function completedAt(trace: Trace, t: number): number | null {
  const e = trace.events.filter((x) => x.type === 'load' && x.tMs <= t).at(-1);
  return e && e.type === 'load' ? e.completed : null;
}

function ratio(num: number | null, den: number | null): number | null {
  if (num === null || den === null || den <= 0) return null;
  return num / den;
}

export function trialMetrics(trace: Trace): TrialMetrics {
  const rss = statm(trace);
  const stats = trace.samples.filter((s) => s.source === 'stats');
  const spans = phaseSpans(trace);
  const baselineName = trace.schedule.find((p) => p.name === 'baseline')?.name ?? trace.schedule[0]?.name;
  const baselineSpan = baselineName ? spans.get(baselineName) : undefined;
  const release = trace.events.find((e) => e.type === 'release');
  // The phase a release happened in: the last one that started at or before it. A release
  // that failed (an allocator call reported an error, or no answer) still ends the idle
  // window (retainedRss), but nothing is computed from what followed it.
  const releasePhase = release?.ok
    ? [...spans.entries()].filter(([, s]) => s.start <= release.tMs).at(-1)
    : undefined;
  const lastT = rss.length ? rss.tAt(rss.length - 1) : 0;

  const baselineRss = baselineSpan ? rssAt(rss, baselineSpan.end) : null;
  const peakRss = maxRss(rss);
  const retainedRss = rssAt(rss, release ? release.tMs : lastT + 1);
  const releasedRss = releasePhase ? rssAt(rss, releasePhase[1].end + 1) : null;
  const live = stats.flatMap((s) => {
    const h = heldBytes(s);
    return h === null ? [] : [h];
  });
  const allocated = stats.flatMap((s) => (s.allocAllocatedBytes === null ? [] : [s.allocAllocatedBytes]));
  const grown = (x: number | null) => (x === null || baselineRss === null ? null : x - baselineRss);
  const retainedAt = release ? release.tMs : lastT + 1;
  const liveAfter = heldAt(stats, retainedAt);
  const liveBefore = baselineSpan ? heldAt(stats, baselineSpan.end + 1) : null;
  const liveGrowth = liveAfter === null || liveBefore === null ? null : liveAfter - liveBefore;
  const servedEnd = completedAt(trace, retainedAt);
  const servedStart = baselineSpan ? completedAt(trace, baselineSpan.end) ?? 0 : 0;
  const requestsServed = servedEnd === null ? null : servedEnd - servedStart;
  const inUseAfter = allocatedAt(stats, retainedAt);
  const inUseBefore = baselineSpan ? allocatedAt(stats, baselineSpan.end + 1) : null;
  // The load: from the end of the baseline to the end of the last phase that sent requests.
  const lastLoaded = trace.phases.filter((p) => p.sent > 0).at(-1);
  const loadEnd = lastLoaded ? spans.get(lastLoaded.name)?.end : undefined;
  const policy = stats.flatMap((s) => (s.policyReleases === null ? [] : [s.policyReleases]));

  const m: TrialMetrics = {
    baselineRss,
    peakRss,
    vmHwm: trace.vmHwmBytes,
    peakLive: max(live),
    peakAllocated: max(allocated),
    retainedRss,
    releasedRss,
    releaseMs: release?.type === 'release' && release.ok ? release.releaseMs : null,
    retention: ratio(grown(retainedRss), grown(peakRss)),
    releaseEfficiency: retainedRss === null || releasedRss === null ? null : ratio(retainedRss - releasedRss, grown(retainedRss)),
    liveAfter,
    liveGrowth,
    requestsServed,
    leakSlope: liveGrowth === null || !requestsServed ? null : liveGrowth / requestsServed,
    inFlightAfter: inFlightAt(stats, retainedAt),
    inUseAfter,
    inUseGrowth: inUseAfter === null || inUseBefore === null ? null : inUseAfter - inUseBefore,
    lateGrowthShare: baselineSpan && loadEnd !== undefined && loadEnd > baselineSpan.end ? lateGrowthShare(stats, baselineSpan.end, loadEnd) : null,
    policyReleases: max(policy),
    relayCpuMs: trace.relayCpuMs ?? null,
  };
  for (const [name, span] of spans) m[`rssEnd.${name}`] = rssAt(rss, span.end + 1);
  for (const p of trace.phases) {
    if (p.sent === 0 && p.completed === 0) continue;
    m[`throughput.${p.name}`] = p.throughputRps;
    m[`p50.${p.name}`] = p.p50Us === null ? null : p.p50Us / 1000;
    m[`p99.${p.name}`] = p.p99Us === null ? null : p.p99Us / 1000;
  }
  return m;
}

/** What summarizing needs of one trial: a trials.jsonl line has it (so `lab merge` can
 * recompute a summary from shards without the traces). */
export type TrialRecord = Pick<Trace, 'scenario' | 'variant' | 'allocator' | 'status'> & { metrics: TrialMetrics };

/** Median, min and max of each metric across the trials of one scenario x variant. */
export function summarize(traces: readonly Trace[], perTrial: readonly TrialMetrics[]): SummaryRow {
  return summarizeTrials(traces.map((t, i) => ({ ...t, metrics: perTrial[i] ?? {} })));
}

/** summarize() over trial records (all of one scenario x variant). */
export function summarizeTrials(trials: readonly TrialRecord[]): SummaryRow {
  const first = trials[0];
  if (!first) throw new Error('summarize: no traces');
  const ok = trials.filter((t) => t.status === 'complete').map((t) => t.metrics);
  const names = [...new Set(ok.flatMap((m) => Object.keys(m)))];
  const order = (n: string) => {
    const i = (METRICS as readonly string[]).indexOf(n);
    return i >= 0 ? i : METRICS.length;
  };
  names.sort((a, b) => order(a) - order(b));
  const metrics: SummaryRow['metrics'] = {};
  for (const name of names) {
    const values = ok.flatMap((m) => (m[name] === null || m[name] === undefined ? [] : [m[name]!]));
    metrics[name] = { median: median(values), min: min(values), max: max(values) };
  }
  return {
    scenario: first.scenario,
    variant: first.variant,
    allocator: first.allocator,
    trials: ok.length,
    failedTrials: trials.length - ok.length,
    metrics,
  };
}
