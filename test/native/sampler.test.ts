// The native sampler's stop: SIGTERM ends it at once with its last batch written, whatever
// its smaps_rollup thread is waiting for (after a slow read at a burst's peak that wait is
// up to 500 x the read's time: seconds). And its stats-counters poll backs off after a slow
// reply, so a heap that makes the allocator's counters slow is not kept locked.
import { spawn } from 'node:child_process';
import { execa } from 'execa';
import { afterEach, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binaryPath } from '../../harness/core/paths.js';
import { preloadEnv } from '../../harness/subjects/target/preload.js';
import { listProbes } from '../../harness/subjects/target/probe.js';
import { startTestHost } from '../support/test-host.js';

let target: ReturnType<typeof spawn> | undefined;
afterEach(() => {
  target?.kill('SIGKILL');
  target = undefined;
});

it('SIGTERM while the smaps_rollup thread waits: exits within 500 ms, the last batch written', async () => {
  target = spawn('sleep', ['60'], { stdio: 'ignore' });
  // The first smaps_rollup read is 60 s away: the thread is waiting when the stop comes,
  // as it is for seconds after a slow read (the read's time x 500).
  const sampler = execa(binaryPath('sampler'), ['--pid', String(target.pid), '--interval-ms', '10', '--batch-ms', '10000', '--smaps-ms', '60000'], { reject: false });
  const lines: string[] = [];
  const ready = new Promise<void>((resolve) => sampler.stdout!.on('data', (chunk: Buffer) => {
    lines.push(...chunk.toString().split('\n').filter(Boolean));
    if (lines.some((l) => l.includes('"ready"'))) resolve();
  }));
  await ready;
  await new Promise((r) => setTimeout(r, 300));
  const t0 = performance.now();
  sampler.kill('SIGTERM');
  const r = await sampler;
  const stopMs = performance.now() - t0;
  expect(r.signal, r.stderr).toBeUndefined();
  expect(r.exitCode).toBe(0);
  expect(stopMs).toBeLessThan(500);
  // No batch was due (--batch-ms 10000): every statm sample came in the final one.
  const rss = r.stdout.split('\n').filter((l) => l.startsWith('{"type":"rss"')).map((l) => JSON.parse(l) as { samples: [number, number][] });
  expect(rss).toHaveLength(1);
  expect(rss[0]!.samples.length).toBeGreaterThan(5);
}, 30_000);

it('after a slow stats-counters reply the next request waits at least 20 x its time in the subject; a fast heap is polled every 100 ms', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'leaklab-sampler-'));
  // glibc as built, the probe preloaded: its stats-counters is mallinfo2, which walks every
  // free chunk under the arena lock.
  const h = await startTestHost(preloadEnv(null, dir), dir);
  try {
    const port = listProbes(dir).find((p) => p.pid === h.pid)!.port;
    const poll = async (ms: number) => {
      const r = await execa(binaryPath('sampler'), ['--pid', String(h.pid), '--admin-port', String(port), '--stats-ms', '100', '--batch-ms', '100'],
        { reject: false, timeout: ms, killSignal: 'SIGTERM' });
      return r.stdout.split('\n').filter((l) => l.startsWith('{"type":"stats"')).map((l) => JSON.parse(l) as { t_us: number; reply: { stats_us: number } });
    };
    const fast = await poll(1_500);
    const fastGaps = fast.slice(1).map((s, i) => (s.t_us - fast[i]!.t_us) / 1000);
    expect(fast.length).toBeGreaterThanOrEqual(10);
    expect(Math.max(...fast.map((s) => s.reply.stats_us))).toBeLessThan(2_000);
    for (const g of fastGaps) expect(g).toBeLessThan(150);
    // 3 M blocks of 64 B, every other one freed: 1.5 M free chunks for mallinfo2 to walk.
    await h.run('hold=3000000x64');
    await h.run('sparse');
    const slow = await poll(6_000);
    expect(slow.length).toBeGreaterThanOrEqual(2);
    expect(slow[0]!.reply.stats_us).toBeGreaterThan(5_000);
    for (let i = 1; i < slow.length; i++) {
      expect((slow[i]!.t_us - slow[i - 1]!.t_us)).toBeGreaterThanOrEqual(20 * slow[i - 1]!.reply.stats_us);
    }
  } finally {
    await h.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
