// Verdict rules on hand-built summaries (fake summaries: pure logic), at, under and over
// each threshold. The thresholds are written here as literals, from docs/metrics.md
// ("Verdicts"): 32 MiB floor, 10% kept, 50% critical, 16 B/request, a late share of 0.2,
// 50% held, 25% fragmentation, and a release that returns under half of what was kept is
// not the remedy. Each case asserts the exact kind.
import { describe, expect, it } from 'vitest';
import { diagnose, withVerdict } from '../../../harness/analysis/diagnosis.js';
import { ALLOCATOR } from '../../../harness/allocators/registry.js';
import type { SummaryRow } from '../../../harness/core/types.js';

const MiB = 1024 * 1024;

function row(metrics: Record<string, number | null>, allocator: SummaryRow['allocator'] = 'tcmalloc'): SummaryRow {
  return {
    scenario: 's', variant: allocator, allocator, trials: 1, failedTrials: 0,
    metrics: Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, { median: v, min: v, max: v }])),
  };
}

/** A burst: baseline 10 MiB, peak 510 MiB (500 MiB of growth); `kept` MiB above baseline
 * after the idle, `after` MiB after the release; the program holds `program` MiB (its own
 * count, as the relay's). */
function burst(kept: number, after: number, program = 0, extra: Record<string, number | null> = {}, allocator: SummaryRow['allocator'] = 'tcmalloc'): SummaryRow {
  return row({
    baselineRss: 10 * MiB, peakRss: 510 * MiB, retainedRss: (10 + kept) * MiB, releasedRss: (10 + after) * MiB,
    liveAfter: program * MiB, liveGrowth: program * MiB, inFlightAfter: 0, requestsServed: 100_000,
    leakSlope: (program * MiB) / 100_000, lateGrowthShare: 0.5, ...extra,
  }, allocator);
}

/** A target driven by load commands: no request count, the allocator's in-use bytes, and
 * growth per repetition (`repeatShare`), or none. */
function target(keptMiB: number, afterMiB: number, inUseMiB: number | null, repeatShare: number | null, allocator: SummaryRow['allocator'] = 'glibc'): SummaryRow {
  return row({
    baselineRss: 4 * MiB, peakRss: 404 * MiB, retainedRss: (4 + keptMiB) * MiB, releasedRss: (4 + afterMiB) * MiB,
    inUseGrowth: inUseMiB === null ? null : inUseMiB * MiB, repeatGrowthShare: repeatShare,
  }, allocator);
}

describe('inconclusive: an input a rule needs is missing', () => {
  it('a row without RSS levels is inconclusive, naming what is missing, never healthy', () => {
    const v = diagnose(row({}));
    expect(v.kind).toBe('inconclusive');
    expect(v.severity).toBe('warning');
    expect(v.remedy).toContain('baselineRss, peakRss, retainedRss');
    expect(diagnose(row({ baselineRss: 10 * MiB, peakRss: 500 * MiB, retainedRss: null })).remedy).toMatch(/^no RSS level was measured for retainedRss /);
  });
  it('requests still in flight when the idle ended: no verdict, whatever RSS shows', () => {
    const v = diagnose(burst(130, 125, 123, { inFlightAfter: 123 * MiB }));
    expect(v.kind).toBe('inconclusive');
    expect(v.remedy).toContain('123.0 MiB of requests were still in flight');
    expect(v.evidence.rule).toBe('inFlightAfter 123.0 MiB >= 32.0 MiB');
    // Just under 32 MiB in flight is not a reason: 130 - 31.99 MiB kept by the allocator, 25 - ... after release.
    expect(diagnose(burst(130, 2, 0, { inFlightAfter: 32 * MiB - 1 })).kind).toBe('retention');
  });
  it('program bytes over the floor without growth per unit of work: inconclusive, saying how to get it', () => {
    const v = diagnose(target(300, 300, 290, null));
    expect(v.kind).toBe('inconclusive');
    expect(v.remedy).toContain('grew 290.0 MiB');
    expect(v.remedy).toMatch(/Repeat the load so that growth per repetition can be measured/);
    expect(v.evidence.rule).toBe('program growth 290.0 MiB >= 32.0 MiB; growth per unit of work not measured (no lateGrowthShare, no repeatGrowthShare)');
  });
  it('no in-use count (mimalloc\'s release build): kept RSS that the release did not return is inconclusive, naming the count', () => {
    const v = diagnose(target(300, 280, null, null, 'mimalloc'));
    expect(v.kind).toBe('inconclusive');
    expect(v.remedy).toContain('the program\'s in-use bytes were not measured (mimalloc reports none here)');
  });
  it('no in-use count, but the release returned at least half of what was kept (and 32 MiB): retention', () => {
    expect(diagnose(target(300, 150, null, null, 'mimalloc')).kind).toBe('retention');
    expect(diagnose(target(300, 151, null, null, 'mimalloc')).kind).toBe('inconclusive');  // returned 149 MiB < 150
  });
  it('no release measured: retention cannot be told from fragmentation', () => {
    const v = diagnose(burst(300, 0, 0, { releasedRss: null }));
    expect(v.kind).toBe('inconclusive');
    expect(v.remedy).toContain('no release was measured');
  });
});

describe('retention', () => {
  it('tcmalloc keeping everything until release is critical retention, with the allocator\'s documented remedy', () => {
    const v = diagnose(burst(490, 2));
    expect(v.kind).toBe('retention');
    expect(v.severity).toBe('critical');
    expect(v.remedy).toContain('ReleaseFreeMemory');
    expect(v.remedy).toContain('kept 490.0 MiB (98% of the peak\'s growth)');
    expect(v.remedy).toContain('The release call returned 488.0 MiB');
    expect(v.evidence.keptAfterIdle).toBe(490 * MiB);
    // Only what was evaluated, each with its value: the program's growth (0), the amount and share kept, fragmentation.
    expect(v.evidence.rule).toBe('inFlightAfter 0.0 MiB < 32.0 MiB; program growth 0.0 MiB < 32.0 MiB; kept beyond the program 490.0 MiB >= 32.0 MiB; '
      + 'kept / peak growth 0.98 >= 0.10; releasedRss - baselineRss - program bytes 2.0 MiB < 32.0 MiB');
  });
  it('glibc keeping 116 MiB (24% of the growth) after idle is retention, a warning', () => {
    // The full burst on glibc (docs/metrics.md): peak growth 480 MiB, 116 MiB kept after
    // 3 s idle, returned by malloc_trim in 12 ms.
    const v = diagnose(row({ baselineRss: 4 * MiB, peakRss: 484 * MiB, retainedRss: 120 * MiB, releasedRss: 5 * MiB, liveAfter: 0, liveGrowth: 0 }, 'glibc'));
    expect(v.kind).toBe('retention');
    expect(v.severity).toBe('warning');
    expect(v.remedy).toContain('Call malloc_trim(0) when idle');
  });
  it('needs 32 MiB kept, whatever the share', () => {
    // 200 MiB of growth: 32 MiB kept is 16%, over the 10% share.
    const small = (keptBytes: number) => row({ baselineRss: 10 * MiB, peakRss: 210 * MiB, retainedRss: 10 * MiB + keptBytes, releasedRss: 10 * MiB, liveGrowth: 0 });
    expect(diagnose(small(32 * MiB)).kind).toBe('retention');
    expect(diagnose(small(32 * MiB - 1)).kind).toBe('healthy');
  });
  it('needs 10% of the peak\'s growth kept, however much that is', () => {
    // 500 MiB of growth: 10% is 50 MiB.
    expect(diagnose(burst(50, 2)).kind).toBe('retention');
    expect(diagnose(burst(49.99, 2)).kind).toBe('healthy');
  });
  it('is critical from half of the growth, a warning under it', () => {
    expect(diagnose(burst(250, 2)).severity).toBe('critical');
    expect(diagnose(burst(249.99, 2)).severity).toBe('warning');
  });
  it('does not count the program\'s own bytes as retained', () => {
    // 300 MiB kept, 280 of them the program's, levelled off: the allocator keeps 20 MiB.
    expect(diagnose(burst(300, 282, 280, { lateGrowthShare: 0 })).kind).toBe('held-by-program');
    expect(diagnose(burst(60, 42, 40, { lateGrowthShare: 0 })).kind).toBe('held-by-program');
  });
});

describe('a remedy never recommends a release that returned little', () => {
  // The allocator keeps 100 MiB beyond the program (60 MiB, levelled off, 37% of the kept 160).
  const kept = (returnedMiB: number, allocator: SummaryRow['allocator']) =>
    burst(160, 160 - returnedMiB, 60, { lateGrowthShare: 0 }, allocator);
  it('a release that returned half of what the allocator kept is recommended', () => {
    const v = diagnose(kept(50, 'glibc'));
    expect(v.kind).toBe('retention');
    expect(v.remedy).toContain('The release call returned 50.0 MiB. Call malloc_trim(0) when idle');
  });
  it('under half: it says what the call returned and what the manual offers instead (glibc: the arenas)', () => {
    const v = diagnose(kept(49, 'glibc'));
    expect(v.kind).toBe('retention');
    expect(v.remedy).toContain('The release call returned only 49.0 MiB of it, so it is not the remedy here');
    expect(v.remedy).toContain('MALLOC_ARENA_MAX');
    expect(v.remedy).toContain('M_TRIM_THRESHOLD');
    expect(v.remedy).not.toMatch(/call malloc_trim\(0\) when idle/i);
  });
  it('the same for every allocator: no release advice after a release that did not help', () => {
    for (const [allocator, call] of [['tcmalloc', /ReleaseFreeMemory\(\) \(releases/i], ['jemalloc', /purge with mallctl/i], ['mimalloc', /call mi_collect\(true\) \(returns/i]] as const) {
      const v = diagnose(kept(10, allocator));
      expect(v.remedy, allocator).toContain('returned only 10.0 MiB');
      expect(v.remedy, allocator).not.toMatch(call);
    }
  });
  it('the documented advice states what the allocator documents, not one run\'s measurement', () => {
    for (const row of Object.values(ALLOCATOR)) expect(row.releaseAdvice).not.toMatch(/keeps more|not less|measured|in this relay/i);
  });
});

describe('leak', () => {
  it('built-in load: growth over 32 MiB, over 16 B/request, still growing late, not returned by the release: leak', () => {
    const v = diagnose(burst(45, 45, 40, { leakSlope: 64 }));
    expect(v.kind).toBe('leak');
    expect(v.severity).toBe('critical');
    expect(v.remedy).toContain('64 B per request served');
    expect(v.remedy).toContain('still reachable');
    expect(v.evidence.rule).toBe('inFlightAfter 0.0 MiB < 32.0 MiB; program growth 40.0 MiB >= 32.0 MiB; lateGrowthShare 0.50 >= 0.20; '
      + 'growth per request 64 B/request >= 16 B/request; releasedRss - baselineRss 45.0 MiB >= 32.0 MiB');
  });
  it('at each threshold it is a leak; under each, the exact other kind', () => {
    expect(diagnose(burst(32, 32, 32, { leakSlope: 16 })).kind).toBe('leak');
    // 31.5 MiB of growth: under the floor; the allocator keeps 13.5 MiB: nothing.
    expect(diagnose(burst(45, 45, 31.5, { leakSlope: 64 })).kind).toBe('healthy');
    // 15 B/request: not proportional to the work; it holds 89% of the kept RSS: held by the program.
    expect(diagnose(burst(45, 45, 40, { leakSlope: 15 })).kind).toBe('held-by-program');
    expect(diagnose(burst(45, 45, 40, { leakSlope: 64, lateGrowthShare: 0.2 })).kind).toBe('leak');
    expect(diagnose(burst(45, 45, 40, { leakSlope: 64, lateGrowthShare: 0.19 })).kind).toBe('held-by-program');
  });
  it('load commands: growth that goes on after the first repetition is a leak', () => {
    const v = diagnose(target(330, 320, 300, 0.6));
    expect(v.kind).toBe('leak');
    expect(v.remedy).toContain('300.0 MiB over the run, 60% of it after the first repetition');
    expect(v.evidence.rule).toContain('repeatGrowthShare 0.60 >= 0.20');
    expect(diagnose(target(330, 320, 300, 0.2)).kind).toBe('leak');
  });
  it('the program\'s growth: its own count first, else the allocator\'s in-use bytes, requests in flight taken out', () => {
    expect(diagnose(burst(80, 80, 0, { liveAfter: null, liveGrowth: null, leakSlope: null, inUseGrowth: 70 * MiB })).kind).toBe('leak');
    // 70 MiB in use, 31 MiB of it requests in flight: 39 MiB kept by the program.
    const v = diagnose(burst(80, 80, 0, { liveAfter: null, liveGrowth: null, leakSlope: null, inUseGrowth: 70 * MiB, inFlightAfter: 31 * MiB }));
    expect(v.kind).toBe('leak');
    expect(v.evidence.programGrowth).toBe(39 * MiB);
  });
});

describe('held by the program', () => {
  it('in-use bytes that levelled off and hold most of the kept RSS: held-by-program, a warning, with a remedy for the program', () => {
    const v = diagnose(target(230, 228, 200, 0.02));
    expect(v.kind).toBe('held-by-program');
    expect(v.severity).toBe('warning');
    expect(v.evidence.heldByProgram).toBe(200 * MiB);
    expect(v.remedy).toContain('still uses 200.0 MiB');
    expect(v.remedy).toMatch(/cache, pool/);
  });
  it('a pool whose second fill added 5% is held, not a leak', () => {
    expect(diagnose(target(310, 305, 300, 0.05)).kind).toBe('held-by-program');
  });
  it('needs half of what RSS kept; under it the allocator\'s share decides', () => {
    expect(diagnose(target(200, 200, 100, 0)).kind).toBe('held-by-program');
    // 100 of 210 MiB kept (48%): the allocator keeps 110 MiB, 28% of the growth, and the
    // release returned nothing: 110 MiB pinned, over a quarter of the growth.
    expect(diagnose(target(210, 210, 100, 0)).kind).toBe('fragmentation');
  });
});

describe('fragmentation', () => {
  it('RSS far above the program\'s bytes after the release is fragmentation', () => {
    const v = diagnose(burst(400, 200, 20, { lateGrowthShare: 0 }));
    expect(v.kind).toBe('fragmentation');
    expect(v.evidence.excessAfterRelease).toBe(180 * MiB);
  });
  it('from a quarter of the growth; under it, retention', () => {
    expect(diagnose(burst(400, 125)).kind).toBe('fragmentation');
    expect(diagnose(burst(400, 124.99)).kind).toBe('retention');
    expect(diagnose(burst(400, 125)).severity).toBe('warning');
    expect(diagnose(burst(400, 250)).severity).toBe('critical');
  });
  it('needs 32 MiB pinned', () => {
    // 50 MiB of growth, all kept; after the release 32 MiB - 1 B remain: retention.
    const small = row({ baselineRss: 10 * MiB, peakRss: 60 * MiB, retainedRss: 60 * MiB, releasedRss: 42 * MiB - 1, liveGrowth: 0 });
    expect(diagnose(small).kind).toBe('retention');
    expect(diagnose({ ...small, metrics: { ...small.metrics, releasedRss: { median: 42 * MiB, min: 42 * MiB, max: 42 * MiB } } }).kind).toBe('fragmentation');
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
  it('a row with no complete trial (all failed) gets no verdict at all', () => {
    expect(withVerdict({ ...row({}), trials: 0, failedTrials: 1 }).verdict).toBeUndefined();
    expect(withVerdict(burst(5, 2)).verdict?.kind).toBe('healthy');
  });
});
