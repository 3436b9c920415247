// The data every stage passes on: trace (what a trial recorded) -> summary (metrics).
import type { RssSeries } from './rss-series.js';
import type { RssSplit } from './smaps.js';

export const ALLOCATORS = ['glibc', 'tcmalloc', 'jemalloc', 'mimalloc'] as const;
export type Allocator = (typeof ALLOCATORS)[number];

export type VerdictKind = 'retention' | 'leak' | 'fragmentation' | 'held-by-program' | 'healthy' | 'inconclusive';

/** How bad a verdict is: healthy is 'ok'; a leak is 'critical'; retention and
 * fragmentation are 'critical' from half of the peak's growth, else 'warning'; memory
 * the program itself holds is a 'warning' (it may be meant), and so is 'inconclusive' (the
 * load had not drained when the idle ended: the machine was too slow for the scenario). */
export type Severity = 'ok' | 'warning' | 'critical';

export interface Verdict {
  kind: VerdictKind;
  severity: Severity;
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
  | { type: 'release'; tMs: number; ok: boolean; releaseMs: number | null; rssBeforeBytes: number | null; rssAfterBytes: number | null; call: string | null; error?: string; calls?: ReleaseCall[]; periodic?: boolean }
  | { type: 'load'; tMs: number; phase: string; sent: number; completed: number; errors: number; inFlight: number; intervalCompleted: number; p50Us: number | null; p99Us: number | null }
  | {
    type: 'profile'; tMs: number; phase: string; path: string; ok: boolean; ms: number | null; beforeRelease: boolean; error?: string;
    /** The dump before a release waits until nothing is in flight (harness/run/profile.ts waitQuiet). */
    quiet?: { inFlight: number | null; waitedMs: number; timedOut: boolean };
  }
  | { type: 'end'; tMs: number }
  /** Where RSS sits (core/smaps.ts), read at each phase end and right before and after a
   * release. */
  | {
    type: 'ledger'; tMs: number; point: LedgerPoint; phase: string; split: RssSplit; readMs: number;
    /** The allocator's counters from the subject's `stats-counters` at that point (null: none). */
    alloc?: Record<string, number | null> | null;
    /** glibc's free memory by arena (the subject's `ledger` reply); absent for other allocators. */
    arenas?: GlibcArenas | null;
  };

/** One glibc arena from malloc_info() (native/PROTOCOL.md, `ledger`): free bytes in its
 * fastbins, its other bins (unsorted included) and its top chunk; system = its heap. */
export interface GlibcArena {
  /** null: the one entry that sums the arenas past the reply's limit (`arenas` of them). */
  index: number | null; arenas?: number; main: boolean;
  fast_bytes: number; fast_chunks: number; bins_bytes: number; bins_chunks: number; top_bytes: number; system_bytes: number;
}
export interface GlibcArenas { arenas: GlibcArena[]; mmapped_bytes: number; mmapped_chunks: number; truncated: boolean }

/** When a ledger is read. */
export type LedgerPoint = 'phase-end' | 'before-release' | 'after-release';
export type LedgerEvent = Extract<TraceEvent, { type: 'ledger' }>;

/** A heap dump taken at a phase end (--profile). */
export type DumpEvent = Extract<TraceEvent, { type: 'profile' }>;

/** What the subject had in flight when the pre-release dump was taken. */
export interface Quiet {
  /** Requests and responses the subject still held at the dump (the relay's
   * live_request_count + live_response_count); null when it does not count them (a target). */
  inFlight: number | null;
  waitedMs: number;
  /** The wait ended at QUIET_TIMEOUT_MS with requests still in flight. */
  timedOut: boolean;
}

/** A release as it was recorded (the relay's, a probe's, a command's or an attach's). */
export type ReleaseEvent = Extract<TraceEvent, { type: 'release' }>;

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
  /** A phase sized by count: the requests it was to send (sent < requests: cut short). */
  requests?: number | null;
}

export type TrialStatus = 'complete' | 'failed' | 'interrupted';

/** The allocator that served a run: 'unknown' when a target could not say (static, no probe). */
export type AllocatorLabel = Allocator | 'unknown';

export interface Trace {
  scenario: string;
  variant: string;
  allocator: AllocatorLabel;
  trial: number;
  /** The seed of this trial's request sizes and upstream delays: the run's base seed +
   * trial - 1, so trials differ in workload as well as in timing. */
  seed?: number;
  status: TrialStatus;
  error?: string;
  /** The stats rows (and, in a trace read back or built by hand, the statm rows too). */
  samples: Sample[];
  /** The statm rows of a trace being run, as columns (harness/core/rss-series.ts). */
  rss?: RssSeries;
  events: TraceEvent[];
  phases: PhaseLoad[];
  vmHwmBytes: number | null;
  /** A target's descendant processes (workers it forked, programs it ran), outside the
   * measurement, which follows the target's first process: the most seen at once and
   * their largest summed RSS, looked at each phase start and at the end. */
  descendants?: { processes: number; rssBytes: number };
  /** CPU time (user + system) the relay used over the whole trial. */
  relayCpuMs?: number | null;
  /** Phase names in scenario order, with their scripted durations, and for a phase of a
   * repeated group the repetition it belongs to (1-based). */
  schedule: Array<{ name: string; durationMs: number; actions: string[]; repetition?: number }>;
}

export type { TrialMetrics } from './metric-names.js';

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
  /** Growth profile (--profile): taken, or why this variant could not be profiled. */
  profile?: ProfileStatus;
  /** The call sites whose live bytes grew between the end of the baseline and the point
   * before release, median over trials, largest first (harness/analysis/growth.ts). */
  growth?: GrowthSite[];
  /** With a leak verdict and --memory-limit: when RSS would reach the limit. */
  forecast?: ForecastSummary;
  /** A remedied row (--remedies): the remedy tried on another row, and how it compares. */
  remedy?: RemedyOutcome;
}

/** A remedy measured against the row it was tried on (analysis/remedy.ts). */
export interface RemedyOutcome {
  id: string;
  kind: 'variant' | 'release-every' | 'swap';
  label: string;
  /** The variant of the row it was tried on. */
  of: string;
  /** RSS kept above baseline at the retention point: the remedied run's, and the original's. */
  keptBytes: number | null;
  baseKeptBytes: number | null;
  /** (kept - base kept) / base kept. */
  keptChange: number | null;
  /** Throughput of the main loaded phase (the original's busiest), remedied / original;
   * null without built-in load. */
  throughputRatio: number | null;
  /** p99 of that phase, remedied minus original (ms). */
  p99DeltaMs: number | null;
  /** Kept at most half of the original's, at no more than 2% throughput cost. */
  fixes: boolean;
  conclusion: string;
}

export interface GrowthSite {
  /** The function that allocated the bytes (the profile's innermost frame past the allocator). */
  site: string;
  bytes: number;
  /** Of all positive growth between the two dumps. */
  share: number;
  /** Objects (the profile's --inuse_objects for the site), or null where not read. */
  objects: number | null;
}

export type ProfileStatus =
  | {
    status: 'profiled'; tool: string; trials: number; grownBytes: number; dir: string;
    /** Requests still in flight at the pre-release dump (the most over trials) after waiting
     * quietWaitMs for them; null when the subject does not count them (a target). */
    inFlightAtDump?: number | null;
    quietWaitMs?: number | null;
  }
  | { status: 'unsupported'; reason: string }
  | { status: 'failed'; reason: string };

export interface ForecastSummary {
  bytesPerRequest: number;
  rateRps: number;
  /** Where rateRps came from: --rate, or the run's measured rate. */
  rateSource: 'flag' | 'measured';
  limitBytes: number;
  startBytes: number;
  secondsToLimit: number | null;
  text: string;
}

export type RunStatus = 'running' | 'complete' | 'interrupted' | 'failed';
