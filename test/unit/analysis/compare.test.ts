// lab compare's judgement (harness/analysis/compare.ts) on hand-built spreads and summary
// rows (fakes: no run, no file). The rules are docs/reports.md's ("lab compare"): with 2+
// trials on both sides a change is flagged when the trial ranges (min-max) do not overlap;
// with fewer, when it exceeds the single-trial noise floor, for bytes max(8%, 4 MiB).
import { describe, expect, it } from 'vitest';
import { compareMetric, compareRuns, noiseFloor, ruleFor } from '../../../harness/analysis/compare.js';
import type { Spread, SummaryRow, VerdictKind } from '../../../harness/core/types.js';

const MiB = 1024 * 1024;
const s = (median: number | null, min: number | null, max: number | null): Spread => ({ median, min, max });
const one = (v: number) => s(v, v, v);

/** A fake summary row. */
function row(scenario: string, variant: string, metrics: Record<string, Spread>, trials = 3, verdict?: VerdictKind): SummaryRow {
  return {
    scenario, variant, allocator: variant as SummaryRow['allocator'], trials, failedTrials: 0, metrics,
    ...(verdict ? { verdict: { kind: verdict, severity: 'warning' as const, evidence: {}, remedy: '' } } : {}),
  };
}

describe('ruleFor', () => {
  it('judges by trial ranges from 2 trials on each side, else by the noise floor', () => {
    expect([ruleFor(2, 2), ruleFor(3, 5), ruleFor(1, 2), ruleFor(2, 1), ruleFor(1, 1)]).toEqual(['range', 'range', 'floor', 'floor', 'floor']);
  });
});

describe('compareMetric by trial ranges', () => {
  it('is the default rule', () => {
    expect(compareMetric('peakRss', s(100, 90, 110), s(130, 120, 140)).flagged).toBe(true);
    expect(compareMetric('peakRss', s(100, 90, 110), s(130, 105, 140)).flagged).toBe(false);
  });
  it('flags ranges apart, up or down, and not ranges that overlap or touch, wherever the medians are', () => {
    const flagged = (base: Spread, head: Spread) => compareMetric('peakRss', base, head, 'range').flagged;
    expect(flagged(s(100, 90, 110), s(80, 70, 89))).toBe(true);  // head below base
    expect(flagged(s(100, 90, 110), s(80, 70, 90))).toBe(false);  // touches base's min
    expect(flagged(s(100, 90, 110), s(120, 110, 130))).toBe(false);  // touches base's max
    expect(flagged(s(100, 90, 110), s(130, 105, 140))).toBe(false);  // medians apart, ranges overlap
    expect(flagged(s(100, 90, 120), s(115, 112, 130))).toBe(false);
  });
  it('reads a spread without min and max as its median', () => {
    expect(compareMetric('peakRss', s(100, null, null), s(130, null, null), 'range').flagged).toBe(true);
    expect(compareMetric('peakRss', s(100, null, null), s(130, 100, 130), 'range').flagged).toBe(false);
  });
});

describe('compareMetric by the noise floor', () => {
  it('flags a change beyond the floor, not one exactly at it', () => {
    // 8% of 200 MiB = 16 MiB (over the 4 MiB absolute floor).
    expect(noiseFloor('peakRss', 200 * MiB)).toBe(16 * MiB);
    expect(compareMetric('peakRss', one(200 * MiB), one(216 * MiB), 'floor').flagged).toBe(false);
    expect(compareMetric('peakRss', one(200 * MiB), one(216 * MiB + 1), 'floor').flagged).toBe(true);
    expect(compareMetric('peakRss', one(200 * MiB), one(184 * MiB - 1), 'floor').flagged).toBe(true);
  });
});

describe('compareMetric deltas', () => {
  it('gives head - base of the medians, and the change as a fraction of |base|', () => {
    expect(compareMetric('releaseMs', one(-40), one(-30), 'floor')).toMatchObject({ delta: 10, deltaRatio: 0.25 });
    expect(compareMetric('peakRss', one(100), one(100), 'range')).toEqual({ metric: 'peakRss', base: one(100), head: one(100), delta: 0, deltaRatio: 0, flagged: false });
  });
  it('has no ratio from a base of 0, and no delta when a side has no value', () => {
    expect(compareMetric('policyReleases', one(0), one(3), 'floor')).toMatchObject({ delta: 3, deltaRatio: null, flagged: true });
    for (const rule of ['range', 'floor'] as const) {
      expect(compareMetric('peakRss', null, one(5), rule), rule).toEqual({ metric: 'peakRss', base: null, head: one(5), delta: null, deltaRatio: null, flagged: false });
      expect(compareMetric('peakRss', one(5), null, rule), rule).toEqual({ metric: 'peakRss', base: one(5), head: null, delta: null, deltaRatio: null, flagged: false });
      expect(compareMetric('peakRss', s(null, null, null), one(5), rule), rule).toMatchObject({ delta: null, deltaRatio: null, flagged: false });
      expect(compareMetric('peakRss', one(5), s(null, null, null), rule), rule).toMatchObject({ delta: null, deltaRatio: null, flagged: false });
    }
  });
});

describe('compareRuns', () => {
  it('orders metrics as docs/metrics.md lists them, then the others in the order first seen', () => {
    const base = row('burst', 'glibc', { 'p99.burst': one(1), peakRss: one(2), 'rssEnd.idle': one(3), baselineRss: one(4), 'throughput.burst': one(5) });
    const head = row('burst', 'glibc', { 'p50.burst': one(6), retention: one(0.5) });
    expect(compareRuns('a', [base], 'b', [head]).rows[0]!.metrics.map((m) => m.metric))
      .toEqual(['baselineRss', 'peakRss', 'retention', 'p99.burst', 'rssEnd.idle', 'throughput.burst', 'p50.burst']);
  });

  it('compares each scenario x variant present on both sides, and lists the others by side', () => {
    const c = compareRuns('base-run', [
      row('burst', 'glibc', { peakRss: one(100) }, 3, 'retention'),
      row('burst', 'jemalloc', { peakRss: one(100) }),
      row('leak', 'glibc', { peakRss: one(100) }),
    ], 'head-run', [
      row('burst', 'glibc', { peakRss: one(120) }, 1, 'healthy'),
      row('burst', 'tcmalloc', { peakRss: one(100) }),
      row('steady', 'mimalloc', { peakRss: one(100) }),
    ]);
    expect([c.base, c.head]).toEqual(['base-run', 'head-run']);
    expect(c.rows.map((r) => [r.scenario, r.variant, r.baseTrials, r.headTrials, r.rule, r.baseVerdict, r.headVerdict])).toEqual([
      ['burst', 'glibc', 3, 1, 'floor', 'retention', 'healthy'],
    ]);
    expect(c.missing).toEqual([
      { scenario: 'burst', variant: 'jemalloc', onlyIn: 'base' },
      { scenario: 'burst', variant: 'tcmalloc', onlyIn: 'head' },
      { scenario: 'leak', variant: null, onlyIn: 'base' },
      { scenario: 'steady', variant: null, onlyIn: 'head' },
    ]);
  });

  it('has no verdicts on rows without one', () => {
    const c = compareRuns('a', [row('burst', 'glibc', { peakRss: one(1) })], 'b', [row('burst', 'glibc', { peakRss: one(1) })]);
    expect([c.rows[0]!.baseVerdict, c.rows[0]!.headVerdict, c.rows[0]!.rule]).toEqual([null, null, 'range']);
  });
});
