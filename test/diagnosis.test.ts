// Verdict rules on hand-built summaries (fake summaries: pure logic), at, under and over
// each threshold.
import { describe, expect, it } from 'vitest';
import { THRESHOLDS, diagnose, withVerdict } from '../harness/diagnosis.js';
import type { SummaryRow } from '../harness/types.js';

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
  it('tcmalloc keeping everything until release is retention, with the allocator\'s remedy', () => {
    const v = diagnose(burst(490, 2));
    expect(v.kind).toBe('retention');
    expect(v.remedy).toContain('ReleaseFreeMemory');
    expect(v.evidence.keptAfterIdle).toBe(490 * MiB);
    expect(v.evidence.rule).toContain(String(T.floorBytes));
  });
  it('is healthy when what is kept is below the absolute floor, however high the ratio', () => {
    const small = row({ baselineRss: 10 * MiB, peakRss: 40 * MiB, retainedRss: 40 * MiB - 1, releasedRss: 10 * MiB, retention: 0.99, releaseEfficiency: 1, liveAfter: 0, liveGrowth: 0, leakSlope: 0 });
    expect(diagnose(small).kind).toBe('healthy');
  });
  it('at the ratio threshold is retention, just under it is healthy', () => {
    expect(diagnose(burst(500 * T.retentionMin, 2)).kind).toBe('retention');
    expect(diagnose(burst(500 * T.retentionMin - 1, 2)).kind).toBe('healthy');
  });
  it('counts a release that returns at least the floor, even under half', () => {
    // 300 MiB kept of which 200 MiB live: the release returns 60 MiB (20%), 31 MiB (10%).
    expect(diagnose(burst(300, 240, { liveAfter: 200 * MiB })).kind).toBe('retention');
    expect(diagnose(burst(300, 271, { liveAfter: 200 * MiB })).kind).toBe('healthy');
  });
  it('does not count held live bytes as retained', () => {
    expect(diagnose(burst(300, 2, { liveAfter: 280 * MiB })).kind).toBe('healthy');
  });
});

describe('leak', () => {
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
  });
  it('is not fragmentation below the absolute floor', () => {
    const small = row({ baselineRss: 10 * MiB, peakRss: 60 * MiB, retainedRss: 60 * MiB, releasedRss: 10 * MiB + T.floorBytes - 1, retention: 1, releaseEfficiency: 0.3, liveAfter: 0, liveGrowth: 0, leakSlope: 0 });
    expect(diagnose(small).kind).toBe('healthy');
  });
});

describe('healthy', () => {
  it('gives back by itself and holds nothing: healthy, with evidence', () => {
    const v = diagnose(burst(5, 2));
    expect(v.kind).toBe('healthy');
    expect(v.remedy).toBe('nothing to do');
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
