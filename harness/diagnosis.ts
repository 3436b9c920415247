// Verdicts: retention, leak, fragmentation or healthy, from one summary row's medians.
// Pure functions. Ratios only count above an absolute floor, in the manner of Redis'
// MEMORY DOCTOR: at small sizes a ratio alone is noise.
import type { Allocator } from './variants.js';
import type { SummaryRow } from './types.js';

const MiB = 1024 * 1024;

/** The thresholds, named and documented in the README ("Verdicts"). */
export const THRESHOLDS = {
  /** Below this much memory above baseline, nothing is a problem worth a verdict. */
  floorBytes: 32 * MiB,
  /** Leak: the relay's held bytes grew at least this much between the end of the baseline
   * and the point before release (after drain and idle, when nothing is in flight)... */
  leakFloorBytes: 32 * MiB,
  /** ...by at least this many bytes per request served, and RSS after the release stays
   * at least leakFloorBytes above baseline. */
  leakMinBytesPerRequest: 16,
  /** Retention: RSS kept after idle, as a fraction of the peak's growth. */
  retentionMin: 0.5,
  /** Retention: the release gave back at least this fraction of what was kept (or at
   * least floorBytes). */
  releaseMin: 0.5,
  /** Fragmentation: after release, RSS above baseline + held bytes, as a fraction of the
   * peak's growth. */
  fragmentationMin: 0.25,
} as const;

export type VerdictKind = 'retention' | 'leak' | 'fragmentation' | 'healthy';

export interface Verdict {
  kind: VerdictKind;
  /** The numbers the verdict rests on (bytes, ratios, bytes/request), and the rule. */
  evidence: Record<string, number | string | null>;
  remedy: string;
}

/** What returns the memory, per allocator, as measured by the `tuning` scenario (README,
 * "Findings"): e.g. a higher TCMALLOC_RELEASE_RATE does not help an idle process. */
const RELEASE_ADVICE: Record<Allocator, string> = {
  glibc: 'call malloc_trim(0) when idle, or lower glibc.malloc.trim_threshold (MALLOC_ARENA_MAX=2 keeps more, not less)',
  tcmalloc: 'call MallocExtension::instance()->ReleaseFreeMemory() when idle or periodically (TCMALLOC_RELEASE_RATE only returns pages while the program keeps allocating)',
  jemalloc: 'lower dirty_decay_ms (0 returns pages at once) or purge arena.<all> when idle (background_thread:true still waits out dirty_decay_ms)',
  mimalloc: 'call mi_collect(true) when idle, or set MIMALLOC_DECOMMIT_DELAY=0 and MIMALLOC_SEGMENT_DECOMMIT_DELAY=0',
};

export function diagnose(row: SummaryRow): Verdict {
  const m = (name: string): number | null => row.metrics[name]?.median ?? null;
  const t = THRESHOLDS;
  const baseline = m('baselineRss');
  const peak = m('peakRss');
  const retained = m('retainedRss');
  const released = m('releasedRss');
  const liveAfter = m('liveAfter') ?? 0;
  const liveGrowth = m('liveGrowth');
  const slope = m('leakSlope');
  const retention = m('retention');
  const efficiency = m('releaseEfficiency');
  const grown = peak !== null && baseline !== null ? peak - baseline : null;
  const evidence: Verdict['evidence'] = {
    baselineRss: baseline, peakRss: peak, retainedRss: retained, releasedRss: released,
    liveAfter, liveGrowth, leakSlope: slope, retention, releaseEfficiency: efficiency,
  };

  if (liveGrowth !== null && slope !== null && liveGrowth >= t.leakFloorBytes && slope >= t.leakMinBytesPerRequest
    && (released === null || baseline === null || released - baseline >= t.leakFloorBytes)) {
    return {
      kind: 'leak',
      evidence: { ...evidence, rule: `liveGrowth >= ${t.leakFloorBytes} B and leakSlope >= ${t.leakMinBytesPerRequest} B/request, and release does not bring RSS back` },
      remedy: `live bytes grow ${Math.round(slope)} B per request and no release returns them: find the table or cache that is never cleaned (memcheck calls such memory "still reachable", not lost)`,
    };
  }
  if (released !== null && baseline !== null && grown !== null && grown > 0) {
    const excess = released - baseline - liveAfter;
    if (excess >= t.floorBytes && excess / grown >= t.fragmentationMin) {
      return {
        kind: 'fragmentation',
        evidence: { ...evidence, excessAfterRelease: excess, excessFraction: excess / grown, rule: `releasedRss - baselineRss - liveAfter >= ${t.floorBytes} B and >= ${t.fragmentationMin} of the peak's growth` },
        remedy: 'free memory is pinned between live objects: keep long-lived small objects apart from short-lived large buffers (a separate arena or pool per lifetime), or use an allocator that segregates size classes',
      };
    }
  }
  if (retained !== null && baseline !== null && retention !== null) {
    const kept = retained - baseline - liveAfter;
    const returned = released === null ? null : retained - released;
    const releaseHelped = efficiency === null || efficiency >= t.releaseMin || (returned !== null && returned >= t.floorBytes);
    if (kept >= t.floorBytes && retention >= t.retentionMin && releaseHelped) {
      return {
        kind: 'retention',
        evidence: { ...evidence, keptAfterIdle: kept, returnedByRelease: returned, rule: `retainedRss - baselineRss - liveAfter >= ${t.floorBytes} B, retention >= ${t.retentionMin}, and the release returned >= ${t.releaseMin} of it or >= ${t.floorBytes} B` },
        remedy: `the allocator keeps freed memory; ${RELEASE_ADVICE[row.allocator]}`,
      };
    }
  }
  return {
    kind: 'healthy',
    evidence: { ...evidence, rule: 'no leak, fragmentation or retention rule matched' },
    remedy: 'nothing to do',
  };
}

/** The row with its verdict attached (summary.json carries it). */
/** The row with its verdict; none when no trial completed (nothing to diagnose: a verdict
 * of medians that do not exist would read "healthy"). */
export function withVerdict(row: SummaryRow): SummaryRow {
  return row.trials === 0 ? { ...row } : { ...row, verdict: diagnose(row) };
}
