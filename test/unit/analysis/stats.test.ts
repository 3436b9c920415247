// Small statistics (harness/analysis/stats.ts) on values worked out by hand.
import { describe, expect, it } from 'vitest';
import { cv, max, mean, median, min, quantile } from '../../../harness/analysis/stats.js';

describe('min, max, mean', () => {
  it('take the smallest, the largest and the average whatever the order; null for no values', () => {
    expect(min([3, 1, 2])).toBe(1);
    expect(min([1, 3, 2])).toBe(1);
    expect(max([3, 1, 2])).toBe(3);
    expect(max([1, 3, 2])).toBe(3);
    expect(mean([1, 2, 6])).toBe(3);
    expect([min([]), max([]), mean([])]).toEqual([null, null, null]);
  });
});

describe('quantile', () => {
  it('sorts first, then interpolates between the two nearest ranks', () => {
    expect(quantile([5, 1, 3], 0.5)).toBe(3);
    expect(quantile([30, 10, 20, 40], 0)).toBe(10);
    expect(quantile([30, 10, 20, 40], 1)).toBe(40);
    // (4 - 1) x 0.5 = rank 1.5: halfway between 20 and 30.
    expect(quantile([30, 10, 20, 40], 0.5)).toBe(25);
    expect(quantile([], 0.5)).toBeNull();
  });
  it('the median of an even count is the mean of the middle two', () => {
    expect(median([10, 40, 20, 30])).toBe(25);
  });
});

describe('cv', () => {
  it('is the population standard deviation over the mean', () => {
    // mean 2, deviations -1, 1: variance 1, sd 1: cv 0.5.
    expect(cv([1, 3])).toBe(0.5);
  });
  it('is null without values or with a mean of 0', () => {
    expect(cv([])).toBeNull();
    expect(cv([0, 0])).toBeNull();
    expect(cv([-1, 1])).toBeNull();
  });
});
