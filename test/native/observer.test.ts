// The observer must not drive what it observes: the relay's and the probe's answer to the
// harness's 100 ms counters poll makes no malloc/free call. Counted for real, per thread, by a preloaded shim
// (native/test/alloc_count.cc) in front of each real allocator; the relay reports the admin
// thread's counts in its stats replies (test_alloc_calls).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binaryPath } from '../../harness/core/paths.js';
import type { AdminClient } from '../../harness/subjects/protocol/client.js';
import { preloadEnv } from '../../harness/subjects/target/preload.js';
import { openProbe } from '../../harness/subjects/target/probe.js';
import { median } from '../../harness/analysis/stats.js';
import { ALLOCATORS, type Lab, runLoadgen, startLab } from './helpers.js';

interface Counts { thread_allocs: number; thread_frees: number; last_handle_allocs: number; last_handle_frees: number }
type Stats = { ok: boolean; test_alloc_calls?: Counts; allocator: { malloc_library: string }; alloc: Record<string, unknown> };

const SHIM = 'libleaklab_alloc_count.so';
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe.each(ALLOCATORS)('relay-%s with the counting shim', (allocator) => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab(allocator, ['--delay-ms', '0', '--response-bytes', '2048'], [], { LD_PRELOAD: binaryPath(SHIM) });
  });
  afterAll(async () => {
    await lab?.stop();
  });
  const counters = async (cmd = 'stats-counters') => {
    const s = await lab.admin.command<Stats>(cmd);
    expect(s.test_alloc_calls, 'no test_alloc_calls: the shim is not preloaded or not found by the relay').toBeDefined();
    return s;
  };

  it('counts for real: the shim serves malloc, and a config reply (nlohmann::json) does allocate', async () => {
    const s = await counters();
    expect(s.allocator.malloc_library).toBe(SHIM);
    expect((s as unknown as { pid: number }).pid).toBe(lab.relay.pid);
    await lab.admin.command('config');
    const after = await counters();
    expect(after.test_alloc_calls!.last_handle_allocs).toBeGreaterThan(10);
    expect(after.test_alloc_calls!.last_handle_frees).toBeGreaterThan(10);
  });

  it('answers stats-counters and stats without a malloc or free call, idle and after load', async () => {
    for (let i = 0; i < 10; i++) {
      const s = await counters(i % 2 ? 'stats' : 'stats-counters');
      if (i === 0) continue;  // reports the handler before it (config, in the test above)
      expect(s.test_alloc_calls!.last_handle_allocs, `reply ${i}`).toBe(0);
      expect(s.test_alloc_calls!.last_handle_frees, `reply ${i}`).toBe(0);
    }
    await runLoadgen(lab.port, { seed: 1, connections: 4, phases: [{ name: 'l', duration_ms: 300, load: { mode: 'closed', concurrency: 16, size: { dist: 'uniform', min: 1024, max: 65536 } } }] });
    await counters();
    const s = await counters();
    expect(s.test_alloc_calls!.last_handle_allocs).toBe(0);
    expect(s.test_alloc_calls!.last_handle_frees).toBe(0);
  });

  it('counts glibc\'s arenas (malloc_info, which walks every arena under its lock) in stats only, not in the 100 ms poll', async () => {
    const poll = await counters();
    const full = await counters('stats');
    expect(poll.alloc.arenas).toBeUndefined();
    if (allocator === 'glibc') expect(full.alloc.arenas).toEqual(expect.any(Number));
  });

  it('costs the admin thread at most 4 small allocations per poll, all in the frame codec and connection', async () => {
    // Between two replies the admin thread also reads the next frame and queues the reply:
    // FrameReader's payload (codec.cc), the connection's end-of-batch flush task and its
    // vector (connection.cc, event_loop.cc), and a std::deque node every 8th reply.
    const seen: Counts[] = [];
    for (let i = 0; i < 24; i++) seen.push((await counters()).test_alloc_calls!);
    const perPoll = seen.slice(1).map((c, i) => c.thread_allocs - seen[i]!.thread_allocs);
    expect(median(perPoll)).toBeLessThanOrEqual(4);
    expect(Math.max(...perPoll)).toBeLessThanOrEqual(5);
  });
});

// The probe in a target: relay-glibc with LD_PRELOAD=<probe>:<shim>:<allocator> (the probe
// first, as the harness puts it; the shim behind it counts the probe thread's calls, which
// the probe forwards to it). The probe's whole poll cycle (read the frame, answer, send) uses
// the connection's fixed buffers: not one malloc or free per stats-counters, under every
// allocator, idle and after load (with the counting layer on where the harness turns it on).
describe.each(ALLOCATORS)('the probe in relay-glibc under %s, with the counting shim', (allocator) => {
  let lab: Lab;
  let admin: AdminClient;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leaklab-observer-probe-'));
    dirs.push(dir);
    const env = preloadEnv(allocator === 'glibc' ? null : allocator, dir);
    const [probe, ...rest] = env.LD_PRELOAD!.split(':');
    lab = await startLab('glibc', ['--delay-ms', '0', '--response-bytes', '2048'], [], { ...env, LD_PRELOAD: [probe, binaryPath(SHIM), ...rest].join(':') });
    admin = (await openProbe(dir, lab.relay.pid, { timeoutMs: 10_000 })).admin;
  });
  afterAll(async () => {
    admin?.close();
    await lab?.stop();
  });
  const counters = async () => {
    const s = await admin.command<Stats & { allocator: { name: string } }>('stats-counters');
    expect(s.test_alloc_calls, 'no test_alloc_calls: the shim is not preloaded or not found by the probe').toBeDefined();
    return s;
  };
  const perPoll = async (n: number) => {
    const seen: Counts[] = [];
    for (let i = 0; i < n; i++) seen.push((await counters()).test_alloc_calls!);
    return seen.slice(1).map((c, i) => [c.thread_allocs - seen[i]!.thread_allocs, c.thread_frees - seen[i]!.thread_frees]);
  };

  it('names the allocator past the probe and the shim, and counts for real (an error reply, nlohmann::json, allocates)', async () => {
    const s = await counters();
    expect(s.allocator.name).toBe(allocator);
    await admin.command('frobnicate');
    const after = await counters();
    expect(after.test_alloc_calls!.last_handle_allocs).toBeGreaterThan(5);
  });

  it('makes no malloc or free call per stats-counters poll, idle and after load', async () => {
    await counters();
    expect(await perPoll(12)).toEqual(Array(11).fill([0, 0]));
    await runLoadgen(lab.port, { seed: 1, connections: 4, phases: [{ name: 'l', duration_ms: 300, load: { mode: 'closed', concurrency: 16, size: { dist: 'uniform', min: 1024, max: 65536 } } }] });
    expect(await perPoll(12)).toEqual(Array(11).fill([0, 0]));
  });

  it('releases without a malloc or free call either (a fixed call list, JsonWriter)', async () => {
    await admin.command('release');
    expect((await counters()).test_alloc_calls!.last_handle_allocs).toBe(0);
  });
});
