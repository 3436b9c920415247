// lab compare's logic and output on hand-built summaries.
import { describe, expect, it } from 'vitest';
import { compareMetric, compareRuns } from '../../harness/analysis/compare.js';
import { compareMarkdown, compareTerminal, formatDelta } from '../../harness/report/compare.js';
import { fakeRow } from './fake-run.js';

const MiB = 1024 * 1024;

describe('compareRuns', () => {
  it('shows zero deltas and flags nothing when a run is compared with itself', () => {
    const rows = [fakeRow('glibc', 140), fakeRow('tcmalloc', 490)];
    const c = compareRuns('a', rows, 'a', rows);
    expect(c.missing).toEqual([]);
    const all = c.rows.flatMap((r) => r.metrics);
    expect(all.length).toBeGreaterThan(10);
    expect(all.every((m) => m.delta === 0 && !m.flagged)).toBe(true);
  });

  it('flags a change only beyond both runs\' trial ranges', () => {
    const s = (median: number, min: number, max: number) => ({ median, min, max });
    expect(compareMetric('peakRss', s(100, 90, 110), s(105, 95, 115)).flagged).toBe(false);
    const out = compareMetric('peakRss', s(100, 90, 110), s(130, 120, 140));
    expect(out).toMatchObject({ delta: 30, deltaRatio: 0.3, flagged: true });
    expect(compareMetric('peakRss', s(100, 100, 100), s(100.5, 100.5, 100.5)).flagged).toBe(true);
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
    const text = compareTerminal(c);
    expect(text).toMatch(/glibc\s+│ retainedRss\s+│ MiB\s+│\s+140\.0 │\s+200\.0 │\s+\+60\.0 │\s+\+42\.9% │ ! │/);
    expect(text).toContain('burst / tcmalloc: only in base (base)');
    expect(text).toContain('scenario steady: only in head (head)');
    const md = compareMarkdown(c);
    expect(md).toContain('| glibc | retainedRss | MiB | 140.0 | 200.0 | +60.0 | +42.9% | ⚠ |');
    expect(md).toContain('## Not compared');
  });

  it('shows ratio deltas in percentage points', () => {
    expect(formatDelta('retention', -0.2)).toBe('-20 pp');
    expect(formatDelta('peakRss', 0.01)).toBe('0.0');
  });
});
