// `lab inspect <pid>` on live processes the lab did not start: the kv server (build/native/
// leaklab-kv) started here by hand, brought into a known state with its own client, then
// inspected as a user would, through the CLI. Each case's verdict kind is the truth of the
// state the server was put in (its STATS say what it holds); the figures in the comments were
// measured 2026-12-03.
import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { KV, type KvServer, startKv } from './support/kv.js';
import { lab } from './targets/helpers.js';

const MiB = 1024 * 1024;
const LIB = '/usr/lib/x86_64-linux-gnu';

const running: ChildProcess[] = [];
afterEach(() => {
  for (const p of running.splice(0)) p.kill('SIGKILL');
});

/** The kv server in `mode`, under `preload` (an allocator library) or glibc. */
async function startKvIn(mode: string, preload?: string): Promise<KvServer> {
  const s = await startKv(['--mode', mode], preload ? { LD_PRELOAD: `${LIB}/${preload}` } : {});
  running.push(s.proc);
  return s;
}

const kv = (port: number, ...words: string[]) => execa(KV, ['client', '--port', String(port), ...words]);

interface Inspection {
  allocator: string;
  mallocObject: string;
  snapshots: Array<{
    rss: number; split: { anonymous: number; brkHeap: number; threads: number; threadsLocated: number }; counters: Record<string, number | null> | null; stopMs: number | null;
    ledger: { pools: Array<{ id: string; bytes: number }> } | null;
    arenas: { arenas: Array<{ main: boolean; top_bytes: number; bins_bytes: number; fast_bytes: number }> } | null;
  }>;
  release: { call: string; rssBefore: number; rssAfter: number; reach: string | null } | null;
  verdict: { kind: string; severity: string; rule: string; advice: string };
  notes: string[];
  partial: string | null;
}

async function inspectJson(pid: number, ...flags: string[]): Promise<Inspection> {
  const r = await lab(['inspect', String(pid), '--json', ...flags], {}, 60_000);
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Inspection;
}

describe('lab inspect on a live kv server', () => {
  it('glibc: where the free memory sits by arena, read live; a thread arena\'s top holds what was cleared, to the byte of fordblks', async () => {
    const s = await startKvIn('free');
    // As scenarios/kv-arena-top.ts: one 31 MiB value's free raises glibc's trim threshold; the
    // 56 MiB that follows comes from the connection thread's arena and stays in its top.
    await kv(s.port, 'FILL', '31MiB', '31MiB', '31MiB', '1');
    await kv(s.port, 'CLEAR');
    await kv(s.port, 'FILL', '56MiB', '64KiB', '512KiB', '2');
    await kv(s.port, 'CLEAR');
    const r = await inspectJson(s.pid);
    const snap = r.snapshots[0]!;
    const arenas = snap.arenas!.arenas;
    expect(arenas.filter((a) => a.main)).toHaveLength(1);
    expect(arenas.length).toBeGreaterThanOrEqual(2);
    // The arenas' free bytes add up to mallinfo2's fordblks, read by the call before, but for
    // the stream malloc_info writes to: fmemopen takes its FILE from the target's heap for the
    // length of the call (measured 336 B).
    const diff = snap.counters!.fordblks! - arenas.reduce((t, a) => t + a.top_bytes + a.bins_bytes + a.fast_bytes, 0);
    expect(diff).toBeGreaterThanOrEqual(0);
    expect(diff).toBeLessThan(1024);
    const pool = (id: string) => snap.ledger!.pools.find((p) => p.id === id)!.bytes;
    expect(pool('threadTops')).toBeGreaterThan(48 * MiB);
    expect(pool('threadBins')).toBeLessThan(4 * MiB);
  });

  it('glibc, 90% of small values deleted at random: fragmentation; the release returns little', async () => {
    const s = await startKvIn('free');
    await kv(s.port, 'FILL', '120MiB', '100', '300', '1');
    await kv(s.port, 'DELETE', '0.9', '2');
    const r = await inspectJson(s.pid, '--release');
    expect(r.allocator).toBe('glibc');
    expect(r.mallocObject).toMatch(/libc\.so\.6$/);
    const c = r.snapshots[0]!.counters!;
    // A tenth of 120 MiB of payload stays, plus glibc's chunk headers (measured 24 MiB for a 200 MiB fill).
    expect(c.allocated_bytes!).toBeGreaterThan(10 * MiB);
    expect(c.allocated_bytes!).toBeLessThan(32 * MiB);
    expect(r.release!.call).toBe('malloc_trim(0)');
    expect(r.verdict.kind).toBe('fragmentation');
    expect(r.verdict.rule).toMatch(/returned by the release [\d.]+ MiB < 0\.5 x/);
    // One thread of the process stopped per call, well under the 50 ms limit (measured 0.3-0.5 ms).
    expect(r.snapshots[0]!.stopMs!).toBeLessThan(50);
  });

  it('tcmalloc preloaded, large values filled and cleared: retention; ReleaseFreeMemory returns it', async () => {
    const s = await startKvIn('free', 'libtcmalloc.so.4');
    await kv(s.port, 'FILL', '150MiB', '64KiB', '512KiB', '1');
    await kv(s.port, 'CLEAR');
    const r = await inspectJson(s.pid, '--release');
    expect(r.allocator).toBe('tcmalloc');
    expect(r.snapshots[0]!.counters!.allocated_bytes!).toBeLessThan(8 * MiB);
    // The ledger, as in a run: the cleared values sit in tcmalloc's page heap.
    const pageheap = r.snapshots[0]!.ledger!.pools.find((p) => p.id === 'pageheapFree')!;
    expect(pageheap.bytes).toBeGreaterThan(100 * MiB);
    expect(r.verdict.kind).toBe('retention');
    expect(r.release!.call).toMatch(/ReleaseFreeMemory/);
    // tcmalloc kept the 150 MiB; its release gives back nearly all of it (measured 141.3 of 155.3 MiB).
    expect(r.release!.rssBefore - r.release!.rssAfter).toBeGreaterThan(120 * MiB);
  });

  it('jemalloc preloaded, a pool that holds the cleared values: one snapshot cannot tell; a flat watch says held by the program', async () => {
    const s = await startKvIn('pool', 'libjemalloc.so.2');
    await kv(s.port, 'FILL', '100MiB', '64KiB', '512KiB', '1');
    await kv(s.port, 'CLEAR');
    const one = await inspectJson(s.pid);
    expect(one.allocator).toBe('jemalloc');
    expect(one.verdict.kind).toBe('inconclusive');
    expect(one.verdict.rule).toMatch(/one snapshot: growth not measured$/);
    expect(one.verdict.advice).toContain('MALLOC_CONF=prof:true');
    const watched = await inspectJson(s.pid, '--watch', '1500ms', '--every', '500ms');
    expect(watched.snapshots).toHaveLength(4);
    expect(watched.verdict.kind).toBe('held-by-program');
  });

  it('a leak growing while watched: in-use growth of 32 MiB or more is "a leak or a cache still filling" (inconclusive)', async () => {
    const s = await startKvIn('leak', 'libjemalloc.so.2');
    const filling = (async () => {
      for (let k = 0; k < 6; k++) {
        await kv(s.port, 'FILL', '16MiB', '64KiB', '512KiB', String(k + 1));
        await kv(s.port, 'CLEAR');
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const r = await inspectJson(s.pid, '--watch', '2s', '--every', '500ms');
    await filling;
    expect(r.verdict.kind).toBe('inconclusive');
    expect(r.verdict.advice).toContain('a leak or a cache still filling');
  });

  it('mimalloc preloaded: no in-use count, said so; a release that returns most of the heap settles retention', async () => {
    // The values were allocated by the connection's thread, which ended when the client
    // closed: its heap is abandoned, and mi_collect(true) on any thread reclaims abandoned
    // heaps (measured: 151.6 of 151.7 MiB returned).
    const s = await startKvIn('free', 'libmimalloc.so.2');
    await kv(s.port, 'FILL', '150MiB', '64KiB', '512KiB', '1');
    await kv(s.port, 'CLEAR');
    const r = await inspectJson(s.pid, '--release');
    expect(r.allocator).toBe('mimalloc');
    expect(r.snapshots[0]!.counters!.allocated_bytes).toBeNull();
    expect(r.notes.join(' ')).toContain('counts no in-use bytes');
    expect(r.release!.reach).toMatch(/^mi_collect\(true\) ran on one thread \(\d+ /);
    expect(r.verdict.kind).toBe('retention');
    expect(r.verdict.rule).toContain('in-use bytes not measured');
    expect(r.release!.rssBefore - r.release!.rssAfter).toBeGreaterThan(120 * MiB);
  });

  it('the terminal table and Markdown name the allocator, the buckets and the verdict', async () => {
    const s = await startKvIn('free');
    const t = await lab(['inspect', String(s.pid)], { FORCE_COLOR: '0' }, 60_000);
    expect(t.exitCode, t.stderr).toBe(0);
    expect(t.stdout).toContain('allocator serving malloc: glibc');
    for (const row of ['RSS (statm)', 'brk heap', 'anonymous', 'thread stacks', 'file-backed', 'of which LazyFree', 'allocator: in use', 'glibc main arena top', 'glibc thread arena free chunks (bins)', 'unexplained']) expect(t.stdout).toContain(row);
    // An idle server: a heap under 32 MiB.
    expect(t.stdout).toMatch(/verdict: healthy \(ok\)/);
    const md = await lab(['inspect', String(s.pid), '--md'], {}, 60_000);
    expect(md.stdout).toMatch(/^# lab inspect \d+\n/);
    expect(md.stdout).toContain('| where | MiB | what |');
    expect(md.stdout).toContain('**Verdict: healthy**');
  });
});

describe('lab inspect: bad input and refusals', () => {
  it('a pid that is no process exits 2 naming it; bad flags exit 2 naming the flag', async () => {
    const gone = spawn('true');
    await new Promise((r) => gone.on('exit', r));
    const r = await lab(['inspect', String(gone.pid)]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`no process ${gone.pid}`);
    const bad = await lab(['inspect', 'abc']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('<pid>');
    const every = await lab(['inspect', String(process.pid), '--watch', '1s', '--every', '2s']);
    expect(every.exitCode).toBe(2);
    expect(every.stderr).toContain('--every');
    const both = await lab(['inspect', String(process.pid), '--json', '--md']);
    expect(both.exitCode).toBe(2);
    expect(both.stderr).toContain('--md');
  });

  it('a process already traced is refused with exit 3, naming the tracer', async () => {
    // python3 asks its parent (this test's node process) to trace it: TracerPid is set.
    const p = spawn('python3', ['-c', 'import ctypes,time; ctypes.CDLL(None).ptrace(0,0,0,0); print("traced", flush=True); time.sleep(60)'], { stdio: ['ignore', 'pipe', 'inherit'] });
    running.push(p);
    await new Promise<void>((r) => p.stdout!.once('data', () => r()));
    const r = await lab(['inspect', String(p.pid)]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/inspect refused for pid \d+: .*traced/);
    expect(r.stderr).toContain(String(process.pid));
  });
});
