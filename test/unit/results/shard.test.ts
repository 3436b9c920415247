// Sharding the scenario x trial x variant matrix (pure logic).
import { describe, expect, it } from 'vitest';
import { cellKey, parseShard, runMatrix, shardMatrix } from '../../../harness/results/shard.js';

const matrix = runMatrix([{ name: 'burst', trials: 3 }, { name: 'steady', trials: 1 }], ['glibc', 'tcmalloc', 'jemalloc', 'mimalloc']);

describe('shardMatrix', () => {
  it('walks the matrix in run order: scenario, trial, variant', () => {
    expect(matrix).toHaveLength(16);
    expect(matrix.slice(0, 5).map((c) => `${c.scenario}/${c.trial}/${c.variant}`)).toEqual([
      'burst/1/glibc', 'burst/1/tcmalloc', 'burst/1/jemalloc', 'burst/1/mimalloc', 'burst/2/glibc',
    ]);
  });

  it.each([1, 2, 3, 5, 16, 20])('%i shards cover every cell exactly once, sizes within one', (n) => {
    const shards = Array.from({ length: n }, (_, i) => shardMatrix(matrix, { index: i + 1, count: n }));
    const all = shards.flat().map(cellKey);
    expect(all).toHaveLength(matrix.length);
    expect(new Set(all)).toEqual(new Set(matrix.map(cellKey)));
    const sizes = shards.map((s) => s.length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
  });

  it('is deterministic and keeps run order within a shard', () => {
    const a = shardMatrix(matrix, { index: 2, count: 3 });
    expect(shardMatrix(matrix, { index: 2, count: 3 })).toEqual(a);
    expect(a.map((c) => matrix.indexOf(c))).toEqual([1, 4, 7, 10, 13]);
  });

  it('without a shard is the whole matrix', () => {
    expect(shardMatrix(matrix, undefined)).toEqual(matrix);
  });
});

describe('parseShard', () => {
  it('takes i/n with 1 <= i <= n', () => {
    expect(parseShard('1/2')).toEqual({ index: 1, count: 2 });
    expect(parseShard(' 4 / 4 ')).toEqual({ index: 4, count: 4 });
    for (const bad of ['0/2', '3/2', '1/0', '1', '1/2/3', 'a/b', '-1/2']) expect(parseShard(bad), bad).toBeUndefined();
  });
});
