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

// Each number below is worked out by hand from the fake row: the burst's baseline is
// 10 MiB and its peak 510 MiB (500 MiB of growth); 100,000 requests served.
describe('the evidence and the rule text', () => {
  it('carries every number the rules read, and the rule', () => {
    const v = diagnose(burst(5, 2, 0, { inUseAfter: 7 * MiB, inUseGrowth: 1 * MiB, repeatGrowthShare: 0.1, retention: 0.01, releaseEfficiency: 0.6 }));
    expect(v.kind).toBe('healthy');
    expect(v.evidence).toEqual({
      baselineRss: 10 * MiB, peakRss: 510 * MiB, retainedRss: 15 * MiB, releasedRss: 12 * MiB,
      liveAfter: 0, liveGrowth: 0, inFlightAfter: 0, inUseAfter: 7 * MiB, inUseGrowth: 1 * MiB, leakSlope: 0,
      lateGrowthShare: 0.5, repeatGrowthShare: 0.1, retention: 0.01, releaseEfficiency: 0.6, keptAfterIdle: 5 * MiB,
      rule: 'inFlightAfter 0.0 MiB < 32.0 MiB; program growth 0.0 MiB < 32.0 MiB; kept beyond the program 5.0 MiB < 32.0 MiB',
    });
  });

  it('names each missing RSS level alone, as a warning', () => {
    for (const missing of ['baselineRss', 'peakRss', 'retainedRss']) {
      const metrics: Record<string, number | null> = { baselineRss: 10 * MiB, peakRss: 500 * MiB, retainedRss: 100 * MiB, [missing]: null };
      const v = diagnose(row(metrics));
      expect(v.kind, missing).toBe('inconclusive');
      expect(v.severity, missing).toBe('warning');
      expect(v.evidence.rule, missing).toBe(`${missing} not measured`);
      expect(v.remedy, missing).toBe(`no RSS level was measured for ${missing} (the RSS samples of that point are missing: the sampler failed, or the trial ended before it), so no rule can be read. Run it again and look at the trial's errors`);
    }
    expect(diagnose(row({})).evidence.rule).toBe('baselineRss, peakRss, retainedRss not measured');
  });

  it('an undrained load is a warning', () => {
    expect(diagnose(burst(130, 125, 123, { inFlightAfter: 123 * MiB })).severity).toBe('warning');
  });

  it('growth per unit of work missing: a warning, with the program\'s growth in the evidence', () => {
    const v = diagnose(target(300, 300, 290, null));
    expect(v.severity).toBe('warning');
    expect(v.evidence.programGrowth).toBe(290 * MiB);
  });

  it('a release that returned a few bytes less than nothing reads 0.0 MiB, not -0.0', () => {
    // RSS rose 0.01 MiB across the release (300 -> 300.01 MiB).
    const v = diagnose(target(300, 300.01, null, null, 'mimalloc'));
    expect(v.evidence.rule).toContain('returned by the release 0.0 MiB < 150.0 MiB');
  });

  it('a subject without a program count and a release that returned little: the rule says what was read', () => {
    // 400 MiB of growth, 300 MiB kept, the release returned 20 MiB: under half of 300 (150 MiB).
    const v = diagnose(target(300, 280, null, null, 'mimalloc'));
    expect(v.severity).toBe('warning');
    expect(v.evidence.rule).toBe('kept after the idle (program bytes not measured) 300.0 MiB >= 32.0 MiB; kept / peak growth 0.75 >= 0.10; returned by the release 20.0 MiB < 150.0 MiB; program in-use bytes not measured');
    expect([v.evidence.keptAfterIdle, v.evidence.returnedByRelease]).toEqual([300 * MiB, 20 * MiB]);
  });

  it('no release: the remedy says to add one, the evidence what was kept', () => {
    const v = diagnose(burst(300, 0, 0, { releasedRss: null }));
    expect(v.severity).toBe('warning');
    expect(v.remedy).toBe('RSS kept 300.0 MiB after the idle, but no release was measured, so memory the allocator could return cannot be told from memory pinned between live objects. Add a phase with actions: [\'release\'] after the idle');
    expect(v.evidence.keptAfterIdle).toBe(300 * MiB);
    expect(v.evidence.rule).toBe('inFlightAfter 0.0 MiB < 32.0 MiB; program growth 0.0 MiB < 32.0 MiB; kept beyond the program 300.0 MiB >= 32.0 MiB; kept / peak growth 0.60 >= 0.10; no release measured');
  });

  it('fragmentation: the rule, the remedy of lifetime separation, the excess as a share of the growth', () => {
    // Program 20 MiB; after the release 200 MiB above baseline: 180 MiB beyond the program, 36% of 500.
    const v = diagnose(burst(400, 200, 20, { lateGrowthShare: 0 }));
    expect(v.kind).toBe('fragmentation');
    expect(v.severity).toBe('warning');
    expect(v.remedy).toBe('free memory is pinned between live objects: keep long-lived small objects apart from short-lived large buffers (a separate arena or pool per lifetime), or use an allocator that segregates size classes');
    expect(v.evidence.excessFraction).toBeCloseTo(0.36, 12);
    expect(v.evidence.rule).toBe('inFlightAfter 0.0 MiB < 32.0 MiB; program growth 20.0 MiB < 32.0 MiB; kept beyond the program 380.0 MiB >= 32.0 MiB; '
      + 'kept / peak growth 0.76 >= 0.10; releasedRss - baselineRss - program bytes 180.0 MiB >= 32.0 MiB; that / peak growth 0.36 >= 0.25');
  });

  it('retention: the kept share and what the release returned', () => {
    const v = diagnose(burst(490, 2));
    expect(v.evidence.keptFraction).toBeCloseTo(0.98, 12);
    expect(v.evidence.returnedByRelease).toBe(488 * MiB);
  });

  it('held by the program: the remedy with the share of the kept RSS, and the evidence', () => {
    // 280 of the 300 MiB kept are the program's (93%); 280 MiB / 100,000 requests = 2936 B/request.
    const v = diagnose(burst(300, 282, 280, { lateGrowthShare: 0 }));
    expect(v.kind).toBe('held-by-program');
    expect(v.remedy).toBe('the program itself still uses 280.0 MiB after the load stopped (93% of the 300.0 MiB RSS kept), and it stopped growing with the work: a cache, pool or buffer inside the program, not the allocator. '
      + 'Bound or shrink it (size limit, expiry, shrink on idle); a release call cannot return memory still in use');
    expect(v.evidence).toMatchObject({ programGrowth: 280 * MiB, keptAfterIdle: 300 * MiB, heldByProgram: 280 * MiB });
    expect(v.evidence.heldFraction).toBeCloseTo(280 / 300, 12);
    expect(v.evidence.rule).toBe('inFlightAfter 0.0 MiB < 32.0 MiB; program growth 280.0 MiB >= 32.0 MiB; lateGrowthShare 0.00 < 0.20; '
      + 'growth per request 2936 B/request >= 16 B/request; program growth / (retainedRss - baselineRss) 0.93 >= 0.50');
  });

  it('nothing grew: healthy, and no share of a growth is read', () => {
    const v = diagnose(row({ baselineRss: 10 * MiB, peakRss: 10 * MiB, retainedRss: 10 * MiB, releasedRss: 10 * MiB, liveGrowth: 0 }));
    expect(v.kind).toBe('healthy');
    expect(v.evidence.rule).toBe('program growth 0.0 MiB < 32.0 MiB');
  });

  it('program bytes that grew while RSS kept nothing above baseline: healthy, not held', () => {
    const v = diagnose(burst(0, 0, 40, { lateGrowthShare: 0 }));
    expect(v.kind).toBe('healthy');
    expect(v.evidence.rule).toBe('inFlightAfter 0.0 MiB < 32.0 MiB; program growth 40.0 MiB >= 32.0 MiB; lateGrowthShare 0.00 < 0.20; '
      + 'growth per request 419 B/request >= 16 B/request; kept beyond the program -40.0 MiB < 32.0 MiB');
  });
});

describe('the program\'s growth and growth per request', () => {
  it('takes liveGrowth before liveAfter, and liveAfter before the allocator\'s in-use growth', () => {
    expect(diagnose(burst(80, 80, 0, { liveGrowth: 40 * MiB, liveAfter: 70 * MiB, leakSlope: 64 })).evidence.programGrowth).toBe(40 * MiB);
    const v = diagnose(burst(80, 80, 0, { liveGrowth: null, liveAfter: 50 * MiB, inUseGrowth: 10 * MiB, leakSlope: 64 }));
    expect(v.kind).toBe('leak');
    expect(v.evidence.programGrowth).toBe(50 * MiB);
  });

  it('without leakSlope, divides the growth by the requests served', () => {
    // 40 MiB / 1,000,000 requests = 41.9 B/request: a leak; over 4,000,000 requests, 10.5: not one.
    const v = diagnose(burst(45, 45, 40, { leakSlope: null, requestsServed: 1_000_000 }));
    expect(v.kind).toBe('leak');
    expect(v.evidence.leakSlope).toBeCloseTo((40 * MiB) / 1_000_000, 9);
    expect(v.remedy).toContain('the program\'s bytes grow 42 B per request served');
    expect(diagnose(burst(45, 45, 40, { leakSlope: null, requestsServed: 4_000_000 })).kind).toBe('held-by-program');
  });

  it('has no growth per request without the program\'s growth', () => {
    const v = diagnose(row({ baselineRss: 10 * MiB, peakRss: 20 * MiB, retainedRss: 10 * MiB, releasedRss: 10 * MiB, requestsServed: 1000 }));
    expect(v.kind).toBe('healthy');
    expect(v.evidence.leakSlope).toBeNull();
  });

  it('no request served: no growth per request is read, and the remedy gives the growth over the run', () => {
    const v = diagnose(burst(45, 45, 40, { leakSlope: null, requestsServed: 0 }));
    expect(v.kind).toBe('leak');
    expect(v.evidence.rule).not.toContain('growth per request');
    expect(v.remedy).toContain('grow 40.0 MiB over the run');
    expect(v.remedy).not.toContain('per request');
  });

  it('a leak needs the release to leave 32 MiB; without a release measured it is still a leak', () => {
    const after = (bytes: number) => burst(45, 0, 40, { leakSlope: 64, releasedRss: 10 * MiB + bytes });
    expect(diagnose(after(32 * MiB)).kind).toBe('leak');
    // The release took RSS back under baseline + 32 MiB: the allocator kept 45 - 40 = 5 MiB beyond the program.
    expect(diagnose(after(32 * MiB - 1)).kind).toBe('healthy');
    const v = diagnose(burst(45, 0, 40, { leakSlope: 64, releasedRss: null }));
    expect(v.kind).toBe('leak');
    expect(v.evidence.rule).toBe('inFlightAfter 0.0 MiB < 32.0 MiB; program growth 40.0 MiB >= 32.0 MiB; lateGrowthShare 0.50 >= 0.20; growth per request 64 B/request >= 16 B/request');
  });
});

describe('an allocator the lab could not name (a target\'s unknown)', () => {
  it('gets the generic release advice', () => {
    const v = diagnose(burst(490, 2, 0, {}, 'unknown'));
    expect(v.kind).toBe('retention');
    expect(v.remedy).toBe('the allocator kept 490.0 MiB (98% of the peak\'s growth) of freed memory after the idle. The release call returned 488.0 MiB. '
      + 'Call the allocator\'s release function when idle, or tune it to return freed pages sooner.');
  });
  it('and, after a release that returned little, the generic pointer to its manual', () => {
    // 160 MiB kept, 60 of them the program's (levelled off, 38%): the allocator keeps 100 MiB (20%); the release returned 10.
    const v = diagnose(burst(160, 150, 60, { lateGrowthShare: 0 }, 'unknown'));
    expect(v.kind).toBe('retention');
    expect(v.remedy).toBe('the allocator kept 100.0 MiB (20% of the peak\'s growth) of freed memory after the idle. The release call returned only 10.0 MiB of it, so it is not the remedy here. '
      + 'See the allocator\'s manual for the settings that return free memory sooner.');
  });
});

describe('withVerdict', () => {
  it('leaves a row with no complete trial as it is', () => {
    const failed = { ...row({ peakRss: null }), trials: 0, failedTrials: 2 };
    expect(withVerdict(failed)).toEqual(failed);
  });
});

describe('the leak remedy names the measure it read', () => {
  it('growth late in the load (built-in load, no request count): "in the second half of the load"', () => {
    const v = diagnose(row({ baselineRss: 10 * MiB, peakRss: 110 * MiB, retainedRss: 100 * MiB, releasedRss: 100 * MiB, liveGrowth: 80 * MiB, lateGrowthShare: 0.5 }));
    expect(v.kind).toBe('leak');
    expect(v.remedy).toContain('80.0 MiB over the run, 50% of it in the second half of the load');
  });
});

describe('the ledger\'s largest pool in the verdict', () => {
  it('retention names the pool that held most of the free memory, with its documented remedy', () => {
    const row = target(300, 20, 0, 0, 'tcmalloc');
    row.metrics['pool.pageheapFree'] = { median: 250 * MiB, min: 250 * MiB, max: 250 * MiB };
    row.metrics['pool.threadCaches'] = { median: 30 * MiB, min: 30 * MiB, max: 30 * MiB };
    row.metrics['pool.metadata'] = { median: 400 * MiB, min: 400 * MiB, max: 400 * MiB };
    const v = diagnose(row);
    expect(v.kind).toBe('retention');
    expect(v.evidence.dominantPool).toBe('pageheapFree');
    expect(v.evidence.dominantPoolBytes).toBe(250 * MiB);
    expect(v.remedy).toContain('Most of it sat in tcmalloc page heap free (250.0 MiB): MallocExtension::instance()->ReleaseFreeMemory() returns it');
  });

  it('without a ledger the verdict names no pool', () => {
    const v = diagnose(target(300, 20, 0, 0, 'tcmalloc'));
    expect(v.evidence.dominantPool).toBeUndefined();
    expect(v.remedy).not.toContain('Most of it sat');
  });
});

describe('whole free pages (arena tops, page heap, dirty pages) are retention, not fragmentation', () => {
  const m = (mib: number) => ({ median: mib * MiB, min: mib * MiB, max: mib * MiB });
  // Kept 200 MiB; the release returned nothing; nothing in use: without a ledger by arena this is fragmentation.
  const kept = () => target(200, 200, 0, 0, 'glibc');

  it('what stayed after the release sat in thread-arena tops: retention, the release not the remedy, the tops named', () => {
    const r = kept();
    r.metrics['pool.threadTops'] = m(180);
    r.metrics['pool.mainTop'] = m(0.5);
    r.metrics['pool.threadBins'] = m(19);
    const v = diagnose(r);
    expect(v.kind).toBe('retention');
    expect(v.evidence.rule).toContain('in whole free pages before the release (tops, page heap, dirty) / that 0.90 >= 0.50');
    expect(v.remedy).toContain('The release call returned only 0.0 MiB of it, so it is not the remedy here');
    expect(v.remedy).toContain('Most of it sat in glibc thread arena tops (180.0 MiB): malloc_trim does not trim thread-arena tops');
  });

  it('at the threshold: half in tops is retention; just under half is fragmentation', () => {
    const at = kept();
    at.metrics['pool.threadTops'] = m(100);
    expect(diagnose(at).kind).toBe('retention');
    const under = kept();
    under.metrics['pool.threadTops'] = m(99);
    under.metrics['pool.threadBins'] = m(101);
    const v = diagnose(under);
    expect(v.kind).toBe('fragmentation');
    expect(v.evidence.rule).toContain('in whole free pages before the release (tops, page heap, dirty) / that 0.49 < 0.50');
    expect(v.evidence.dominantPool).toBe('threadBins');
  });

  it('without a ledger by arena (fordblks only) nothing about free pages is claimed', () => {
    const r = kept();
    r.metrics['pool.fordblks'] = m(200);
    const v = diagnose(r);
    expect(v.kind).toBe('fragmentation');
    expect(v.evidence.rule).not.toContain('whole free pages');
  });

  it('jemalloc: dirty pages a purge did not return (it collided with the background thread) are retention; slabs with free regions are fragmentation', () => {
    // Measured on Redis (redis-flush, 1 run in 6): 101.5 MiB dirty before MEMORY PURGE, 88 MiB still kept after it.
    const dirty = target(200, 200, 0, 0, 'jemalloc');
    dirty.metrics['pool.dirtyMuzzy'] = m(190);
    dirty.metrics['pool.activeMinusAllocated'] = m(2);
    const v = diagnose(dirty);
    expect(v.kind).toBe('retention');
    expect(v.evidence.dominantPool).toBe('dirtyMuzzy');
    const slabs = target(200, 200, 0, 0, 'jemalloc');
    slabs.metrics['pool.dirtyMuzzy'] = m(0);
    slabs.metrics['pool.activeMinusAllocated'] = m(190);
    expect(diagnose(slabs).kind).toBe('fragmentation');
  });

  it('tcmalloc: free objects in the central cache are fragmentation even beside a page heap under half of it', () => {
    const r = target(200, 200, 0, 0, 'tcmalloc');
    r.metrics['pool.pageheapFree'] = m(60);
    r.metrics['pool.centralCache'] = m(140);
    const v = diagnose(r);
    expect(v.kind).toBe('fragmentation');
    expect(v.evidence.rule).toContain('that 0.30 < 0.50');
  });
});
