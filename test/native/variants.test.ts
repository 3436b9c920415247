// Tuned variants: allocators ignore unknown option names silently, so each tuning is
// checked in the relay it runs in.
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { VARIANTS } from '../../harness/allocators/variants.js';
import { type Lab, runLoadgen, startLab } from './helpers.js';

const labs: Lab[] = [];
afterAll(async () => {
  await Promise.all(labs.map((l) => l.stop()));
});

async function allocStats(variantId: string, load = false): Promise<Record<string, number>> {
  const v = VARIANTS.find((x) => x.id === variantId)!;
  const lab = await startLab(v.allocator, ['--delay-ms', '20'], [], v.env);
  labs.push(lab);
  if (load) {
    await runLoadgen(lab.port, { seed: 1, connections: 32, phases: [{ name: 'l', duration_ms: 500, load: { mode: 'closed', concurrency: 256, size: { dist: 'uniform', min: 1024, max: 65536 } } }] });
  }
  const s = await lab.admin.command<{ alloc: Record<string, number> }>('stats');
  return s.alloc;
}

describe('tuned variants take effect', () => {
  it.each(VARIANTS.filter((v) => v.expect).map((v) => [v.id, v.expect!] as const))('%s', async (id, expected) => {
    const alloc = await allocStats(id);
    for (const [key, value] of Object.entries(expected)) expect(alloc[key], key).toBe(value);
  });

  it('the defaults differ from the tunings (so the checks above can fail)', async () => {
    expect((await allocStats('tcmalloc'))['opt.release_rate']).toBe(1);
    expect((await allocStats('jemalloc'))['opt.dirty_decay_ms']).toBe(10000);
    expect((await allocStats('mimalloc'))['opt.decommit_delay']).toBeGreaterThan(0);
  });

  it('glibc-arenas2 uses at most two arenas under load, the default more', async () => {
    expect((await allocStats('glibc-arenas2', true)).arenas).toBeLessThanOrEqual(2);
    expect((await allocStats('glibc', true)).arenas).toBeGreaterThan(2);
  });

  it('glibc-trim sets a tunable glibc knows (ld.so --list-tunables)', async () => {
    const v = VARIANTS.find((x) => x.id === 'glibc-trim')!;
    const r = await execa('/lib64/ld-linux-x86-64.so.2', ['--list-tunables'], { env: v.env });
    expect(r.stdout).toMatch(/glibc\.malloc\.trim_threshold: 0x20000 /);
  });
});
