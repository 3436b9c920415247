// The run folder's format: what run.json, trials.jsonl and samples.csv hold, as types and
// as the one mapping between a sample and its samples.csv row. The writer (store.ts), the
// readers (reader.ts, trial-back.ts), merge and shard all go through this file; the
// documentation of the format is docs/reports.md, "The run folder".
import type { ForecastOptions } from '../analysis/profile-verdict.js';
import type { PhaseLoad, RunStatus, Sample, TrialStatus } from '../core/types.js';
import type { Scenario } from '../scenario/scenario.js';
import type { BinaryInfo } from '../subjects/target/binary.js';
import type { Shard } from './shard.js';

export interface TrialKey {
  scenario: string;
  variant: string;
  trial: number;
}

/** samples.csv columns, in order (documented in docs/reports.md, "The run folder"). */
export const SAMPLE_COLUMNS = [
  'scenario', 'variant', 'trial', 't_ms', 'phase', 'source', 'rss_bytes', 'smaps_rss_bytes',
  'private_dirty_bytes', 'lazyfree_bytes', 'live_request_bytes', 'live_request_count',
  'live_response_bytes', 'live_response_count', 'alloc_allocated_bytes', 'alloc_free_bytes',
  'alloc_unmapped_bytes', 'leaked_request_bytes', 'live_log_bytes', 'policy_releases', 'stats_us',
] as const;

export function sampleRow(key: TrialKey, s: Sample): (string | number | null)[] {
  return [
    key.scenario, key.variant, key.trial, s.tMs, s.phase, s.source, s.rssBytes, s.smapsRssBytes,
    s.privateDirtyBytes, s.lazyfreeBytes, s.liveRequestBytes, s.liveRequestCount,
    s.liveResponseBytes, s.liveResponseCount, s.allocAllocatedBytes, s.allocFreeBytes,
    s.allocUnmappedBytes, s.leakedRequestBytes, s.liveLogBytes, s.policyReleases, s.statsUs,
  ];
}

const cell = (x: string | undefined): number | null => (x === undefined || x === '' ? null : Number(x));

/** The inverse of sampleRow: one samples.csv record (in SAMPLE_COLUMNS order) as its trial
 * key and sample. */
export function rowSample(r: readonly string[]): { key: TrialKey; sample: Sample } {
  return {
    key: { scenario: r[0] ?? '', variant: r[1] ?? '', trial: Number(r[2]) },
    sample: {
      tMs: Number(r[3]), phase: r[4] ?? '', source: r[5] === 'statm' ? 'statm' : 'stats', rssBytes: Number(r[6]),
      smapsRssBytes: cell(r[7]), privateDirtyBytes: cell(r[8]), lazyfreeBytes: cell(r[9]),
      liveRequestBytes: cell(r[10]), liveRequestCount: cell(r[11]), liveResponseBytes: cell(r[12]),
      liveResponseCount: cell(r[13]), allocAllocatedBytes: cell(r[14]), allocFreeBytes: cell(r[15]),
      allocUnmappedBytes: cell(r[16]), leakedRequestBytes: cell(r[17]), liveLogBytes: cell(r[18]),
      policyReleases: cell(r[19]), statsUs: cell(r[20]),
    },
  };
}

export interface Environment {
  kernel: string;
  glibc: string | null;
  cpuModel: string | null;
  cores: number;
  memTotalBytes: number | null;
  thp: string | null;
  node: string;
  compiler: string | null;
  cmake: string | null;
  allocators: Record<string, { debian: string | null; reported: string | null }>;
  git: { commit: string | null; dirty: boolean | null };
  /** The native build the run used (build/native, or build/native-sanitize: ASan's allocator). */
  buildDir?: string;
}

/** A target scenario's provenance in run.json: its program, and per variant what really
 * served malloc (the probe's report and the allocator libraries mapped). */
export interface TargetInfo {
  command: string[];
  binary: BinaryInfo;
  variants: Record<string, { allocator: string; version: string | null; mapped: string[] }>;
}

export interface RunInfo {
  runId: string;
  command: string[];
  status: RunStatus;
  quick: boolean;
  /** `seed` is the base: trial i runs with seed + i - 1 (listed in `seeds`, and per trial
   * in trials.jsonl), so the spread over trials includes the workload's variance. */
  scenarios: Array<{ name: string; file: string; trials: number; seed: number; seeds?: number[]; scenario: Scenario }>;
  variants: Array<{ id: string; allocator: string; env: Record<string, string> }>;
  /** Target scenarios (by name): program, build id or checksum, package, what ran. */
  targets?: Record<string, TargetInfo>;
  startedAt: string;
  endedAt: string | null;
  environment: Environment;
  errors: string[];
  /** What the results do not cover, said once per trial (a target's child processes). */
  warnings?: string[];
  /** The slice this run covers (--shard), or null for the whole matrix. */
  shard: Shard | null;
  /** Whether the relay's counters were polled every 100 ms (false: --no-stats-poll). */
  statsPolling?: boolean;
  /** --profile and --memory-limit / --rate as given (what `lab merge` re-applies). */
  profile?: boolean;
  forecast?: ForecastOptions;
  /** Set by `lab merge`: the shard run folders this run was joined from. */
  mergedFrom?: Array<{ runId: string; dir: string; shard: Shard | null; status: RunStatus }>;
}

/** One trials.jsonl line (metrics included). */
export interface TrialLine {
  scenario: string;
  variant: string;
  allocator: string;
  trial: number;
  status: TrialStatus;
  error?: string;
  phases: PhaseLoad[];
  vmHwmBytes: number | null;
  metrics: Record<string, number | null>;
}

