// Redis from Debian as a target (scenarios/redis-flush.ts, --quick): as-built, labelled
// with the jemalloc it links (the probe's report), filled by redis-benchmark, every key
// deleted, released with MEMORY PURGE: the retention story, and provenance in run.json.
import { rmSync } from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { latestRun, lab, tempDir } from './helpers.js';

const out = tempDir('leaklab-target-redis-');
afterAll(() => rmSync(out, { recursive: true, force: true }));

it('redis-flush --quick: jemalloc keeps the deleted values in dirty pages: retention', async () => {
  const r = await lab(['--scenario', 'redis-flush', '--quick', '--out', out]);
  expect(r.exitCode, r.stderr).toBe(0);
  const { run, summary, processes } = latestRun(out);
  const t = run.targets['redis-flush'];
  expect(t.binary.path).toMatch(/\/redis-server$/);
  expect(t.binary.debianPackage).toBe('redis-server');
  expect(t.binary.debianVersion).toMatch(/7\.\d+/);
  expect(t.binary.elf.buildId).toMatch(/^[0-9a-f]{40}$/);
  expect(t.binary.sha256).toMatch(/^[0-9a-f]{64}$/);
  expect(t.variants['as-built'].allocator).toBe('jemalloc');
  expect(t.variants['as-built'].mapped).toContain('jemalloc');
  const row = summary[0]!;
  console.log(JSON.stringify(Object.fromEntries(Object.entries(row.metrics).map(([k, m]: [string, any]) => [k, m.median]))));
  expect(row.allocator).toBe('jemalloc');
  const m = (k: string) => row.metrics[k].median as number;
  expect(m('peakRss') - m('baselineRss')).toBeGreaterThan(100 * 1024 * 1024);  // ~150k x 1000 B
  expect(m('peakLive')).toBeGreaterThan(80 * 1024 * 1024);  // jemalloc's allocated bytes at the peak
  expect(m('liveAfter')).toBeLessThan(16 * 1024 * 1024);  // every key deleted
  expect(m('retention')).toBeGreaterThan(0.6);
  // What it kept sat in dirty pages (measured 101.5 of 113 MiB, 0.9), not in slabs with live
  // regions. MEMORY PURGE usually returns them (measured 0.89-0.90 of what was kept in 5 runs
  // of 6), but not always: jemalloc skips a forced purge of an arena its background thread
  // (on in Redis) is purging at that moment (pac_decay_to_limit returns while
  // decay->purging), and one run returned 0.15. Either way they are free pages: retention.
  expect(m('pool.dirtyMuzzy')).toBeGreaterThan(0.7 * (m('retainedRss') - m('baselineRss')));
  expect(row.verdict.kind).toBe('retention');
  expect(row.verdict.evidence.dominantPool).toBe('dirtyMuzzy');
  expect(row.verdict.remedy).toMatch(/dirty_decay_ms|purge/);
  const loads = processes.filter((p) => p.role === 'load');
  expect(loads.map((p) => p.argv[0])).toEqual(['redis-benchmark', 'redis-cli']);
  for (const p of loads) expect(p.exit.code).toBe(0);
  const release = processes.find((p) => p.role === 'release')!;
  expect(release.argv.slice(-2)).toEqual(['memory', 'purge']);
  expect(release.exit.code).toBe(0);
  expect(release.durationMs).toBeGreaterThan(0);
});
