// A target run's release events (events.jsonl) carry the probe's release calls in the
// relay's shape (native/PROTOCOL.md): real thread and call names and ok, where they
// used to read {"thread":"undefined","call":"undefined","ok":false}. The lab's own kv server
// (scenarios/kv-leak.ts, quick) under jemalloc (two calls: the probe thread's tcache, the
// arenas' purge) and mimalloc (one).
import { rmSync } from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { lab, latestRun, tempDir } from './helpers.js';

const out = tempDir('leaklab-release-events-');
afterAll(() => rmSync(out, { recursive: true, force: true }));

it('records the probe release calls of kv-leak under jemalloc and mimalloc with thread, call and ok', async () => {
  const r = await lab(['--scenario', 'kv-leak', '--quick', '--variants', 'jemalloc,mimalloc', '--out', out], {}, 300_000);
  expect(r.exitCode, r.all ?? r.stderr).toBeLessThan(2);
  const { events } = latestRun(out);
  const releases = events.filter((e) => e.type === 'release');
  const of = (variant: string) => releases.filter((e) => e.variant === variant);
  expect(of('jemalloc')).toHaveLength(1);
  expect(of('mimalloc')).toHaveLength(1);
  const je = of('jemalloc')[0]!;
  expect(je.ok).toBe(true);
  expect(je.calls.map((c: Record<string, unknown>) => [c.thread, c.call, c.rc, c.ok])).toEqual([
    ['probe', 'mallctl("thread.tcache.flush")', 0, true],
    ['process', 'mallctl("arena.4096.purge")', 0, true],
  ]);
  const mi = of('mimalloc')[0]!;
  expect(mi.ok).toBe(true);
  expect(mi.calls.map((c: Record<string, unknown>) => [c.thread, c.call, c.rc, c.ok])).toEqual([['process', 'mi_collect(true)', null, true]]);
  for (const c of [...je.calls, ...mi.calls]) {
    expect(c.tid).toBeGreaterThan(0);
    expect(c.mainThread).toBe(false);  // the probe's own thread
    expect(c.ms).toBeGreaterThanOrEqual(0);
  }
});
