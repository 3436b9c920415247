// Terminal and CSV reporters on a hand-built summary (no run involved).
import { describe, expect, it } from 'vitest';
import { summaryCsv } from '../../../harness/report/csv.js';
import { resampleMax, rssCharts, summaryTable } from '../../../harness/report/terminal.js';
import type { SummaryRow } from '../../../harness/core/types.js';

const MiB = 1024 * 1024;
const row = (variant: string, retained: number, trials = 1): SummaryRow => ({
  scenario: 'burst', variant, allocator: 'tcmalloc', trials, failedTrials: 0,
  metrics: {
    baselineRss: { median: 8 * MiB, min: 8 * MiB, max: 8 * MiB },
    peakRss: { median: 500 * MiB, min: 490 * MiB, max: 510 * MiB },
    retainedRss: { median: retained * MiB, min: retained * MiB, max: retained * MiB },
    releaseMs: { median: 41.25, min: 40, max: 43 },
    retention: { median: 0.987, min: 0.98, max: 0.99 },
  },
});

describe('summaryTable', () => {
  it('shows MiB, ms and % per variant, with min-max when there are several trials', () => {
    const text = summaryTable([row('tcmalloc', 499, 3), row('glibc', 20)]);
    expect(text).toContain('burst');
    expect(text).toMatch(/tcmalloc\s*│ 3\s*│ 8\.0\s*│ 500\.0 \(490\.0-510\.0\)/);
    expect(text).toMatch(/│ 41\.3 \(40\.0-43\.0\)/);
    expect(text).toContain('99% (98%-99%)');
    expect(text).toMatch(/glibc\s*│ 1\s*│ 8\.0\s*│ 500\.0\s*│/);
    // Metrics the rows do not have (VmHWM, peak live, released, release eff., verdict) show as '-'.
    expect(text).toMatch(/│ glibc\s*│ 1\s*│ 8\.0\s*│ 500\.0\s*│ -\s*│ -\s*│ 20\.0\s*│ -\s*│ 41\.3\s*│ 99%\s*│ -\s*│ -\s*│/);
  });
});

describe('rssCharts', () => {
  it('draws one chart per variant on one scale and marks the release', () => {
    const up = (peak: number): Array<[number, number]> => [[0, 10 * MiB], [500, peak * MiB], [1000, 20 * MiB]];
    const text = rssCharts('burst', [{ variant: 'a', points: up(400), releaseAt: 900 }, { variant: 'b', points: up(100), releaseAt: null }], false, 20, 4);
    const lines = text.split('\n');
    expect(lines[0]).toBe('burst: RSS over time, 0-1.0 s (^ = release)');
    expect(lines.filter((l) => /^\s+400 MiB/.test(l))).toHaveLength(2);  // same top for both
    expect(lines.filter((l) => l.trim() === '^')).toHaveLength(1);
    expect(lines).toContain('a');
    expect(lines).toContain('b');
  });
  it('keeps the peak of each column when resampling', () => {
    expect(resampleMax([[0, 1], [1, 9], [2, 3], [5, 4], [9, 2]], 10, 2)).toEqual([9, 4]);
  });
});

describe('summaryCsv', () => {
  it('flattens to one row per metric with its unit', () => {
    const lines = summaryCsv([row('tcmalloc', 499)]).trim().split('\n');
    expect(lines[0]).toBe('scenario,variant,allocator,trials,metric,unit,median,min,max');
    expect(lines).toContain(`burst,tcmalloc,tcmalloc,1,peakRss,bytes,${500 * MiB},${490 * MiB},${510 * MiB}`);
    expect(lines).toContain('burst,tcmalloc,tcmalloc,1,releaseMs,ms,41.25,40,43');
    expect(lines).toContain('burst,tcmalloc,tcmalloc,1,retention,ratio,0.987,0.98,0.99');
  });
});
