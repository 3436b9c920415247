// Every metric a trial yields, by name, with its unit: the one table the metrics
// (analysis/metrics.ts), the gate's ceilings, the reports and comparisons read. What each
// means and how it is computed: docs/metrics.md.

export type MetricUnit = 'bytes' | 'ms' | 'ratio' | 'rps' | 'count' | 'bytes/request';

/** The scalar metrics, in report order, with their units. */
export const METRIC_TABLE = {
  baselineRss: 'bytes',
  peakRss: 'bytes',
  vmHwm: 'bytes',
  peakLive: 'bytes',
  peakAllocated: 'bytes',
  retainedRss: 'bytes',
  releasedRss: 'bytes',
  releaseMs: 'ms',
  retention: 'ratio',
  releaseEfficiency: 'ratio',
  liveAfter: 'bytes',
  liveGrowth: 'bytes',
  requestsServed: 'count',
  leakSlope: 'bytes/request',
  inFlightAfter: 'bytes',
  inUseAfter: 'bytes',
  inUseGrowth: 'bytes',
  lateGrowthShare: 'ratio',
  repetitions: 'count',
  repeatGrowthShare: 'ratio',
  policyReleases: 'count',
  ledgerBrkHeap: 'bytes',
  ledgerAnonymous: 'bytes',
  ledgerStacks: 'bytes',
  ledgerFile: 'bytes',
  ledgerOther: 'bytes',
  ledgerLazyFree: 'bytes',
  ledgerHeapNotInUse: 'bytes',
  ledgerReadMs: 'ms',
  ledgerInUse: 'bytes',
  ledgerUnexplained: 'bytes',
  relayCpuMs: 'ms',
} as const satisfies Record<string, MetricUnit>;

export type MetricName = keyof typeof METRIC_TABLE;

/** The scalar metric names, in report order. */
export const METRICS = Object.keys(METRIC_TABLE) as MetricName[];

/** Per-phase and per-name metrics: the RSS level at each phase's end, the program's in-use
 * bytes at the end of each repetition, each allocator pool of the ledger at the retention
 * point, and for phases with built-in load throughput and latency. */
export const PHASE_METRICS = { 'rssEnd.': 'bytes', 'inUseEnd.': 'bytes', 'pool.': 'bytes', 'throughput.': 'rps', 'p50.': 'ms', 'p99.': 'ms' } as const satisfies Record<string, MetricUnit>;

export type PhaseMetricName = `${keyof typeof PHASE_METRICS}${string}`;

/** One trial's metrics; null where the trace does not allow the metric. */
export type TrialMetrics = { [K in MetricName]: number | null } & { [K in PhaseMetricName]?: number | null };

export function isMetricName(name: string): name is MetricName {
  return Object.hasOwn(METRIC_TABLE, name);
}

/** The unit of any metric name (a per-phase one by its prefix); 'ratio' for a name the lab
 * does not know (a run written by another version). */
export function metricUnit(name: string): MetricUnit {
  if (isMetricName(name)) return METRIC_TABLE[name];
  const prefix = (Object.keys(PHASE_METRICS) as Array<keyof typeof PHASE_METRICS>).find((p) => name.startsWith(p));
  return prefix ? PHASE_METRICS[prefix] : 'ratio';
}
