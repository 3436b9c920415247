// The `ledger` admin command (issue 22; native/PROTOCOL.md): where each glibc arena's free
// memory sits, parsed from malloc_info() written through one FILE over a static buffer, so
// that a read makes no malloc/free call. On real processes: relay-glibc, and test_host
// under the probe with threads (thread arenas). The invariants are glibc's own accounting
// (malloc/malloc.c, glibc 2.36): mallinfo2's fordblks is every arena's fastbins + regular
// bins + top, keepcost is the main arena's top, hblkhd the mmapped chunks.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binaryPath } from '../../harness/core/paths.js';
import { preloadEnv } from '../../harness/subjects/target/preload.js';
import { type TestHost, startTestHost } from '../support/test-host.js';
import { type Lab, runLoadgen, startLab } from './helpers.js';

type Json = Record<string, any>;  // eslint-disable-line @typescript-eslint/no-explicit-any
interface Arena { index: number; main: boolean; fast_bytes: number; fast_chunks: number; bins_bytes: number; bins_chunks: number; top_bytes: number; system_bytes: number }
interface Ledger { ok: boolean; allocator: string; ledger_us: number; arenas: Arena[] | null; mmapped_bytes: number; mmapped_chunks: number; truncated: boolean }
type Command = <T>(c: string) => Promise<T>;

const SHIM = 'libleaklab_alloc_count.so';
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const free = (a: Arena): number => a.fast_bytes + a.bins_bytes + a.top_bytes;

/** A ledger and the counters right after it; the same again until two rounds agree (a
 * quiescent moment: nothing allocated between the two reads). */
async function quiescent(command: Command): Promise<{ ledger: Ledger; stats: Json }> {
  let last = '';
  for (let i = 0; i < 20; i++) {
    const ledger = await command<Ledger>('ledger');
    const stats = await command<Json>('stats-counters');
    const key = JSON.stringify([ledger.arenas, stats.alloc.fordblks]);
    if (key === last) return { ledger, stats };
    last = key;
  }
  throw new Error('no quiescent moment in 20 rounds');
}

/** glibc's own accounting, checked on one quiescent moment. */
function expectAccounting(ledger: Ledger, stats: Json): void {
  expect(ledger).toMatchObject({ ok: true, allocator: 'glibc', truncated: false });
  expect(ledger.ledger_us).toBeGreaterThanOrEqual(0);
  const arenas = ledger.arenas!;
  expect(arenas[0]).toMatchObject({ index: 0, main: true });
  expect(arenas.slice(1).every((a) => !a.main)).toBe(true);
  expect(arenas.reduce((s, a) => s + free(a), 0)).toBe(stats.alloc.fordblks);
  expect(arenas[0]!.top_bytes).toBe(stats.alloc.keepcost);
  expect(ledger.mmapped_bytes).toBe(stats.alloc.hblkhd);
  for (const a of arenas) {
    expect(a.top_bytes, `arena ${a.index}`).toBeGreaterThanOrEqual(0);
    expect(a.system_bytes, `arena ${a.index}`).toBeGreaterThanOrEqual(free(a));
  }
}

/** The allocation counts of the command before the next stats-counters (the shim's). */
async function lastHandle(command: Command): Promise<[number, number]> {
  const s = await command<Json>('stats-counters');
  expect(s.test_alloc_calls, 'the counting shim is not preloaded').toBeDefined();
  return [s.test_alloc_calls.last_handle_allocs, s.test_alloc_calls.last_handle_frees];
}

describe('relay-glibc with the counting shim: ledger', () => {
  let lab: Lab;
  let command: Command;
  beforeAll(async () => {
    lab = await startLab('glibc', ['--delay-ms', '0', '--response-bytes', '2048'], [], { LD_PRELOAD: binaryPath(SHIM) });
    command = (c) => lab.admin.command(c);
    await runLoadgen(lab.port, { seed: 1, connections: 4, phases: [{ name: 'l', duration_ms: 300, load: { mode: 'closed', concurrency: 16, size: { dist: 'uniform', min: 1024, max: 65536 } } }] });
  });
  afterAll(async () => {
    await lab?.stop();
  });

  it('reports each arena, and they add up to mallinfo2 (fordblks, keepcost, hblkhd)', async () => {
    const { ledger, stats } = await quiescent(command);
    expectAccounting(ledger, stats);
    // Worker threads allocated: their arenas are there too.
    expect(ledger.arenas!.length).toBeGreaterThanOrEqual(2);
    expect(ledger.ledger_us).toBeGreaterThanOrEqual(0);
  });

  it('reads without a malloc or free call', async () => {
    for (let i = 0; i < 5; i++) {
      await command('ledger');
      expect(await lastHandle(command), `read ${i}`).toEqual([0, 0]);
    }
  });
});

describe('test_host under the probe (glibc), with the counting shim: ledger', () => {
  let h: TestHost;
  let command: Command;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leaklab-ledger-'));
    dirs.push(dir);
    const env = preloadEnv(null, dir);
    const [probe, ...rest] = env.LD_PRELOAD!.split(':');
    h = await startTestHost({ ...env, LD_PRELOAD: [probe, binaryPath(SHIM), ...rest].join(':') }, dir);
    command = (c) => h.admin.command(c);
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('gives threads that allocated at once their own arenas, and they add up to mallinfo2', async () => {
    await h.run('threads=4');
    const { ledger, stats } = await quiescent(command);
    expectAccounting(ledger, stats);
    expect(ledger.arenas!.length).toBeGreaterThanOrEqual(2);
    // Each thread freed 128 blocks of 4000 bytes (past tcache's 1032): in its arena's bins
    // or merged into its top, never in the main arena's alone.
    const threadFree = ledger.arenas!.slice(1).reduce((s, a) => s + free(a), 0);
    expect(threadFree).toBeGreaterThanOrEqual(128 * 4000);
  });

  it('puts a freed block below the top in the bins', async () => {
    const before = (await quiescent(command)).ledger.arenas![0]!;
    await h.run('hole=100000');
    const { ledger, stats } = await quiescent(command);
    expectAccounting(ledger, stats);
    expect(ledger.arenas![0]!.bins_bytes - before.bins_bytes).toBeGreaterThanOrEqual(100000);
    expect(ledger.arenas![0]!.bins_chunks).toBeGreaterThan(before.bins_chunks);
  });

  it('counts the mmapped chunks as hblkhd does', async () => {
    await h.run('hold=3x1048576');  // past the mmap threshold: one mapping each
    const { ledger, stats } = await quiescent(command);
    expect(ledger.mmapped_chunks).toBeGreaterThanOrEqual(3);
    expect(ledger.mmapped_bytes).toBe(stats.alloc.hblkhd);
    expect(ledger.mmapped_bytes).toBeGreaterThanOrEqual(3 * 1048576);
  });

  it('reads without a malloc or free call', async () => {
    for (let i = 0; i < 5; i++) {
      await command('ledger');
      expect(await lastHandle(command), `read ${i}`).toEqual([0, 0]);
    }
  });
});

describe('test_host under the probe (glibc) with more arenas than the ledger lists', () => {
  let h: TestHost;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leaklab-ledger-many-'));
    dirs.push(dir);
    // glibc's arena limit is 8 per core by default; MALLOC_ARENA_MAX raises it.
    h = await startTestHost({ ...preloadEnv(null, dir), MALLOC_ARENA_MAX: '128' }, dir);
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('lists 64 and sums the rest into one aggregate entry that still adds up', async () => {
    await h.run('threads=64');  // 64 thread arenas, the main one and the probe thread's
    const { ledger, stats } = await quiescent((c) => h.admin.command(c));
    expect(ledger.truncated).toBe(true);
    expect(ledger.arenas).toHaveLength(65);
    const rest = ledger.arenas![64]! as Arena & { arenas: number };
    expect(rest).toMatchObject({ index: null, main: false });
    expect(rest.arenas).toBeGreaterThanOrEqual(1);
    expect(ledger.arenas!.reduce((s, a) => s + free(a), 0)).toBe(stats.alloc.fordblks);
    expect(ledger.arenas![0]!.top_bytes).toBe(stats.alloc.keepcost);
  });
});

describe.each(['tcmalloc', 'jemalloc', 'mimalloc'] as const)('relay-%s: ledger', (allocator) => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab(allocator, [], [], {});
  });
  afterAll(async () => {
    await lab?.stop();
  });

  it('has no arenas (its pools come from stats-counters)', async () => {
    const r = await lab.admin.command<Ledger>('ledger');
    expect(r).toEqual({ ok: true, allocator, ledger_us: expect.any(Number), arenas: null });
  });
});
