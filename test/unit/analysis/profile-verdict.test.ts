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
