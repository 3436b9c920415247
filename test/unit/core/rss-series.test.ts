// The columnar statm store (pure logic): what goes in comes out across chunk boundaries,
// and the metrics read it exactly as they read sample rows.
import { describe, expect, it } from 'vitest';
import { RssSeries, pointsOf } from '../../../harness/core/rss-series.js';
import { rssAt } from '../../../harness/analysis/metrics.js';

describe('RssSeries', () => {
  const n = 10_000;  // more than two chunks of 4,096
  const series = new RssSeries();
  const rows: Array<{ tMs: number; rssBytes: number }> = [];
  for (let i = 0; i < n; i++) {
    const row = { tMs: i * 10 + 0.5, rssBytes: ((i * 7919) % 1000) * 4096 };
    rows.push(row);
    series.push(row.tMs, row.rssBytes);
  }

  it('keeps every pair, in order, across chunks', () => {
    expect(series.length).toBe(n);
    for (const i of [0, 4095, 4096, 8191, 8192, n - 1]) {
      expect(series.tAt(i)).toBe(rows[i]!.tMs);
      expect(series.rssAt(i)).toBe(rows[i]!.rssBytes);
    }
  });

  it('gives rssAt the same answers as the rows it came from', () => {
    const asRows = pointsOf(rows);
    for (const end of [0, 0.5, 5, 40_960.5, 41_000, 55_555, 99_999, 200_000]) {
      expect(rssAt(series, end)).toBe(rssAt(asRows, end));
      expect(rssAt(series, end, 1000)).toBe(rssAt(rows as never, end, 1000));
    }
    expect(rssAt(series, 0)).toBeNull();
  });
});
