// The probe's plain-C entry points (native/src/probe/leaklab_probe.h): leaklab_alloc_counters
// and leaklab_alloc_release, exported from libleaklab-probe.so, called from C
// (native/test/probe_entry_test.c) by three threads at once, under the counting shim in
// front of each real allocator: after the first call (which finds the allocator, and
// allocates) not one malloc or free call; a buffer too small gets 0 / -1 and nothing past it.
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { ALLOCATORS } from '../../harness/core/types.js';
import { binaryPath } from '../../harness/core/paths.js';
import { allocatorLibrary, probeLibrary } from '../../harness/subjects/target/preload.js';

describe('the probe\'s C entry points', () => {
  it('are exported (nm -D)', async () => {
    const nm = await execa('nm', ['-D', '--defined-only', probeLibrary()]);
    expect(nm.stdout).toMatch(/ T leaklab_alloc_counters$/m);
    expect(nm.stdout).toMatch(/ T leaklab_alloc_release$/m);
  });

  it.each(ALLOCATORS)('under %s: three threads, 20 calls of each, no malloc or free call', async (allocator) => {
    const preload = [binaryPath('libleaklab_alloc_count.so'), ...(allocator === 'glibc' ? [] : [allocatorLibrary(allocator)])].join(':');
    const r = await execa(binaryPath('probe_entry_test'), [probeLibrary()], { env: { LD_PRELOAD: preload }, reject: false, timeout: 30_000 });
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.allocator).toBe(allocator);
    expect(out.warmup_allocs).toBeGreaterThan(0);  // the shim does count the probe's calls
    expect(out.threads).toEqual(Array(3).fill({ allocs: 0, frees: 0, counters_ok: 20, release_ok: 20 }));
    expect(out.small_counters).toBe(0);
    expect(out.small_release).toBe(-1);
    expect(out.canary_intact).toBe(true);
    expect(out.counters.allocator.name).toBe(allocator);
  });
});
