// Metrics of DESIGN.md, computed from a trace. Pure functions: no I/O, no clocks.
import { max, median, min } from './stats.js';
import type { Sample, SummaryRow, Trace, TrialMetrics } from './types.js';

/** RSS levels are the median of the statm samples in the last WINDOW_MS of a span, so one
 * noisy 10 ms sample cannot move a metric. */
export const WINDOW_MS = 200;

/** Scalar metric names, in report order. Per-phase load metrics are added as
 * `throughput.<phase>`, `p50.<phase>`, `p99.<phase>`. */
export const METRICS = [
  'baselineRss', 'peakRss', 'vmHwm', 'peakLive', 'peakAllocated', 'retainedRss', 'releasedRss',
  'releaseMs', 'retention', 'releaseEfficiency',
] as const;

export const METRIC_UNITS: Record<string, 'bytes' | 'ms' | 'ratio' | 'rps'> = {
  baselineRss: 'bytes', peakRss: 'bytes', vmHwm: 'bytes', peakLive: 'bytes', peakAllocated: 'bytes',
  retainedRss: 'bytes', releasedRss: 'bytes', releaseMs: 'ms', retention: 'ratio', releaseEfficiency: 'ratio',
};

export function metricUnit(name: string): 'bytes' | 'ms' | 'ratio' | 'rps' {
  if (name.startsWith('throughput.')) return 'rps';
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
  const lastT = Math.max(
    trace.samples.at(-1)?.tMs ?? 0,
    ...trace.events.filter((e) => e.type === 'end').map((e) => e.tMs),
  );
  const spans = new Map<string, Span>();
  phases.forEach((p, i) => spans.set(p.name, { start: p.tMs, end: phases[i + 1]?.tMs ?? lastT }));
  return spans;
}

function statm(trace: Trace): Sample[] {
  return trace.samples.filter((s) => s.source === 'statm');
}

/** Median RSS of the statm samples in [end - WINDOW_MS, end). */
export function rssAt(samples: readonly Sample[], end: number, windowMs = WINDOW_MS): number | null {
  const inWindow = samples.filter((s) => s.tMs < end && s.tMs >= end - windowMs).map((s) => s.rssBytes);
  if (inWindow.length) return median(inWindow);
  const before = samples.filter((s) => s.tMs < end).at(-1);
  return before ? before.rssBytes : null;
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
  // The phase a release happened in: the last one that started at or before it.
  const releasePhase = release
    ? [...spans.entries()].filter(([, s]) => s.start <= release.tMs).at(-1)
    : undefined;
  const lastT = rss.at(-1)?.tMs ?? 0;

  const baselineRss = baselineSpan ? rssAt(rss, baselineSpan.end) : null;
  const peakRss = max(rss.map((s) => s.rssBytes));
  const retainedRss = rssAt(rss, release ? release.tMs : lastT + 1);
  const releasedRss = releasePhase ? rssAt(rss, releasePhase[1].end + 1) : null;
  const live = stats.flatMap((s) =>
    s.liveRequestBytes === null ? [] : [s.liveRequestBytes + (s.liveResponseBytes ?? 0)]);
  const allocated = stats.flatMap((s) => (s.allocAllocatedBytes === null ? [] : [s.allocAllocatedBytes]));
  const grown = (x: number | null) => (x === null || baselineRss === null ? null : x - baselineRss);

  const m: TrialMetrics = {
    baselineRss,
    peakRss,
    vmHwm: trace.vmHwmBytes,
    peakLive: max(live),
    peakAllocated: max(allocated),
    retainedRss,
    releasedRss,
    releaseMs: release?.type === 'release' ? release.releaseMs : null,
    retention: ratio(grown(retainedRss), grown(peakRss)),
    releaseEfficiency: retainedRss === null || releasedRss === null ? null : ratio(retainedRss - releasedRss, grown(retainedRss)),
  };
  for (const p of trace.phases) {
    if (p.sent === 0 && p.completed === 0) continue;
    m[`throughput.${p.name}`] = p.throughputRps;
    m[`p50.${p.name}`] = p.p50Us === null ? null : p.p50Us / 1000;
    m[`p99.${p.name}`] = p.p99Us === null ? null : p.p99Us / 1000;
  }
  return m;
}

/** Median, min and max of each metric across the trials of one scenario x variant. */
export function summarize(traces: readonly Trace[], perTrial: readonly TrialMetrics[]): SummaryRow {
  const first = traces[0];
  if (!first) throw new Error('summarize: no traces');
  const ok = perTrial.filter((_, i) => traces[i]!.status === 'complete');
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
    failedTrials: traces.length - ok.length,
    metrics,
  };
}
