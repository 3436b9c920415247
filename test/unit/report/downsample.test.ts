// Chart downsampling keeps the extremes: a million samples, a few thousand points, the
// peak and the trough still there.
import { describe, expect, it } from 'vitest';
import { bucketMax, gridMinMax, gridTimes, minMaxDownsample } from '../../../harness/report/downsample.js';
import { type Series } from '../../../harness/core/series.js';

function noisy(n: number): Series {
  const s: Series = { t: new Array(n), v: new Array(n) };
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;  // a fixed LCG: the same series every run
    s.t[i] = i * 10;
    s.v[i] = 100e6 + (x % 1_000_000);
  }
  return s;
}

describe('downsampling 1,000,000 samples', () => {
  const s = noisy(1_000_000);
  s.v[654_321] = 9e9;  // a single-sample peak
  s.v[123_457] = 1;    // and a single-sample trough

  it('minMaxDownsample keeps the max and the min, in time order', () => {
    const d = minMaxDownsample(s, 1000);
    expect(d.t.length).toBeLessThanOrEqual(2000);
    expect(Math.max(...d.v)).toBe(9e9);
    expect(Math.min(...d.v)).toBe(1);
    expect(d.t[d.v.indexOf(9e9)]).toBe(6_543_210);
    expect(d.t.every((t, i) => i === 0 || t >= d.t[i - 1]!)).toBe(true);
  });

  it('gridMinMax keeps them on a shared grid', () => {
    const end = s.t.at(-1)!;
    const g = gridMinMax(s, 0, end, 800);
    expect(g).toHaveLength(gridTimes(0, end, 800).length);
    const values = g.filter((v): v is number => v !== null);
    expect(Math.max(...values)).toBe(9e9);
    expect(Math.min(...values)).toBe(1);
  });

  it('bucketMax keeps the peak', () => {
    expect(Math.max(...bucketMax(s, 0, s.t.at(-1)!, 80))).toBe(9e9);
  });
});

describe('small series', () => {
  it('are kept as they are', () => {
    const s = { t: [0, 1, 2], v: [3, 1, 2] };
    expect(minMaxDownsample(s, 10)).toEqual(s);
  });
  it('put each bucket\'s extremes in the order they happened; empty buckets are null', () => {
    const s = { t: [0, 1, 2, 3, 8], v: [5, 9, 1, 4, 7] };
    expect(gridMinMax(s, 0, 10, 3)).toEqual([9, 1, null, null, 7, 7]);
    expect(bucketMax(s, 0, 10, 3)).toEqual([9, 9, 7]);
  });
});
