// The data every stage passes on: trace (what a trial recorded) -> summary (metrics).
import type { Verdict } from './diagnosis.js';
import type { Allocator } from './variants.js';

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
  | { type: 'release'; tMs: number; ok: boolean; releaseMs: number | null; rssBeforeBytes: number | null; rssAfterBytes: number | null; call: string | null; error?: string; calls?: ReleaseCall[] }
  | { type: 'load'; tMs: number; phase: string; sent: number; completed: number; errors: number; inFlight: number; intervalCompleted: number; p50Us: number | null; p99Us: number | null }
  | { type: 'end'; tMs: number };

/** One allocator call of a release, as the relay reported it (native/src/release_policy.h):
 * the thread-local step on a worker, the acceptor (the main thread) or the admin thread,
 * or the process-wide step. `rc` is null for calls that return nothing (they cannot fail). */
export interface ReleaseCall {
  thread: string;
  worker?: number;
  tid: number;
  mainThread: boolean;
  call: string;
  rc: number | null;
  ok: boolean;
  ms: number;
  error?: string;
}

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

export interface Trace {
  scenario: string;
  variant: string;
  allocator: Allocator;
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
  allocator: Allocator;
  trials: number;
  /** Trials that failed or were interrupted (not counted in the metrics). */
  failedTrials: number;
  metrics: Record<string, Spread>;
  /** The diagnosis of the medians (harness/diagnosis.ts). */
  verdict?: Verdict;
}

export type RunStatus = 'running' | 'complete' | 'interrupted' | 'failed';
