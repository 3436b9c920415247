// lab compare's logic and output on hand-built summaries (fake runs: no process, no file).
import { describe, expect, it } from 'vitest';
import { NOISE_FLOORS, compareMetric, compareRuns, noiseFloor } from '../../../harness/analysis/compare.js';
import { compareMarkdown, compareTerminal, floorRuleText, formatDelta, formatDeltaPercent } from '../../../harness/report/compare.js';
import type { SummaryRow } from '../../../harness/core/types.js';
import { fakeRow } from './fake-run.js';

const MiB = 1024 * 1024;
const one = (median: number) => ({ median, min: median, max: median });

/** A one-trial row: the shape of a default `lab run` (scenarios run one trial). */
function singleTrial(variant: 'glibc' | 'tcmalloc', m: Record<string, number>, verdict: 'healthy' | 'retention'): SummaryRow {
  return {
    scenario: 'burst', variant, allocator: variant, trials: 1, failedTrials: 0,
    metrics: Object.fromEntries(Object.entries(m).map(([k, v]) => [k, one(v)])),
    verdict: { kind: verdict, severity: verdict === 'healthy' ? 'ok' : 'warning', evidence: {}, remedy: '' },
  };
}

describe('formatDelta and formatDeltaPercent', () => {
  it('keep the sign of small changes, negative and positive', () => {
    expect(formatDelta('retainedRss', -0.2 * MiB)).toBe('-0.2');
    expect(formatDelta('retainedRss', 0.2 * MiB)).toBe('+0.2');
    expect(formatDelta('peakLive', -2.2 * MiB)).toBe('-2.2');
    expect(formatDeltaPercent(-0.0017)).toBe('-0.2%');
    expect(formatDeltaPercent(0.0048)).toBe('+0.5%');
    expect(formatDeltaPercent(-0.005)).toBe('-0.5%');
    expect(formatDelta('releaseMs', -0.4)).toBe('-0.4');
    expect(formatDelta('retention', 0.04)).toBe('+4 pp');
  });

  it('print zero, and values that round to zero, without a sign', () => {
    expect(formatDelta('peakRss', 0)).toBe('0.0');
    expect(formatDelta('peakRss', 0.01 * MiB)).toBe('0.0');
    expect(formatDelta('peakRss', -0.04 * MiB)).toBe('0.0');
    expect(formatDeltaPercent(0)).toBe('0.0%');
    expect(formatDeltaPercent(-0.0004)).toBe('0.0%');
    expect(formatDelta('retention', -0.004)).toBe('0 pp');
    expect(formatDelta('peakRss', null)).toBe('-');
    expect(formatDeltaPercent(null)).toBe('-');
  });

  it('keep large values signed', () => {
    expect(formatDelta('retention', -0.2)).toBe('-20 pp');
    expect(formatDelta('peakRss', 60 * MiB)).toBe('+60.0');
    expect(formatDeltaPercent(-1.5)).toBe('-150.0%');
    expect(formatDeltaPercent(10)).toBe('+1000.0%');
  });
});

describe('compareMetric', () => {
  it('with 2+ trials each side, flags a change only beyond both runs\' trial ranges', () => {
    const s = (median: number, min: number, max: number) => ({ median, min, max });
    expect(compareMetric('peakRss', s(100, 90, 110), s(105, 95, 115), 'range').flagged).toBe(false);
    const out = compareMetric('peakRss', s(100, 90, 110), s(130, 120, 140), 'range');
    expect(out).toMatchObject({ delta: 30, deltaRatio: 0.3, flagged: true });
  });

  it('with one trial, flags bytes only beyond max(8%, 4 MiB)', () => {
    expect(NOISE_FLOORS.bytes).toEqual({ relative: 0.08, absolute: 4 * MiB });
    // the case: a 0.2 MiB change of 116.6 MiB is noise
    expect(compareMetric('retainedRss', one(116.6 * MiB), one(116.4 * MiB), 'floor').flagged).toBe(false);
    // 8% of 200 MiB = 16 MiB: +15.9 is noise, -16.1 is not
    expect(noiseFloor('peakRss', 200 * MiB)).toBe(16 * MiB);
    expect(compareMetric('peakRss', one(200 * MiB), one(215.9 * MiB), 'floor').flagged).toBe(false);
    expect(compareMetric('peakRss', one(200 * MiB), one(183.9 * MiB), 'floor').flagged).toBe(true);
    // small values: the 4 MiB floor holds (5.3 -> 8.3 MiB is +57% but within noise)
    expect(compareMetric('releasedRss', one(5.3 * MiB), one(8.3 * MiB), 'floor').flagged).toBe(false);
    expect(compareMetric('releasedRss', one(5.3 * MiB), one(9.5 * MiB), 'floor').flagged).toBe(true);
  });

  it('with one trial, holds ratios to percentage points and times to their own floor', () => {
    expect(compareMetric('retention', one(0.9), one(0.85), 'floor').flagged).toBe(false);
    expect(compareMetric('retention', one(0.1), one(0.95), 'floor').flagged).toBe(true);
    const msFloor = noiseFloor('releaseMs', 40);
    expect(compareMetric('releaseMs', one(40), one(40 + msFloor * 0.9), 'floor').flagged).toBe(false);
    expect(compareMetric('releaseMs', one(40), one(40 + msFloor * 1.1), 'floor').flagged).toBe(true);
  });
});

describe('compareRuns', () => {
  it('shows zero deltas and flags nothing when a run is compared with itself', () => {
    const rows = [fakeRow('glibc', 140), fakeRow('tcmalloc', 490)];
    const c = compareRuns('a', rows, 'a', rows);
    expect(c.missing).toEqual([]);
    const all = c.rows.flatMap((r) => r.metrics);
    expect(all.length).toBeGreaterThan(10);
    expect(all.every((m) => m.delta === 0 && !m.flagged)).toBe(true);
    expect(c.rows.map((r) => r.rule)).toEqual(['range', 'range']);
  });

  it('uses the noise floor when either side has fewer than 2 trials', () => {
    const three = fakeRow('glibc', 140);
    const single = { ...fakeRow('glibc', 140.3), trials: 1 };
    const c = compareRuns('a', [three], 'b', [single]);
    expect(c.rows[0]!.rule).toBe('floor');
    expect(c.rows[0]!.metrics.find((m) => m.metric === 'retainedRss')!.flagged).toBe(false);
  });

  it('lists scenarios and variants found on one side only, and compares the rest', () => {
    const other = { ...fakeRow('glibc', 140), scenario: 'steady' };
    const c = compareRuns('base', [fakeRow('glibc', 140), fakeRow('tcmalloc', 490)], 'head', [fakeRow('glibc', 200), other]);
    expect(c.missing).toEqual([
      { scenario: 'burst', variant: 'tcmalloc', onlyIn: 'base' },
      { scenario: 'steady', variant: null, onlyIn: 'head' },
    ]);
    const retained = c.rows[0]!.metrics.find((m) => m.metric === 'retainedRss')!;
    expect(retained.delta).toBe(60 * MiB);
    expect(retained.flagged).toBe(true);
    const text = compareTerminal(c, false, true);
    expect(text).toMatch(/glibc\s+│ retainedRss\s+│ MiB\s+│\s+140\.0 │\s+200\.0 │\s+\+60\.0 │\s+\+42\.9% │ ! │/);
    expect(text).toContain('burst / tcmalloc: only in base (base)');
    expect(text).toContain('scenario steady: only in head (head)');
    const md = compareMarkdown(c);
    expect(md).toContain('| glibc | retainedRss | MiB | 140.0 | 200.0 | +60.0 | +42.9% | ⚠ |');
    expect(md).toContain('## Not compared');
  });
});

describe('compare output', () => {
  // Two single-trial runs of the same commit, as in the issue: a verdict change, small
  // changes either way, one real change.
  const base = [
    singleTrial('glibc', { baselineRss: 4 * MiB, peakRss: 480 * MiB, peakLive: 456.7 * MiB, retainedRss: 116.6 * MiB, releasedRss: 5.3 * MiB, releaseMs: 20 }, 'healthy'),
    singleTrial('tcmalloc', { baselineRss: 4 * MiB, peakRss: 490 * MiB, peakLive: 456 * MiB, retainedRss: 489 * MiB, releasedRss: 10.9 * MiB, releaseMs: 40 }, 'retention'),
  ];
  const head = [
    singleTrial('glibc', { baselineRss: 4 * MiB, peakRss: 481 * MiB, peakLive: 454.5 * MiB, retainedRss: 116.4 * MiB, releasedRss: 5.3 * MiB, releaseMs: 21 }, 'retention'),
    singleTrial('tcmalloc', { baselineRss: 4 * MiB, peakRss: 430 * MiB, peakLive: 456 * MiB, retainedRss: 430 * MiB, releasedRss: 10.7 * MiB, releaseMs: 41 }, 'retention'),
  ];
  const c = compareRuns('base-run', base, 'head-run', head);

  it('leads with one headline row per variant: verdict, peak, retained, released with signed deltas', () => {
    const text = compareTerminal(c);
    const lines = text.split('\n');
    const glibc = lines.findIndex((l) => /│ glibc /.test(l));
    const tcmalloc = lines.findIndex((l) => /│ tcmalloc /.test(l));
    expect(lines[glibc]).toMatch(/│ glibc\s+│ healthy -> retention ! │\s+480\.0 -> 481\.0 \(\+1\.0, \+0\.2%\) │\s+116\.6 -> 116\.4 \(-0\.2, -0\.2%\) │\s+5\.3 -> 5\.3 \(0\.0, 0\.0%\) │/);
    expect(lines[tcmalloc]).toMatch(/│ tcmalloc\s+│ retention\s+│\s+490\.0 -> 430\.0 \(-60\.0, -12\.2%\) ! │\s+489\.0 -> 430\.0 \(-59\.0, -12\.1%\) ! │\s+10\.9 -> 10\.7 \(-0\.2, -1\.8%\) │/);
    // with --all, the headline still comes first, the metric table after it
    const all = compareTerminal(c, false, true).split('\n');
    expect(all.findIndex((l) => /│ glibc\s+│ healthy/.test(l))).toBeLessThan(all.indexOf('every metric:'));
  });

  it('states the rule in the header and flags only changes beyond it', () => {
    const text = compareTerminal(c);
    expect(text.split('\n')[1]).toBe(`! = flag rule (fewer than 2 trials on a side): ${floorRuleText()}`);
    expect(floorRuleText()).toContain('bytes max(8%, 4 MiB)');
    const flagged = c.rows.flatMap((r) => r.metrics.filter((m) => m.flagged).map((m) => `${r.variant}.${m.metric}`));
    expect(flagged).toEqual(['tcmalloc.peakRss', 'tcmalloc.retainedRss']);
    expect(text).toContain('2 changes flagged of 12 metrics compared; --all shows every metric');
    // without --all no other metric is flagged, so no per-metric table
    expect(text).not.toContain('peakLive');
    const all = compareTerminal(c, false, true);
    expect(all).toMatch(/glibc\s+│ peakLive\s+│ MiB\s+│\s+456\.7 │\s+454\.5 │\s+-2\.2 │\s+-0\.5% │\s+│/);
  });

  it('shows flagged metrics beyond the headline without --all', () => {
    const h2 = head.map((r) => (r.variant === 'glibc' ? { ...r, metrics: { ...r.metrics, releaseMs: one(200) } } : r));
    const text = compareTerminal(compareRuns('a', base, 'b', h2));
    expect(text).toContain('other metrics flagged:');
    expect(text).toMatch(/glibc\s+│ releaseMs\s+│ ms\s+│\s+20\.0 │\s+200\.0 │\s+\+180\.0 │\s+\+900\.0% │ ! │/);
    expect(text).not.toContain('peakLive');
  });

  it('in Markdown, leads with the headline table and folds every metric under <details>', () => {
    const md = compareMarkdown(c);
    expect(md).toContain('⚠ = flag rule (fewer than 2 trials on a side): ');
    const headline = md.indexOf('| variant | verdict | peak MiB | retained MiB | released MiB |');
    const details = md.indexOf('<details><summary>All 12 metrics (2 flagged)</summary>');
    expect(headline).toBeGreaterThan(0);
    expect(details).toBeGreaterThan(headline);
    expect(md).toContain('| glibc | healthy → retention ⚠ | 480.0 → 481.0 (+1.0, +0.2%) | 116.6 → 116.4 (-0.2, -0.2%) | 5.3 → 5.3 (0.0, 0.0%) |');
    expect(md).toContain('| tcmalloc | retention | 490.0 → 430.0 (-60.0, -12.2%) ⚠ | 489.0 → 430.0 (-59.0, -12.1%) ⚠ | 10.9 → 10.7 (-0.2, -1.8%) |');
    expect(md).toContain('| glibc | peakLive | MiB | 456.7 | 454.5 | -2.2 | -0.5% |  |');
    expect(md.indexOf('| glibc | peakLive |')).toBeGreaterThan(details);
    expect(md).toContain('</details>');
  });

  it('names both rules when the variants were judged differently', () => {
    const mixed = compareRuns('a', [fakeRow('glibc', 140), fakeRow('tcmalloc', 490)], 'b', [fakeRow('glibc', 141), { ...fakeRow('tcmalloc', 490), trials: 1 }]);
    const text = compareTerminal(mixed);
    expect(text).toContain('! = flag rule for burst/glibc (3 vs 3 trials): the trial ranges (min-max) of base and head do not overlap');
    expect(text).toContain('! = flag rule for burst/tcmalloc (3 vs 1 trials): the change exceeds the single-trial noise floor');
  });
});
