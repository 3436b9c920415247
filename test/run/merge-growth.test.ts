// `lab merge` keeps what --profile and --memory-limit add to summary.json: the two real
// shards of the suite's shared leak run (test/support/shared-runs.ts: jemalloc and tcmalloc
// profiled, glibc and mimalloc, which cannot be) merged, and the merged rows carry the same
// profile status, growth table and forecast as the shards' own.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SummaryRow } from '../../harness/core/types.js';
import { sharedRun } from '../support/shared-runs.js';

const summaryOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as SummaryRow[];

describe('lab merge of profiled shards', () => {
  let merged = '';
  const shardRows: SummaryRow[] = [];
  let mergedRows: SummaryRow[] = [];
  it('runs two shards and merges them', async () => {
    const r = await sharedRun('leak');
    expect(r.shards).toHaveLength(2);
    for (const shard of r.shards) {
      expect(shard.exitCode, shard.stderr).toBe(0);
      expect(shard.args).toContain('--shard');
      shardRows.push(...summaryOf(shard.dir));
    }
    expect(r.exitCode, r.stderr).toBe(0);
    merged = r.dir;
    mergedRows = summaryOf(merged);
    expect(mergedRows.map((x) => x.variant)).toEqual(['glibc', 'tcmalloc', 'jemalloc', 'mimalloc']);
  }, 900_000);

  it('the profiled variant keeps its profile status, growth table and forecast', () => {
    const shard = shardRows.find((r) => r.variant === 'jemalloc')!;
    const row = mergedRows.find((r) => r.variant === 'jemalloc')!;
    expect(shard.profile?.status).toBe('profiled');
    expect(shard.growth?.length).toBeGreaterThan(0);
    expect(shard.verdict?.kind).toBe('leak');
    expect(shard.forecast?.limitBytes).toBe(16 * 1024 ** 3);
    expect(row.profile).toEqual(shard.profile);
    expect(row.growth).toEqual(shard.growth);
    expect(row.forecast).toEqual(shard.forecast);
    expect(row.verdict?.evidence).toEqual(shard.verdict?.evidence);
    // The dumps and diffs the profile status points at came along.
    expect(row.profile?.status).toBe('profiled');
    const profileDir = (row.profile as { dir: string }).dir;
    expect(existsSync(join(merged, profileDir, 'jemalloc-1', 'collapsed.txt'))).toBe(true);
  });

  it('the variant that cannot profile is still reported as such', () => {
    const row = mergedRows.find((r) => r.variant === 'glibc')!;
    expect(row.profile).toEqual({ status: 'unsupported', reason: expect.stringMatching(/glibc malloc has no heap profiler/) });
  });
});
