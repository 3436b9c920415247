// Metrics (docs/metrics.md), computed from a trace. Pure functions: no I/O, no clocks.
import { max, median, min } from './stats.js';
import type { LedgerEvent, ReleaseEvent, Sample, SummaryRow, Trace } from '../core/types.js';
import { METRICS, type TrialMetrics } from '../core/metric-names.js';
import { type RssPoints, pointsOf } from '../core/rss-series.js';
import { allocatorLedger } from './ledger.js';

/** RSS levels are the median of the statm samples in the last WINDOW_MS of a span, so one
 * noisy 10 ms sample cannot move a metric. */
export const WINDOW_MS = 200;

export { METRICS, METRIC_TABLE, type MetricName, type MetricUnit, metricUnit } from '../core/metric-names.js';

export interface Span {
  start: number;
  end: number;
}

/** Start and end (ms) of each phase, from the phase events; the last ends with the trace. */
export function phaseSpans(trace: Pick<Trace, 'events' | 'samples' | 'rss'>): Map<string, Span> {
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
function statm(trace: Pick<Trace, 'samples' | 'rss'>): RssPoints {
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

/** Median RSS of the statm samples in [end - WINDOW_MS, end), never before `notBefore` (a
 * phase's level is read within that phase); else the last sample before `end` (the
 * sampler writes a row every 50 ms while RSS holds still, so a phase without one of its
 * own kept the level of the last). */
export function rssAt(samples: readonly Sample[] | RssPoints, end: number, windowMs = WINDOW_MS, notBefore = -Infinity): number | null {
  const points = Array.isArray(samples) ? pointsOf(samples as readonly Sample[]) : samples as RssPoints;
  const from = firstAtOrAfter(points, Math.max(end - windowMs, notBefore));
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

/** The points of a trace the metrics read: the phases' spans, the baseline's, the release
 * and the phase it happened in, and where the idle ended (the release, else the end). */
interface Points {
  rss: RssPoints;
  stats: Sample[];
  spans: Map<string, Span>;
  baseline: Span | undefined;
  release: Extract<Trace['events'][number], { type: 'release' }> | undefined;
  /** The span of the phase a successful release happened in (released RSS is read at its end). */
  releaseSpan: Span | undefined;
  /** Where "after the load and the idle" is read: the release, else the trace's end. */
  retainedAt: number;
}

function pointsOfTrace(trace: Trace): Points {
  const rss = statm(trace);
  const spans = phaseSpans(trace);
  const baselineName = trace.schedule.find((p) => p.name === 'baseline')?.name ?? trace.schedule[0]?.name;
  const release = trace.events.find((e): e is ReleaseEvent => e.type === 'release' && !e.periodic);
  const lastT = rss.length ? rss.tAt(rss.length - 1) : 0;
  return {
    // In time order: the samples a trial takes itself at phase ends reach the run folder
    // before the observer's batch that covers the same moments.
    rss, spans, stats: trace.samples.filter((s) => s.source === 'stats').sort((a, b) => a.tMs - b.tMs),
    baseline: baselineName ? spans.get(baselineName) : undefined,
    release,
    // The phase a release happened in: the last one that started at or before it. A release
    // that failed (an allocator call reported an error, or no answer) still ends the idle
    // window (retainedRss), but nothing is computed from what followed it.
    releaseSpan: release?.ok ? [...spans.values()].filter((s) => s.start <= release.tMs).at(-1) : undefined,
    retainedAt: release ? release.tMs : lastT + 1,
  };
}

/** RSS levels: baseline, peak, retained after the idle, released; and their ratios. */
function rssMetrics(p: Points, trace: Trace) {
  const baselineRss = p.baseline ? rssAt(p.rss, p.baseline.end, WINDOW_MS, p.baseline.start) : null;
  const peakRss = maxRss(p.rss);
  const retainedRss = rssAt(p.rss, p.retainedAt);
  const releasedRss = p.releaseSpan ? rssAt(p.rss, p.releaseSpan.end + 1, WINDOW_MS, p.release!.tMs) : null;
  const grown = (x: number | null) => (x === null || baselineRss === null ? null : x - baselineRss);
  return {
    baselineRss, peakRss, vmHwm: trace.vmHwmBytes, retainedRss, releasedRss,
    releaseMs: p.release?.ok ? p.release.releaseMs : null,
    retention: ratio(grown(retainedRss), grown(peakRss)),
    releaseEfficiency: retainedRss === null || releasedRss === null ? null : ratio(retainedRss - releasedRss, grown(retainedRss)),
  };
}

/** What the program holds: its own count (the relay's) and the allocator's in-use bytes,
 * at their peaks, after the idle, and their growth since the baseline; requests served. */
function programMetrics(p: Points, trace: Trace) {
  const values = (f: (s: Sample) => number | null) => p.stats.flatMap((s) => { const v = f(s); return v === null ? [] : [v]; });
  const liveAfter = heldAt(p.stats, p.retainedAt);
  const liveBefore = p.baseline ? heldAt(p.stats, p.baseline.end + 1) : null;
  const liveGrowth = liveAfter === null || liveBefore === null ? null : liveAfter - liveBefore;
  const servedEnd = completedAt(trace, p.retainedAt);
  const requestsServed = servedEnd === null ? null : servedEnd - (p.baseline ? completedAt(trace, p.baseline.end) ?? 0 : 0);
  const inUseAfter = allocatedAt(p.stats, p.retainedAt);
  const inUseBefore = p.baseline ? allocatedAt(p.stats, p.baseline.end + 1) : null;
  // The built-in load: from the end of the baseline to the end of the last phase that sent requests.
  const lastLoaded = trace.phases.filter((x) => x.sent > 0).at(-1);
  const loadEnd = lastLoaded ? p.spans.get(lastLoaded.name)?.end : undefined;
  return {
    peakLive: max(values(heldBytes)), peakAllocated: max(values((s) => s.allocAllocatedBytes)),
    liveAfter, liveGrowth, requestsServed,
    leakSlope: liveGrowth === null || !requestsServed ? null : liveGrowth / requestsServed,
    inFlightAfter: inFlightAt(p.stats, p.retainedAt),
    inUseAfter, inUseGrowth: inUseAfter === null || inUseBefore === null ? null : inUseAfter - inUseBefore,
    lateGrowthShare: p.baseline && loadEnd !== undefined && loadEnd > p.baseline.end ? lateGrowthShare(p.stats, p.baseline.end, loadEnd) : null,
    policyReleases: max(values((s) => s.policyReleases)),
    relayCpuMs: trace.relayCpuMs ?? null,
  };
}

/** Growth per repetition of the scenario's repeated phases (load commands): the program's
 * bytes at the end of each repetition (inUseEnd.<k>), and the share of their growth since
 * the baseline made after the first repetition: about (k-1)/k for a leak over k
 * repetitions, near 0 for a cache or pool that filled once. Null without two repetitions. */
export function repetitionMetrics(trace: Trace, stats: readonly Sample[], baseline: Span | undefined): {
  repetitions: number | null; repeatGrowthShare: number | null; ends: Record<string, number | null>;
} {
  const ends = new Map<number, number>();
  const spans = phaseSpans(trace);
  for (const p of trace.schedule) if (p.repetition !== undefined) ends.set(p.repetition, Math.max(ends.get(p.repetition) ?? 0, spans.get(p.name)?.end ?? 0));
  const count = ends.size;
  const at = (t: number) => heldAt(stats, t + 1);
  const levels = Object.fromEntries([...ends].map(([k, t]) => [`inUseEnd.${k}`, at(t)]));
  if (count < 2 || !baseline) return { repetitions: count || null, repeatGrowthShare: null, ends: levels };
  const p0 = at(baseline.end);
  const p1 = levels['inUseEnd.1'] ?? null;
  const pn = levels[`inUseEnd.${count}`] ?? null;
  if (p0 === null || p1 === null || pn === null) return { repetitions: count, repeatGrowthShare: null, ends: levels };
  return { repetitions: count, repeatGrowthShare: pn - p0 <= 0 ? 0 : Math.max(0, pn - p1) / (pn - p0), ends: levels };
}

/** Where RSS sat at the retention point: the ledger read right before the release, else
 * the last one read at a phase end (the end of the trial); and the resident heap (brk heap
 * and other anonymous memory) the program does not use by the allocator's count. */
export function ledgerMetrics(trace: Trace, inUseAfter: number | null) {
  const ledgers = trace.events.filter((e): e is LedgerEvent => e.type === 'ledger');
  const at = ledgers.find((e) => e.point === 'before-release') ?? ledgers.filter((e) => e.point === 'phase-end').at(-1);
  const reads = ledgers.map((e) => e.readMs).sort((a, b) => a - b);
  if (!at) {
    return {
      ledgerBrkHeap: null, ledgerAnonymous: null, ledgerStacks: null, ledgerFile: null, ledgerOther: null, ledgerLazyFree: null, ledgerHeapNotInUse: null, ledgerReadMs: null,
      ledgerInUse: null, ledgerUnexplained: null,
    };
  }
  const s = at.split;
  const own = allocatorLedger(trace.allocator, at.alloc, s, at.arenas ?? null);
  const pools = Object.fromEntries([...(own?.pools ?? []), ...(own?.apart ?? [])].map((p) => [`pool.${p.id}`, p.bytes]));
  return {
    ledgerBrkHeap: s.brkHeap, ledgerAnonymous: s.anonymous, ledgerStacks: s.stacks, ledgerFile: s.file, ledgerOther: s.other, ledgerLazyFree: s.lazyFree,
    ledgerHeapNotInUse: inUseAfter === null ? null : s.brkHeap + s.anonymous - inUseAfter,
    ledgerReadMs: reads[Math.floor((reads.length - 1) / 2)] ?? null,
    ledgerInUse: own?.inUse ?? null, ledgerUnexplained: own?.unexplained ?? null,
    ...pools,
  };
}

export function trialMetrics(trace: Trace): TrialMetrics {
  const p = pointsOfTrace(trace);
  const reps = repetitionMetrics(trace, p.stats, p.baseline);
  const program = programMetrics(p, trace);
  const m: TrialMetrics = {
    ...rssMetrics(p, trace), ...program, repetitions: reps.repetitions, repeatGrowthShare: reps.repeatGrowthShare, ...ledgerMetrics(trace, program.inUseAfter),
  };
  Object.assign(m, reps.ends);
  for (const [name, span] of p.spans) m[`rssEnd.${name}`] = rssAt(p.rss, span.end + 1, WINDOW_MS, span.start);
  for (const ph of trace.phases) {
    if (ph.sent === 0 && ph.completed === 0) continue;
    m[`throughput.${ph.name}`] = ph.throughputRps;
    m[`p50.${ph.name}`] = ph.p50Us === null ? null : ph.p50Us / 1000;
    m[`p99.${ph.name}`] = ph.p99Us === null ? null : ph.p99Us / 1000;
  }
  return m;
}

/** What summarizing needs of one trial: a trials.jsonl line has it (so `lab merge` can
 * recompute a summary from shards without the traces). */
export type TrialRecord = Pick<Trace, 'scenario' | 'variant' | 'allocator' | 'status'> & { metrics: Readonly<Record<string, number | null | undefined>> };

/** Median, min and max of each metric across the trials of one scenario x variant. */
export function summarize(traces: readonly Trace[], perTrial: ReadonlyArray<TrialRecord['metrics']>): SummaryRow {
  return summarizeTrials(traces.map((t, i) => ({ ...t, metrics: perTrial[i]! })));
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
    const values = ok.flatMap((m) => { const v = (m as Record<string, number | null | undefined>)[name]; return v === null || v === undefined ? [] : [v]; });
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
