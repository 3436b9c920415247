// Gates, shards and merge on target runs, unchanged: redis-flush --quick gated against a
// ceilings file outside the repository (JSON), one passing and one exceeded ceiling; the
// run split in two shards (one per variant... here one variant: shard 1/1 and a merge).
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { latestRun, lab, tempDir } from './helpers.js';

const out = tempDir('leaklab-target-gate-');
afterAll(() => rmSync(out, { recursive: true, force: true }));

it('redis-flush --quick --gate: a ceiling on the target holds, a too-low one fails with exit 1 and junit.xml', async () => {
  const ceilings = join(out, 'ceilings.json');
  writeFileSync(ceilings, JSON.stringify({ 'redis-flush --quick': { 'as-built': { peakRss: '1GiB', releasedRss: '1MiB' } } }));
  const r = await lab(['--scenario', 'redis-flush', '--quick', '--gate', '--ceilings', ceilings, '--shard', '1/1', '--out', out]);
  expect(r.exitCode, r.stderr).toBe(1);
  expect(r.stdout + r.stderr).toMatch(/releasedRss/);
  const { dir, run } = latestRun(out);
  expect(run.shard).toEqual({ index: 1, count: 1 });
  const junit = readFileSync(join(dir, 'junit.xml'), 'utf8');
  expect(junit).toMatch(/<testcase[^>]*peakRss/);
  expect(junit).toMatch(/<failure[^>]*>[\s\S]*releasedRss|releasedRss[\s\S]*<failure/);
  const merged = join(out, 'merged');
  const m = await lab(['merge', dir, '--out', merged]);
  expect(m.exitCode, m.stderr).toBe(0);
  const summary = JSON.parse(readFileSync(join(merged, 'summary.json'), 'utf8'));
  expect(summary[0].scenario).toBe('redis-flush');
  expect(summary[0].allocator).toBe('jemalloc');
  expect(summary[0].verdict.kind).toBe('retention');
  expect(existsSync(join(merged, 'samples.csv'))).toBe(true);
});
