// `lab merge` keeps what --profile and --memory-limit add to summary.json: two real shards
// of the leak scenario (jemalloc, profiled; glibc, which cannot be) merged, and the merged
// rows carry the same profile status, growth table and forecast as the shards' own.
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../harness/core/paths.js';
import type { SummaryRow } from '../../harness/core/types.js';
import { LAB, NODE } from '../lab-cli.js';

const out = mkdtempSync(join(tmpdir(), 'leaklab-merge-growth-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function lab(args: string[]) {
  return execa(NODE, [...LAB, ...args], { cwd: ROOT, reject: false, timeout: 400_000, env: { FORCE_COLOR: '0' } });
}
const latest = (dir: string) => join(dir, readlinkSync(join(dir, 'latest')));
const summaryOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as SummaryRow[];

describe('lab merge of profiled shards', () => {
  const shards = [join(out, 's1'), join(out, 's2')];
  const merged = join(out, 'merged');
  let shardRows: SummaryRow[] = [];
  let mergedRows: SummaryRow[] = [];
  it('runs two shards and merges them', async () => {
    for (const [i, dir] of shards.entries()) {
      const r = await lab(['--scenario', 'leak', '--quick', '--variants', 'jemalloc,glibc', '--profile', '--memory-limit', '16GiB', '--rate', '2000', '--shard', `${i + 1}/2`, '--out', dir]);
      expect(r.exitCode, r.stderr).toBe(0);
      shardRows.push(...summaryOf(latest(dir)));
    }
    const m = await lab(['merge', ...shards.map(latest), '--out', merged]);
    expect(m.exitCode, m.stderr).toBe(0);
    mergedRows = summaryOf(merged);
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
    if (row.profile?.status === 'profiled') expect(existsSync(join(merged, row.profile.dir, 'jemalloc-1', 'collapsed.txt'))).toBe(true);
  });

  it('the variant that cannot profile is still reported as such', () => {
    const row = mergedRows.find((r) => r.variant === 'glibc')!;
    expect(row.profile).toEqual({ status: 'unsupported', reason: expect.stringMatching(/glibc malloc has no heap profiler/) });
  });
});
