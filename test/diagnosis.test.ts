// Verdict rules on hand-built summaries (fake summaries: pure logic), at, under and over
// each threshold.
import { describe, expect, it } from 'vitest';
import { RELEASE_ADVICE, THRESHOLDS, diagnose, withVerdict } from '../harness/analysis/diagnosis.js';
import type { SummaryRow } from '../harness/core/types.js';

const MiB = 1024 * 1024;
const T = THRESHOLDS;

function row(metrics: Record<string, number | null>, allocator: SummaryRow['allocator'] = 'tcmalloc'): SummaryRow {
  return {
    scenario: 's', variant: allocator, allocator, trials: 1, failedTrials: 0,
    metrics: Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, { median: v, min: v, max: v }])),
  };
}

/** A burst: baseline 10 MiB, peak 510 MiB; `kept` MiB above baseline after idle, `after` after release. */
function burst(kept: number, after: number, extra: Record<string, number | null> = {}): SummaryRow {
  const baseline = 10 * MiB;
  const peak = 510 * MiB;
  const retained = baseline + kept * MiB;
  const released = baseline + after * MiB;
  return row({
    baselineRss: baseline, peakRss: peak, retainedRss: retained, releasedRss: released,
    retention: (retained - baseline) / (peak - baseline),
    releaseEfficiency: kept > 0 ? (retained - released) / (retained - baseline) : null,
    liveAfter: 0, liveGrowth: 0, leakSlope: 0, ...extra,
  });
}

describe('retention', () => {
  it('tcmalloc keeping everything until release is critical retention, with the allocator\'s documented remedy', () => {
    const v = diagnose(burst(490, 2));
    expect(v.kind).toBe('retention');
    expect(v.severity).toBe('critical');
    expect(v.remedy).toContain('ReleaseFreeMemory');
    expect(v.remedy).toContain('490.0 MiB');
    expect(v.evidence.keptAfterIdle).toBe(490 * MiB);
    expect(v.evidence.rule).toContain(String(T.floorBytes));
  });
  it('glibc keeping 116 MiB (24% of the growth) after idle is retention, a warning, not healthy', () => {
    // The full burst on glibc (docs/metrics.md): peak growth ~480 MiB, 116 MiB kept after
    // 3 s idle, returned by malloc_trim in 12 ms.
    const v = diagnose(row({ baselineRss: 4 * MiB, peakRss: 484 * MiB, retainedRss: 120 * MiB, releasedRss: 5 * MiB, liveAfter: 0, liveGrowth: 0, leakSlope: 0 }, 'glibc'));
    expect(v.kind).toBe('retention');
    expect(v.severity).toBe('warning');
    expect(v.remedy).toContain('malloc_trim(0)');
  });
  it('is healthy when what is kept is below the absolute floor, however high the ratio', () => {
    const small = row({ baselineRss: 10 * MiB, peakRss: 40 * MiB, retainedRss: 40 * MiB - 1, releasedRss: 10 * MiB, retention: 0.99, releaseEfficiency: 1, liveAfter: 0, liveGrowth: 0, leakSlope: 0 });
    expect(diagnose(small).kind).toBe('healthy');
  });
  it('is healthy when what is kept is over the floor but under keptMin of the growth', () => {
    // 500 MiB growth: 10% is 50 MiB.
    expect(diagnose(burst(500 * T.keptMin, 2)).kind).toBe('retention');
    expect(diagnose(burst(500 * T.keptMin - 1, 2)).kind).toBe('healthy');
  });
  it('is critical from criticalFraction of the growth, a warning under it', () => {
    expect(diagnose(burst(500 * T.criticalFraction, 2)).severity).toBe('critical');
    expect(diagnose(burst(500 * T.criticalFraction - 1, 2)).severity).toBe('warning');
  });
  it('is retention even when the release gives little back (it says how much)', () => {
    // 300 MiB kept of which 200 MiB live: 100 MiB the allocator keeps; the release returns 31 MiB.
    const v = diagnose(burst(300, 269, { liveAfter: 200 * MiB }));
    expect(v.kind).toBe('retention');
    expect(v.evidence.returnedByRelease).toBe(31 * MiB);
    expect(v.remedy).toContain('returned 31.0 MiB');
  });
  it('does not count held live bytes as retained', () => {
    expect(diagnose(burst(300, 2, { liveAfter: 280 * MiB })).kind).toBe('healthy');
  });
  it('remedies state what the allocator documents, not one run\'s measurement', () => {
    for (const text of Object.values(RELEASE_ADVICE)) {
      expect(text).not.toMatch(/keeps more|not less|measured|in this relay/i);
    }
    expect(RELEASE_ADVICE.glibc).not.toContain('MALLOC_ARENA_MAX');
  });
});

describe('held by the program', () => {
  // The program's in-use bytes (allocator counter) stay 200 MiB up after the load, and
  // stopped growing in the load's second half: a cache, not the allocator.
  const cache = (inUseMiB: number, keptMiB: number, lateShare: number | null = 0.02) =>
    burst(keptMiB, keptMiB, { liveAfter: null, liveGrowth: null, leakSlope: null, inUseGrowth: inUseMiB * MiB, inUseAfter: (inUseMiB + 2) * MiB, requestsServed: 100_000, lateGrowthShare: lateShare });
  it('is held-by-program with the in-use bytes as evidence and a remedy for the program', () => {
    const v = diagnose(cache(200, 230));
    expect(v.kind).toBe('held-by-program');
    expect(v.severity).toBe('warning');
    expect(v.evidence.inUseGrowth).toBe(200 * MiB);
    expect(v.remedy).toContain('200.0 MiB');
    expect(v.remedy).toMatch(/cache|pool/);
  });
  it('is a leak instead when the in-use bytes were still growing at the end of the load', () => {
    expect(diagnose(cache(200, 230, 0.5)).kind).toBe('leak');
  });
  it('does not count requests still in flight when the load was to have stopped', () => {
    const inFlight = burst(230, 230, { liveAfter: 200 * MiB, liveGrowth: 200 * MiB, leakSlope: 2000, lateGrowthShare: 0, inUseGrowth: 200 * MiB, inFlightAfter: 200 * MiB, requestsServed: 100_000 });
    expect(diagnose(inFlight).kind).not.toBe('held-by-program');
    expect(diagnose(inFlight).kind).not.toBe('leak');
  });
  it('needs the floor, and most of what RSS kept', () => {
    expect(diagnose(cache(T.floorBytes / MiB - 1, T.floorBytes / MiB)).kind).not.toBe('held-by-program');
    expect(diagnose(cache(100, 100 / T.heldMin + 10)).kind).toBe('retention');  // the allocator keeps the most
    expect(diagnose(cache(100, 100 / T.heldMin)).kind).toBe('held-by-program');
  });
});

describe('leak', () => {
  it('a target without a request count (load commands): in-use growth over the floor that release does not return is a leak', () => {
    const noCount = burst(45, 45, { liveGrowth: 40 * MiB, leakSlope: null, requestsServed: null, liveAfter: 40 * MiB });
    expect(diagnose(noCount).kind).toBe('leak');
    expect(diagnose(noCount).remedy).toMatch(/grow 40.0 MiB over the run/);
    // With a request count, a null slope (no requests served) is not a leak by growth alone.
    expect(diagnose(burst(45, 45, { liveGrowth: 40 * MiB, leakSlope: null, requestsServed: 0, liveAfter: 40 * MiB })).kind).not.toBe('leak');
  });
  const leak = (growthMiB: number, slope: number, afterMiB: number) =>
    burst(afterMiB, afterMiB, { liveGrowth: growthMiB * MiB, leakSlope: slope, liveAfter: growthMiB * MiB });
  it('growth over the floor, slope over the minimum and RSS not coming back is a leak', () => {
    const v = diagnose(leak(40, 64, 45));
    expect(v.kind).toBe('leak');
    expect(v.remedy).toContain('64 B per request');
    expect(v.remedy).toContain('still reachable');
  });
  it('at each threshold is a leak; under any of them it is not', () => {
    const floor = T.leakFloorBytes / MiB;
    expect(diagnose(leak(floor, T.leakMinBytesPerRequest, floor)).kind).toBe('leak');
    expect(diagnose(leak(floor - 0.5, 64, 45)).kind).not.toBe('leak');
    expect(diagnose(leak(40, T.leakMinBytesPerRequest - 1, 45)).kind).not.toBe('leak');
    expect(diagnose(leak(40, 64, floor - 1)).kind).not.toBe('leak');  // the release brought it back
  });
  it('needs the growth to go on in the second half of the load, where that was measured', () => {
    const withShare = (share: number) => burst(45, 45, { liveGrowth: 40 * MiB, leakSlope: 64, liveAfter: 40 * MiB, lateGrowthShare: share });
    expect(diagnose(withShare(T.leakLateShareMin)).kind).toBe('leak');
    expect(diagnose(withShare(T.leakLateShareMin - 0.01)).kind).not.toBe('leak');
  });
  it('reads the allocator\'s in-use bytes where the program has no count of its own (any subject)', () => {
    const v = diagnose(burst(80, 80, { liveAfter: null, liveGrowth: null, leakSlope: null, inUseGrowth: 70 * MiB, requestsServed: 40_000, lateGrowthShare: 0.5 }));
    expect(v.kind).toBe('leak');
    expect(v.severity).toBe('critical');
  });
});

describe('fragmentation', () => {
  it('RSS far above live bytes after the release is fragmentation', () => {
    const v = diagnose(burst(400, 200, { liveAfter: 20 * MiB }));
    expect(v.kind).toBe('fragmentation');
    expect(v.evidence.excessAfterRelease).toBe(180 * MiB);
  });
  it('at the fraction threshold it is fragmentation, under it not', () => {
    const at = 500 * T.fragmentationMin;
    expect(diagnose(burst(400, at)).kind).toBe('fragmentation');
    expect(diagnose(burst(400, at - 1)).kind).toBe('retention');
    expect(diagnose(burst(400, 500 * T.criticalFraction)).severity).toBe('critical');
    expect(diagnose(burst(400, at)).severity).toBe('warning');
  });
  it('is not fragmentation below the absolute floor', () => {
    const small = row({ baselineRss: 10 * MiB, peakRss: 60 * MiB, retainedRss: 60 * MiB, releasedRss: 10 * MiB + T.floorBytes - 1, retention: 1, releaseEfficiency: 0.3, liveAfter: 0, liveGrowth: 0, leakSlope: 0 });
    expect(diagnose(small).kind).toBe('retention');  // kept 50 MiB by itself: not healthy, not fragmentation
  });
});

describe('inconclusive', () => {
  it('draws no verdict when the load had not drained before the release, whatever RSS shows', () => {
    // A quick burst on an overloaded machine: 123 MiB still in flight at the end of idle.
    const v = diagnose(burst(130, 125, { liveAfter: 123 * MiB, inFlightAfter: 123 * MiB }));
    expect(v.kind).toBe('inconclusive');
    expect(v.severity).toBe('warning');
    expect(v.remedy).toContain('123.0 MiB');
    expect(diagnose(burst(130, 125, { liveAfter: 20 * MiB, inFlightAfter: T.floorBytes - 1 })).kind).not.toBe('inconclusive');
  });
});

describe('healthy', () => {
  it('gives back by itself and holds nothing: healthy, with evidence', () => {
    const v = diagnose(burst(5, 2));
    expect(v.kind).toBe('healthy');
    expect(v.remedy).toBe('nothing to do');
    expect(v.severity).toBe('ok');
    expect(v.evidence.peakRss).toBe(510 * MiB);
  });
  it('missing metrics never produce a verdict other than healthy', () => {
    expect(diagnose(row({})).kind).toBe('healthy');
  });
  it('a row with no complete trial (all failed) gets no verdict at all, not healthy', () => {
    expect(withVerdict({ ...row({}), trials: 0, failedTrials: 1 }).verdict).toBeUndefined();
    expect(withVerdict(row({})).verdict?.kind).toBe('healthy');
  });
});
