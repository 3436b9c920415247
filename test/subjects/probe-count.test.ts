// The probe's counting layer (native/src/probe/probe_count.cc): LEAKLAB_PROBE_COUNT=1 with
// the probe first in LD_PRELOAD. test_host's workloads (native/test/test_host.cc, `commands`)
// keep their own bookkeeping out of malloc, so the count moves by exactly the blocks:
// usable sizes from the allocators' documentation and measured with malloc_usable_size
// (glibc: a 64-byte request takes an 80-byte chunk, 72 usable; tcmalloc, jemalloc and
// mimalloc have a 64-byte size class).
import { afterAll, describe, expect, it } from 'vitest';
import type { Allocator } from '../../harness/core/types.js';
import type { AdminClient } from '../../harness/subjects/protocol/client.js';
import { allocatorLibrary, preloadEnv, probeLibrary } from '../../harness/subjects/target/preload.js';
import { openProbe } from '../../harness/subjects/target/probe.js';
import { type TestHost, startTestHost } from '../support/test-host.js';
import { MiB, probeDir, relayLoad, relayTarget, sleep, stopLater, stopTargets } from './targets.js';

type Json = Record<string, any>;  // eslint-disable-line @typescript-eslint/no-explicit-any

const admins: AdminClient[] = [];
afterAll(async () => {
  for (const a of admins) a.close();
  await stopTargets();
});

/** test_host with `env`, stopped at the end. */
async function host(env: Record<string, string>, dir: string): Promise<TestHost> {
  const h = await startTestHost(env, dir);
  stopLater(() => h.stop());
  return h;
}

const counted = (s: Json): number => s.alloc.counted_in_use_bytes as number;

// allocator null: as built (glibc), which preloadEnv counts as well.
const cases: Array<[Allocator | null, string, number]> = [
  [null, 'glibc', 72], ['tcmalloc', 'tcmalloc', 64], ['jemalloc', 'jemalloc', 64], ['mimalloc', 'mimalloc', 64],
];

describe.each(cases)('counting layer, allocator %s', (allocator, name, usable) => {
  it(`counts 200,000 x 64 B as 200,000 x ${usable} B; churn leaves it; sparse and free take it back`, async () => {
    const dir = probeDir();
    const h = await host({ ...preloadEnv(allocator, dir), LEAKLAB_PROBE_COUNT: '1' }, dir);
    const base = await h.counters();
    expect(base.allocator.name).toBe(name);
    expect(base.allocator.counting).toBe('counting');
    await h.run('hold=200000x64');
    const held = await h.counters();
    expect(counted(held) - counted(base)).toBe(200_000 * usable);
    await h.run('churn=20000');
    expect(counted(await h.counters())).toBe(counted(held));
    await h.run('sparse');
    expect(counted(held) - counted(await h.counters())).toBe(100_000 * usable);
    await h.run('free');
    expect(counted(await h.counters())).toBe(counted(base));
    const s = await h.counters();
    if (name === 'mimalloc') {
      // mimalloc's release build counts no live bytes: the probe's count stands in.
      expect(s.alloc.allocated_bytes_source).toBe('probe-count');
      expect(s.alloc.allocated_bytes).toBe(counted(s));
    } else {
      expect(s.alloc.allocated_bytes_source).toBe('allocator');
    }
  });
});

describe('counting layer: off, and not first', () => {
  it('is off by default (no LEAKLAB_PROBE_COUNT): no count, the allocator\'s own figure', async () => {
    const dir = probeDir();
    const env = preloadEnv('jemalloc', dir);
    expect(env.LEAKLAB_PROBE_COUNT).toBeUndefined();
    const s = await (await host(env, dir)).counters();
    expect(s.allocator.counting).toBe('off (LEAKLAB_PROBE_COUNT is not 1)');
    expect(s.alloc.counted_in_use_bytes).toBeNull();
    expect(s.alloc.allocated_bytes_source).toBe('allocator');
  });

  it('says so when the probe is not first in LD_PRELOAD', async () => {
    const dir = probeDir();
    const mi = allocatorLibrary('mimalloc');
    const s = await (await host({ LD_PRELOAD: `${mi}:${probeLibrary()}`, LEAKLAB_PROBE_DIR: dir, LEAKLAB_PROBE_COUNT: '1' }, dir)).counters();
    expect(s.allocator.name).toBe('mimalloc');
    expect(s.allocator.counting).toBe(`not counting: LEAKLAB_PROBE_COUNT=1, but the probe is not first in LD_PRELOAD (first: ${mi})`);
    expect(s.alloc.allocated_bytes).toBeNull();
    expect(s.alloc.counted_in_use_bytes).toBeNull();
  });
});

describe('counting layer in relay-glibc under mimalloc', () => {
  it('returns to its baseline after load', async () => {
    const dir = probeDir();
    const lab = await relayTarget('mimalloc', dir, ['--delay-ms', '1']);
    const { admin } = await openProbe(dir, lab.relay.pid, { timeoutMs: 10_000 });
    admins.push(admin);
    const before = await admin.command<Json>('stats-counters');
    expect(before.alloc.allocated_bytes_source).toBe('probe-count');
    await relayLoad(lab.port, 400, 16 * 1024, 32);
    let after = await admin.command<Json>('stats-counters');
    // The load's connections close when it ends; their buffers go with them.
    for (let i = 0; i < 50 && counted(after) > counted(before) + MiB; i++) {
      await sleep(100);
      after = await admin.command<Json>('stats-counters');
    }
    expect(Math.abs(counted(after) - counted(before))).toBeLessThan(MiB);
  });

  it('grows by at least the bytes the relay\'s leak mode keeps', async () => {
    const dir = probeDir();
    const lab = await relayTarget('mimalloc', dir, ['--delay-ms', '1'], ['--leak-rate', '1']);
    const { admin } = await openProbe(dir, lab.relay.pid, { timeoutMs: 10_000 });
    admins.push(admin);
    const before = await admin.command<Json>('stats-counters');
    await relayLoad(lab.port, 400, 16 * 1024, 32);
    const after = await admin.command<Json>('stats-counters');
    const leaked = Number((await lab.admin.command<Json>('stats')).leaked_request_bytes);
    expect(leaked).toBeGreaterThan(8 * MiB);
    expect(counted(after) - counted(before)).toBeGreaterThanOrEqual(leaked);
  });
});
