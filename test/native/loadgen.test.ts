import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { binaryPath } from '../../harness/core/paths.js';
import { runLoadgen, startUpstream } from './helpers.js';

const schedule = (seed: number) => ({
  seed,
  connections: 4,
  phases: [
    { name: 'u', duration_ms: 300, load: { mode: 'closed', concurrency: 8, size: { dist: 'uniform', min: 1, max: 100000 } } },
    { name: 'l', duration_ms: 300, load: { mode: 'open', rate: 500, max_in_flight: 100, size: { dist: 'lognormal', median: 4096, sigma: 1, max: 65536 } } },
    { name: 'f', duration_ms: 200, load: { mode: 'closed', concurrency: 2, size: { dist: 'fixed', bytes: 10 } } },
  ],
});

async function printSizes(seed: number): Promise<{ phases: Array<{ name: string; sizes: number[] }> }> {
  const r = await execa(binaryPath('loadgen'), ['--port', '1', '--schedule', '-', '--print-sizes', '50'], { input: JSON.stringify(schedule(seed)) });
  return JSON.parse(r.stdout) as { phases: Array<{ name: string; sizes: number[] }> };
}

describe('loadgen', () => {
  it('draws the same request sizes from the same seed, and others from another', async () => {
    const [a, b, c] = await Promise.all([printSizes(1), printSizes(1), printSizes(2)]);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    const [u, l, f] = a.phases;
    expect(u!.sizes).toHaveLength(50);
    for (const s of u!.sizes) expect(s).toBeGreaterThanOrEqual(1), expect(s).toBeLessThanOrEqual(100000);
    for (const s of l!.sizes) expect(s).toBeLessThanOrEqual(65536);
    expect(new Set(f!.sizes)).toEqual(new Set([10]));
  });

  it('runs a schedule against the upstream and accounts for every request', async () => {
    const up = await startUpstream(['--delay-ms', '1', '--response-ratio', '0.5']);
    try {
      const lines = await runLoadgen(up.port, schedule(3));
      const phases = lines.filter((l) => l.type === 'phase').map((l) => l.name);
      expect(phases).toEqual(['u', 'l', 'f']);
      expect(lines.filter((l) => l.type === 'tick').length).toBeGreaterThanOrEqual(5);
      const totals = lines.at(-1)!;
      expect(totals.type).toBe('totals');
      expect(totals.errors).toBe(0);
      expect(totals.completed).toBeGreaterThan(100);
      expect(Number(totals.sent)).toBe(Number(totals.completed) + Number(totals.errors) + Number(totals.abandoned));
      expect((totals.phases as unknown[]).length).toBe(3);
    } finally {
      await up.proc.stop();
    }
  });

  it('ends a phase sized by count once its requests are answered, and reports one cut short by its limit', async () => {
    const up = await startUpstream(['--delay-ms', '1', '--response-bytes', '64']);
    try {
      const counted = (requests: number, limitMs: number, mode: object) => ({
        seed: 1, connections: 4,
        phases: [
          { name: 'n', duration_ms: limitMs, load: { ...mode, size: { dist: 'fixed', bytes: 100 }, requests } },
          { name: 'after', duration_ms: 100, load: null },
        ],
      });
      for (const mode of [{ mode: 'closed', concurrency: 16 }, { mode: 'open', rate: 20000 }]) {
        const lines = await runLoadgen(up.port, counted(2000, 60_000, mode));
        const [n] = lines.at(-1)!.phases as Array<Record<string, number>>;
        expect(n).toMatchObject({ sent: 2000, completed: 2000, errors: 0, requests: 2000 });
        expect(n!.duration_ms, JSON.stringify(mode)).toBeLessThan(30_000);  // ended by its count, not the 60 s limit
      }
      // 16 in flight with 1 ms of upstream delay cannot answer 10 million requests in 200 ms.
      const cut = await runLoadgen(up.port, counted(10_000_000, 200, { mode: 'closed', concurrency: 16 }));
      const [c] = cut.at(-1)!.phases as Array<Record<string, number>>;
      expect(c!.requests).toBe(10_000_000);
      expect(c!.sent).toBeLessThan(10_000_000);
      expect(c!.duration_ms).toBeGreaterThanOrEqual(190);
    } finally {
      await up.proc.stop();
    }
  });

  it.each([
    [{ seed: 1, phases: [{ name: 'x', duration_ms: 10, load: { mode: 'closed', concurrency: 1, size: { dist: 'fixed', bytes: 1 }, requests: 0 } }] }, 'phases[0].load.requests'],
    [{ seed: 1, phases: [] }, 'phases'],
    [{ seed: 1, phases: [{ name: 'x', duration_ms: -1, load: null }] }, 'phases[0].duration_ms'],
    [{ seed: 1, phases: [{ name: 'x', duration_ms: 10, load: { mode: 'closed', concurrency: 1, size: { dist: 'uniform', min: 9, max: 1 } } }] }, 'phases[0].load.size'],
    [{ seed: 1, phases: [{ name: 'x', duration_ms: 10, load: { mode: 'sideways' } }] }, 'phases[0].load.mode'],
  ])('rejects a bad schedule naming the field (%#)', async (bad, field) => {
    const r = await execa(binaryPath('loadgen'), ['--port', '1', '--schedule', '-'], { input: JSON.stringify(bad), reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(field);
  });
});
