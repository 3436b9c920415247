// Verdicts: leak, held by the program, fragmentation, retention, healthy (or inconclusive), with a
// severity, from one summary row's medians. Pure functions reading summary metrics only
// (RSS levels, the allocator's in-use counter, the relay's own count where there is one),
// so the same rules judge the built-in relay and any other subject. In the manner of
// Redis' MEMORY DOCTOR, a rule fires only when an amount passes both an absolute floor
// and a fraction of the peak's growth: at small sizes a ratio alone is noise, and on a
// big heap a fixed floor alone is. The rules and the runs behind the numbers:
// docs/metrics.md, "Verdicts".
import type { Allocator } from '../core/types.js';
import type { Severity, SummaryRow, Verdict } from '../core/types.js';

export type { Severity, Verdict, VerdictKind } from '../core/types.js';

const MiB = 1024 * 1024;

/** The thresholds, named and documented in docs/metrics.md ("Verdicts"). */
export const THRESHOLDS = {
  /** Below this much memory above baseline, nothing is a problem worth a verdict. */
  floorBytes: 32 * MiB,
  /** Healthy means RSS came back near baseline by itself: what it kept after idle (beyond
   * the program's own bytes) is under floorBytes or under this fraction of the peak's
   * growth. At or over both: retention. */
  keptMin: 0.1,
  /** Retention (and fragmentation) is critical from this fraction of the peak's growth
   * kept; a warning below it. */
  criticalFraction: 0.5,
  /** Leak: the program's bytes grew at least this much between the end of the baseline
   * and the point before release (after drain and idle, when nothing is in flight)... */
  leakFloorBytes: 32 * MiB,
  /** ...by at least this many bytes per request served, still growing in the second half
   * of the load (lateGrowthShare >= leakLateShareMin, where measured), and RSS after the
   * release stays at least leakFloorBytes above baseline. */
  leakMinBytesPerRequest: 16,
  leakLateShareMin: 0.2,
  /** Held by the program: its in-use bytes (allocator counter) grew at least floorBytes
   * and account for at least this fraction of what RSS kept above baseline. */
  heldMin: 0.5,
  /** Fragmentation: after release, RSS above baseline + the program's bytes, as a
   * fraction of the peak's growth. */
  fragmentationMin: 0.25,
} as const;

/** What each allocator's documentation says returns freed memory to the OS. Measured
 * effects of tuning (which knob kept more or less on this lab's workloads) are findings,
 * not guarantees: they live in docs/findings.md with the commands that reproduce them. */
export const RELEASE_ADVICE: Record<Allocator, string> = {
  glibc: 'call malloc_trim(0) when idle (since glibc 2.8 it frees memory in all arenas and in every chunk with whole free pages), '
    + 'or lower M_TRIM_THRESHOLD (glibc.malloc.trim_threshold), the free space at the top of the heap above which free() trims it',
  tcmalloc: 'call MallocExtension::instance()->ReleaseFreeMemory() (releases as much free memory as possible to the OS) when idle or periodically; '
    + 'TCMALLOC_RELEASE_RATE sets the rate at which unused memory is released (0 = never, higher = faster; documented range 0-10)',
  jemalloc: 'purge with mallctl("arena.<MALLCTL_ARENAS_ALL>.purge") when idle, or lower dirty_decay_ms/muzzy_decay_ms '
    + '(the approximate time before unused pages are purged; 0 = at once); background_thread:true hands purging to background threads',
  mimalloc: 'call mi_collect(true) (returns memory to the OS aggressively) when idle, or lower the delay after which unused pages are returned '
    + '(MIMALLOC_DECOMMIT_DELAY in 2.0, MIMALLOC_PURGE_DELAY from 2.1; 0 = at once)',
};

function fractionSeverity(fraction: number): Severity {
  return fraction >= THRESHOLDS.criticalFraction ? 'critical' : 'warning';
}

const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
const pct = (x: number) => `${Math.round(x * 100)}%`;

/** The documented release advice for an allocator; a generic one for an allocator the lab
 * could not name (a target's `unknown`). */
function releaseAdvice(allocator: string): string {
  return (RELEASE_ADVICE as Record<string, string | undefined>)[allocator]
    ?? 'call the allocator\'s release function when idle, or tune it to return freed pages sooner';
}

export function diagnose(row: SummaryRow): Verdict {
  const m = (name: string): number | null => row.metrics[name]?.median ?? null;
  const t = THRESHOLDS;
  const baseline = m('baselineRss');
  const peak = m('peakRss');
  const retained = m('retainedRss');
  const released = m('releasedRss');
  const liveAfter = m('liveAfter');
  const inUseGrowth = m('inUseGrowth');
  const served = m('requestsServed');
  const lateShare = m('lateGrowthShare');
  // The program's own growth: the relay's count where there is one, else the allocator's.
  const growth = m('liveGrowth') ?? inUseGrowth;
  const slope = m('leakSlope') ?? (inUseGrowth !== null && served ? inUseGrowth / served : null);
  // What the program itself holds after the load: its own count, else the allocator's
  // in-use growth since the baseline.
  const programBytes = liveAfter ?? (inUseGrowth === null ? 0 : Math.max(0, inUseGrowth));
  const grown = peak !== null && baseline !== null ? peak - baseline : null;
  const evidence: Verdict['evidence'] = {
    baselineRss: baseline, peakRss: peak, retainedRss: retained, releasedRss: released,
    liveAfter, liveGrowth: m('liveGrowth'), inFlightAfter: m('inFlightAfter'), inUseAfter: m('inUseAfter'), inUseGrowth, leakSlope: slope,
    lateGrowthShare: lateShare, retention: m('retention'), releaseEfficiency: m('releaseEfficiency'),
  };

  // The load had not drained when the idle ended (a machine too slow for the scenario's
  // times): whatever RSS shows then is load, and no rule below can be trusted.
  const inFlight = m('inFlightAfter');
  if (inFlight !== null && inFlight >= t.floorBytes) {
    return {
      kind: 'inconclusive', severity: 'warning',
      evidence: { ...evidence, rule: `inFlightAfter >= ${t.floorBytes} B: the load had not drained before the release` },
      remedy: `${mib(inFlight)} of requests were still in flight when the idle ended: this machine did not drain the load in the scenario's time, so no verdict is drawn. Run on a quieter machine, or lengthen the drain and idle phases`,
    };
  }
  const stillGrowing = lateShare === null || lateShare >= t.leakLateShareMin;
  // A target driven by load commands has no request count (requestsServed null): there the
  // growth of the program's bytes decides alone.
  const perRequest = slope !== null ? slope >= t.leakMinBytesPerRequest : served === null;
  if (growth !== null && perRequest && growth >= t.leakFloorBytes && stillGrowing
    && (released === null || baseline === null || released - baseline >= t.leakFloorBytes)) {
    return {
      kind: 'leak', severity: 'critical',
      evidence: { ...evidence, rule: `program bytes grew >= ${t.leakFloorBytes} B at >= ${t.leakMinBytesPerRequest} B/request, still growing in the load's second half (lateGrowthShare >= ${t.leakLateShareMin}), and release does not bring RSS back` },
      remedy: `the program's bytes grow ${slope === null ? `${mib(growth)} over the run` : `${Math.round(slope)} B per request served`} and no release returns them: find the table or cache that is never cleaned (memcheck calls such memory "still reachable", not lost)`,
    };
  }
  if (retained !== null && baseline !== null && inUseGrowth !== null) {
    const kept = retained - baseline;
    // Requests still in flight when the load was to have stopped are load, not a cache.
    const held = inUseGrowth - (m('inFlightAfter') ?? 0);
    if (held >= t.floorBytes && kept > 0 && held >= t.heldMin * kept) {
      return {
        kind: 'held-by-program', severity: 'warning',
        evidence: { ...evidence, keptAfterIdle: kept, heldByProgram: held, heldFraction: held / kept, rule: `inUseGrowth - inFlightAfter >= ${t.floorBytes} B and >= ${t.heldMin} of retainedRss - baselineRss after the load stopped, not growing with requests` },
        remedy: `the program itself still uses ${mib(held)} after the load stopped (${pct(held / kept)} of the ${mib(kept)} RSS kept), and it stopped growing with requests: a cache, pool or buffer inside the program, not the allocator. Bound or shrink it (size limit, expiry, shrink on idle); a release call cannot return memory still in use`,
      };
    }
  }
  if (released !== null && baseline !== null && grown !== null && grown > 0) {
    const excess = released - baseline - programBytes;
    if (excess >= t.floorBytes && excess / grown >= t.fragmentationMin) {
      return {
        kind: 'fragmentation', severity: fractionSeverity(excess / grown),
        evidence: { ...evidence, excessAfterRelease: excess, excessFraction: excess / grown, rule: `releasedRss - baselineRss - program bytes >= ${t.floorBytes} B and >= ${t.fragmentationMin} of the peak's growth (critical from ${t.criticalFraction})` },
        remedy: 'free memory is pinned between live objects: keep long-lived small objects apart from short-lived large buffers (a separate arena or pool per lifetime), or use an allocator that segregates size classes',
      };
    }
  }
  if (retained !== null && baseline !== null && grown !== null && grown > 0) {
    const kept = retained - baseline - programBytes;
    const returned = released === null ? null : retained - released;
    if (kept >= t.floorBytes && kept / grown >= t.keptMin) {
      const byRelease = returned === null ? '' : ` The release call returned ${mib(returned)}.`;
      return {
        kind: 'retention', severity: fractionSeverity(kept / grown),
        evidence: { ...evidence, keptAfterIdle: kept, keptFraction: kept / grown, returnedByRelease: returned, rule: `retainedRss - baselineRss - program bytes >= ${t.floorBytes} B and >= ${t.keptMin} of the peak's growth (critical from ${t.criticalFraction})` },
        remedy: `the allocator kept ${mib(kept)} (${pct(kept / grown)} of the peak's growth) of freed memory after the idle.${byRelease} ${capitalize(releaseAdvice(row.allocator))}`,
      };
    }
  }
  return {
    kind: 'healthy', severity: 'ok',
    evidence: { ...evidence, rule: `RSS came back to within ${t.floorBytes} B or ${t.keptMin} of the peak's growth of baseline by itself; no other rule matched` },
    remedy: 'nothing to do',
  };
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The row with its verdict attached (summary.json carries it); none when no trial
 * completed (nothing to diagnose: a verdict of medians that do not exist would read "healthy"). */
export function withVerdict(row: SummaryRow): SummaryRow {
  return row.trials === 0 ? { ...row } : { ...row, verdict: diagnose(row) };
}
