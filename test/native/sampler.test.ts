// The native sampler's stop: SIGTERM ends it at once with its last batch written, whatever
// its smaps_rollup thread is waiting for (after a slow read at a burst's peak that wait is
// up to 500 x the read's time: seconds).
import { spawn } from 'node:child_process';
import { execa } from 'execa';
import { afterEach, expect, it } from 'vitest';
import { binaryPath } from '../../harness/core/paths.js';

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
