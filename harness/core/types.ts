// The data every stage passes on: trace (what a trial recorded) -> summary (metrics).

export const ALLOCATORS = ['glibc', 'tcmalloc', 'jemalloc', 'mimalloc'] as const;
export type Allocator = (typeof ALLOCATORS)[number];

export type VerdictKind = 'retention' | 'leak' | 'fragmentation' | 'healthy';

export interface Verdict {
  kind: VerdictKind;
  /** The numbers the verdict rests on (bytes, ratios, bytes/request), and the rule. */
  evidence: Record<string, number | string | null>;
  remedy: string;
}


/** One sample row. `statm` rows come every 10 ms; `stats` rows (smaps_rollup + the relay's
 * admin stats) every 100 ms. Fields a row does not have are null. */
export interface Sample {
  tMs: number;
  phase: string;
  source: 'statm' | 'stats';
  rssBytes: number;
  smapsRssBytes: number | null;
  privateDirtyBytes: number | null;
  lazyfreeBytes: number | null;
  liveRequestBytes: number | null;
  liveRequestCount: number | null;
  liveResponseBytes: number | null;
  liveResponseCount: number | null;
  allocAllocatedBytes: number | null;
  allocFreeBytes: number | null;
  allocUnmappedBytes: number | null;
  /** Requests the relay kept forever in leak mode, and its long-lived log records. */
  leakedRequestBytes: number | null;
  liveLogBytes: number | null;
  /** Releases the relay's own release policy has made so far. */
  policyReleases: number | null;
  statsUs: number | null;
}

export type TraceEvent =
  | { type: 'phase'; tMs: number; name: string; index: number }
  | { type: 'release'; tMs: number; ok: boolean; releaseMs: number | null; rssBeforeBytes: number | null; rssAfterBytes: number | null; call: string | null; error?: string }
  | { type: 'load'; tMs: number; phase: string; sent: number; completed: number; errors: number; inFlight: number; intervalCompleted: number; p50Us: number | null; p99Us: number | null }
  | { type: 'end'; tMs: number };

export interface PhaseLoad {
  name: string;
  durationMs: number;
  sent: number;
  completed: number;
  errors: number;
  throughputRps: number;
  p50Us: number | null;
  p99Us: number | null;
}

export type TrialStatus = 'complete' | 'failed' | 'interrupted';

/** The allocator that served a run: 'unknown' when a target could not say (static, no probe). */
export type AllocatorLabel = Allocator | 'unknown';

export interface Trace {
  scenario: string;
  variant: string;
  allocator: AllocatorLabel;
  trial: number;
  status: TrialStatus;
  error?: string;
  samples: Sample[];
  events: TraceEvent[];
  phases: PhaseLoad[];
  vmHwmBytes: number | null;
  /** CPU time (user + system) the relay used over the whole trial. */
  relayCpuMs?: number | null;
  /** Phase names in scenario order, with their scripted start offsets. */
  schedule: Array<{ name: string; durationMs: number; actions: string[] }>;
}

/** Scalar metrics of one trial; null where the trace does not allow the metric. */
export type TrialMetrics = Record<string, number | null>;

export interface Spread {
  median: number | null;
  min: number | null;
  max: number | null;
}

export interface SummaryRow {
  scenario: string;
  variant: string;
  allocator: AllocatorLabel;
  trials: number;
  /** Trials that failed or were interrupted (not counted in the metrics). */
  failedTrials: number;
  metrics: Record<string, Spread>;
  /** The diagnosis of the medians (harness/analysis/diagnosis.ts). */
  verdict?: Verdict;
}

export type RunStatus = 'running' | 'complete' | 'interrupted' | 'failed';
