// The admin `release`: every allocator call it makes, with the thread it ran on and its
// result; a call that really fails (jemalloc's mallctl on an arena that does not exist)
// makes the reply ok:false; and what the release reaches: every worker, the acceptor on the
// main thread, the admin thread, never a transient (thread churn) thread. Threads are
// checked against /proc/<pid>/task/*/comm, which the relay names.
import { readFileSync, readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ALLOCATORS, type Lab, runLoadgen, startLab } from './helpers.js';

interface Call { thread: string; worker?: number; tid: number; main_thread: boolean; call: string; rc: number | null; ok: boolean; ms: number; error?: string }
interface Release { ok: boolean; error?: string; rss_before_bytes: number; rss_after_bytes: number; calls: Call[]; transient_threads_started: number; transient_threads_reached: number }

const labs: Lab[] = [];
afterAll(async () => {
  await Promise.all(labs.map((l) => l.stop()));
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function lab(allocator: (typeof ALLOCATORS)[number], relayArgs: string[] = [], env: Record<string, string> = {}, responseBytes = 4096): Promise<Lab> {
  const l = await startLab(allocator, ['--delay-ms', '5', '--response-bytes', String(responseBytes)], relayArgs, env);
  labs.push(l);
  return l;
}

/** tid -> thread name, for every thread of `pid`. */
function threads(pid: number): Map<number, string> {
  const m = new Map<number, string>();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      m.set(Number(t), readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim());
    } catch {
      // the thread exited between the listing and the read
    }
  }
  return m;
}

const load = (ms: number, bytes = 1024, concurrency = 32) => ({
  seed: 1, connections: 8, phases: [{ name: 'l', duration_ms: ms, load: { mode: 'closed', concurrency, size: { dist: 'fixed', bytes } } }],
});

/** Waits until nothing is in flight: responses the transient thread still copies included. */
async function drained(l: Lab): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const s = await l.admin.command<Record<string, number>>('stats-counters');
    if (s.live_request_count === 0 && s.live_response_count === 0) return;
    await sleep(20);
  }
  throw new Error('the relay did not drain within 10 s');
}

// The call each allocator makes per thread and process-wide, and whether it returns a code.
const EXPECTED: Record<(typeof ALLOCATORS)[number], { thread: string | null; process: string; rc: boolean }> = {
  glibc: { thread: null, process: 'malloc_trim(0)', rc: true },
  tcmalloc: { thread: 'MallocExtension::instance()->MarkThreadIdle()', process: 'MallocExtension::instance()->ReleaseFreeMemory()', rc: false },
  jemalloc: { thread: 'mallctl("thread.tcache.flush")', process: 'mallctl("arena.4096.purge")', rc: true },
  mimalloc: { thread: 'mi_collect(true)', process: 'mi_collect(true)', rc: false },
};

describe.each(ALLOCATORS)('release on relay-%s', (allocator) => {
  it('reports every call it made, on every worker, the acceptor (the main thread) and the admin thread, never a transient thread', async () => {
    // A transient thread that lives 30 s: alive (and idle) when the release runs.
    const l = await lab(allocator, ['--thread-churn-ms', '30000']);
    await runLoadgen(l.port, load(300));
    await drained(l);
    const r = await l.admin.command<Release>('release');
    const names = threads(l.relay.pid);
    const transient = [...names].filter(([, n]) => n === 'transient').map(([tid]) => tid);
    expect(transient.length, 'a live transient thread').toBe(1);
    expect(r.ok).toBe(true);
    expect(r.transient_threads_started).toBe(1);
    expect(r.transient_threads_reached).toBe(0);

    const e = EXPECTED[allocator];
    const threadCalls = r.calls.filter((c) => c.thread !== 'process');
    const processCalls = r.calls.filter((c) => c.thread === 'process');
    expect(processCalls.map((c) => c.call)).toEqual([e.process]);
    expect(processCalls[0]!.rc === null).toBe(!e.rc);
    if (e.thread === null) {
      expect(threadCalls).toEqual([]);  // glibc: nothing to call per thread
    } else {
      expect(threadCalls.map((c) => c.thread)).toEqual([...Array(8).fill('worker'), 'acceptor', 'admin']);
      for (const c of threadCalls) expect(c.call).toBe(e.thread);
      // Each worker's step ran on that worker's own thread.
      for (const c of threadCalls.filter((x) => x.thread === 'worker')) expect(names.get(c.tid)).toBe(`worker-${c.worker}`);
      const acceptor = threadCalls.find((c) => c.thread === 'acceptor')!;
      expect(acceptor.tid).toBe(l.relay.pid);
      expect(acceptor.main_thread).toBe(true);
      expect(names.get(threadCalls.find((c) => c.thread === 'admin')!.tid)).toBe('admin');
      expect(threadCalls.filter((c) => c.main_thread)).toEqual([acceptor]);
    }
    for (const c of r.calls) {
      expect(c.ok).toBe(true);
      expect(transient).not.toContain(c.tid);
      expect(c.ms).toBeGreaterThanOrEqual(0);
    }
  });
});

describe('a failed release', () => {
  it('answers ok:false naming the allocator call that failed and its code (a real mallctl on an arena that does not exist)', async () => {
    const l = await lab('jemalloc', [], { LEAKLAB_TEST_JEMALLOC_PURGE_ARENA: '4095' });
    const r = await l.admin.command<Release>('release');
    expect(r.ok).toBe(false);
    expect(r.error).toBe('mallctl("arena.4095.purge") returned 2 (No such file or directory) in the process-wide step');
    const failed = r.calls.filter((c) => !c.ok);
    expect(failed).toEqual([expect.objectContaining({ thread: 'process', call: 'mallctl("arena.4095.purge")', rc: 2, ok: false })]);
    // The per-thread calls worked and say so; RSS is still reported.
    expect(r.calls.filter((c) => c.ok)).toHaveLength(10);
    expect(r.rss_after_bytes).toBeGreaterThan(0);
  });

  it('is counted by the release policy (policy_release_failures)', async () => {
    const l = await lab('jemalloc', ['--release-every-ms', '100'], { LEAKLAB_TEST_JEMALLOC_PURGE_ARENA: '4095' });
    await sleep(500);
    const s = await l.admin.command<Record<string, number>>('stats-counters');
    expect(s.policy_releases).toBeGreaterThanOrEqual(2);
    expect(s.policy_release_failures).toBe(s.policy_releases);
  });
});

describe('what a release does not reach', () => {
  it('tcmalloc: the live transient thread keeps its thread cache (a 64 KiB response) through release; gone once it exits', async () => {
    const l = await lab('tcmalloc', ['--thread-churn-ms', '2500'], {}, 64 * 1024);
    const t0 = performance.now();
    await runLoadgen(l.port, load(300));
    await drained(l);
    const cached = async () => Number((await l.admin.command<{ alloc: Record<string, number> }>('stats-counters')).alloc['tcmalloc.thread_cache_free_bytes']);
    expect((await l.admin.command<Release>('release')).ok).toBe(true);
    const alive = await cached();
    expect(threads(l.relay.pid).size).toBeGreaterThan(10);  // main, 8 workers, admin, transient
    await sleep(Math.max(0, 2500 + 300 - (performance.now() - t0)));
    expect([...threads(l.relay.pid).values()]).not.toContain('transient');
    const exited = await cached();
    // The thread cache freed at its exit is what the release had left behind.
    expect(alive - exited).toBeGreaterThanOrEqual(64 * 1024);
    await l.admin.command<Release>('release');
    expect(await cached()).toBeLessThan(64 * 1024);
  });
});
