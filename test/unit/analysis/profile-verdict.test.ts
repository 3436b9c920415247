// The growth profile next to the verdict (pure): a leak names the site, retention says the
// allocator holds the memory, a disagreement is said, and a leak's forecast is computed.
import { describe, expect, it } from 'vitest';
import { PROFILE_GROWTH_FLOOR, measuredRate, profileReading, withForecast, withProfileEvidence } from '../../../harness/analysis/profile-verdict.js';
import type { SummaryRow, VerdictKind } from '../../../harness/core/types.js';

const MiB = 2 ** 20;
const spread = (v: number) => ({ median: v, min: v, max: v });

/** A hand-built summary row (a fake for these pure functions, not a run). */
function row(kind: VerdictKind, grownBytes: number): SummaryRow {
  return {
    scenario: 'leak', variant: 'jemalloc', allocator: 'jemalloc', trials: 1, failedTrials: 0,
    metrics: { baselineRss: spread(8 * MiB), leakSlope: spread(1638.4), 'throughput.steady': spread(9000), 'throughput.baseline': spread(1000) },
    verdict: { kind, severity: kind === 'healthy' ? 'ok' : 'warning', evidence: { rule: 'x' }, remedy: 'r' },
    profile: { status: 'profiled', tool: 'jeprof', trials: 1, grownBytes, dir: 'profiles/leak' },
    growth: [{ site: 'leaklab::Relay::PendingTable::Leak', bytes: grownBytes, share: 0.97, objects: 900 }],
  };
}

describe('profileReading', () => {
  it('a leak with growth names the top site and its share', () => {
    const r = withProfileEvidence(row('leak', 40 * MiB));
    expect(r.verdict?.evidence.profile).toBe('the growth profile names leaklab::Relay::PendingTable::Leak (97% of 40 MiB grown between the baseline and the release)');
    expect(r.verdict?.evidence.growthSite).toBe('leaklab::Relay::PendingTable::Leak');
    expect(r.verdict?.evidence.profileDisagrees).toBeUndefined();
  });
  it('retention without growth: the allocator holds the memory, not the code', () => {
    expect(profileReading(row('retention', 1 * MiB))).toEqual({ text: 'the growth profile shows no growth in the program\'s live bytes (1 MiB between the dumps): the allocator holds the memory, not the code', disagrees: false });
  });
  it('says so when the profile and the RSS rules disagree, both ways', () => {
    expect(profileReading(row('leak', PROFILE_GROWTH_FLOOR - 1))?.disagrees).toBe(true);
    const healthy = withProfileEvidence(row('healthy', 27 * MiB));
    expect(healthy.verdict?.evidence.profileDisagrees).toBe('yes');
    expect(String(healthy.verdict?.evidence.profile)).toMatch(/disagrees with "healthy": live bytes allocated at leaklab::Relay::PendingTable::Leak/);
  });
  it('says when requests were still in flight at the pre-release dump, and only then', () => {
    const busy = { ...row('leak', 40 * MiB), profile: { status: 'profiled' as const, tool: 'jeprof', trials: 1, grownBytes: 40 * MiB, dir: 'profiles/leak', inFlightAtDump: 12, quietWaitMs: 15000 } };
    expect(profileReading(busy)?.text).toMatch(/names leaklab::Relay::PendingTable::Leak .*\(12 requests were still in flight at the pre-release dump after waiting 15\.0 s: part of the growth may be their buffers\)$/);
    const quiet = { ...busy, profile: { ...busy.profile, inFlightAtDump: 0, quietWaitMs: 40 } };
    expect(profileReading(quiet)?.text).not.toMatch(/in flight/);
  });
  it('a variant that cannot profile is said so', () => {
    const r = { ...row('leak', 0), profile: { status: 'unsupported' as const, reason: 'glibc malloc has no heap profiler' } };
    expect(profileReading(r)).toEqual({ text: 'no growth profile: glibc malloc has no heap profiler', disagrees: false });
  });
});

describe('withForecast', () => {
  it('leak: leakSlope at the measured (highest phase) rate from the baseline RSS', () => {
    const r = withForecast(row('leak', 40 * MiB), { limitBytes: 16 * 2 ** 30 });
    expect(measuredRate(r)).toBe(9000);
    expect(r.forecast).toMatchObject({ rateRps: 9000, rateSource: 'measured', startBytes: 8 * MiB, bytesPerRequest: 1638.4 });
    expect(r.forecast!.secondsToLimit).toBeCloseTo((16 * 2 ** 30 - 8 * MiB) / (1638.4 * 9000), 6);
    expect(r.forecast!.text).toBe('1.6 KiB/request: at 9,000 req/s the limit of 16 GiB is reached in 19 min 25 s');
  });
  it('--rate overrides the measured rate; other verdicts get no forecast', () => {
    expect(withForecast(row('leak', 40 * MiB), { limitBytes: 16 * 2 ** 30, rateRps: 2000 }).forecast?.rateSource).toBe('flag');
    expect(withForecast(row('retention', 0), { limitBytes: 16 * 2 ** 30 }).forecast).toBeUndefined();
  });
});

describe('profileReading, at the edges', () => {
  it('8 MiB grown (docs/profiles.md: a quarter of the 32 MiB leak floor) is growth', () => {
    expect(profileReading(row('leak', 8 * MiB))).toEqual({ text: 'the growth profile names leaklab::Relay::PendingTable::Leak (97% of 8 MiB grown between the baseline and the release)', disagrees: false });
    expect(profileReading(row('leak', 8 * MiB - 1))?.disagrees).toBe(true);
  });
  it('a leak whose profile barely grew: the disagreement says how much, against the 8 MiB', () => {
    expect(profileReading(row('leak', 1 * MiB))).toEqual({
      text: 'the growth profile disagrees: the program\'s live bytes grew only 1 MiB between the dumps (below 8 MiB), so RSS grew for another reason', disagrees: true,
    });
    // Without a growth table at all.
    expect(profileReading({ ...row('leak', 1 * MiB), growth: undefined })?.disagrees).toBe(true);
  });
  it('only retention says the allocator holds the memory', () => {
    expect(profileReading(row('healthy', 1 * MiB))).toEqual({ text: 'the growth profile shows no growth in the program\'s live bytes (1 MiB between the dumps)', disagrees: false });
    expect(profileReading(row('fragmentation', -2 * MiB))?.text).toBe('the growth profile shows no growth in the program\'s live bytes (0 B between the dumps)');
  });
  it('no reading without a profile or a verdict', () => {
    expect(profileReading({ ...row('leak', 40 * MiB), profile: undefined })).toBeNull();
    expect(profileReading({ ...row('leak', 40 * MiB), verdict: undefined })).toBeNull();
  });
});

describe('withProfileEvidence, at the edges', () => {
  it('leaves a row without a profile or a verdict as it is', () => {
    const none = { ...row('leak', 40 * MiB), profile: undefined };
    expect(withProfileEvidence(none)).toBe(none);
    const noVerdict = { ...row('leak', 40 * MiB), verdict: undefined };
    expect(withProfileEvidence(noVerdict)).toBe(noVerdict);
  });
  it('names no growth site when the variant was not profiled, or the profile has no table', () => {
    const unsupported = withProfileEvidence({ ...row('retention', 0), profile: { status: 'unsupported', reason: 'no heap profiler' } });
    expect(unsupported.verdict?.evidence).toEqual({ rule: 'x', profile: 'no growth profile: no heap profiler' });
    const noTable = withProfileEvidence({ ...row('retention', 1 * MiB), growth: undefined });
    expect(noTable.verdict?.evidence.growthSite).toBeUndefined();
    expect(noTable.verdict?.evidence.profileDisagrees).toBeUndefined();
  });
});

describe('measuredRate and withForecast, at the edges', () => {
  it('takes the highest positive phase throughput, and none when no phase served any', () => {
    const r = row('leak', 40 * MiB);
    expect(measuredRate({ ...r, metrics: { 'throughput.a': { median: null, min: null, max: null }, 'throughput.b': spread(0), 'p99.c': spread(5000) } })).toBeNull();
    expect(measuredRate({ ...r, metrics: { 'throughput.a': spread(0), 'throughput.b': spread(300), peakRss: spread(10 * MiB) } })).toBe(300);
  });
  it('gives no forecast without a verdict, a slope or a rate', () => {
    const leak = row('leak', 40 * MiB);
    const noVerdict = { ...leak, verdict: undefined };
    expect(withForecast(noVerdict, { limitBytes: 2 ** 30 })).toBe(noVerdict);
    const noSlope = { ...leak, metrics: { 'throughput.steady': spread(9000) } };
    expect(withForecast(noSlope, { limitBytes: 2 ** 30 })).toBe(noSlope);
    const noRate = { ...leak, metrics: { leakSlope: spread(1638.4) } };
    expect(withForecast(noRate, { limitBytes: 2 ** 30 })).toBe(noRate);
  });
  it('starts from 0 bytes without a baseline RSS', () => {
    const r = withForecast({ ...row('leak', 40 * MiB), metrics: { leakSlope: spread(1024) } }, { limitBytes: 1024 * 1000, rateRps: 10 });
    // 1000 KiB at 1 KiB/request x 10 requests/s: 100 s.
    expect(r.forecast).toMatchObject({ startBytes: 0, secondsToLimit: 100, rateSource: 'flag' });
  });
});

describe('a profile whose trials name different sites (a bug found by mutation testing)', () => {
  it('says the growth and that no site is common, instead of "grew only 40 MiB (below 8 MiB)"', () => {
    const r = withProfileEvidence({ ...row('leak', 40 * MiB), growth: [] });
    expect(r.verdict?.evidence.profile).toBe('the growth profile shows 40 MiB grown between the dumps, but no call site that grew in most trials (their top sites differ): read each trial\'s profile');
    expect(r.verdict?.evidence.profileDisagrees).toBeUndefined();
  });
});
