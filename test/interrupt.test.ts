// Interrupting a run: every child stops, the exit code is 130, and what was measured is
// kept and marked.
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, expect, it } from 'vitest';
import { BUILD_DIR, ROOT } from '../harness/core/paths.js';
import { LAB, NODE } from './lab-cli.js';

const out = mkdtempSync(join(tmpdir(), 'leaklab-int-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** PIDs of running programs started from build/native. */
async function nativePids(): Promise<string[]> {
  const r = await execa('pgrep', ['-f', `^${BUILD_DIR}/`], { reject: false });
  return r.stdout.split('\n').filter(Boolean);
}

it.each(['SIGINT', 'SIGTERM'] as const)('%s stops every child, exits 130 and marks the run interrupted', async (signal) => {
  expect(await nativePids()).toEqual([]);
  const child = execa(NODE, [...LAB, '--scenario', 'burst', '--quick', '--variants', 'tcmalloc,glibc', '--out', out], {
    cwd: ROOT, reject: false, env: { FORCE_COLOR: '0' },
  });
  let stderr = '';
  await new Promise<void>((resolve) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes(': baseline ')) resolve();  // the baseline's line is printed as it ends: the burst has started
    });
  });
  expect((await nativePids()).length).toBeGreaterThanOrEqual(3);
  const sentAt = performance.now();
  child.kill(signal);
  const r = await child;
  const gone = performance.now() - sentAt;
  expect(r.exitCode).toBe(130);
  expect(gone).toBeLessThan(2000);
  expect(await nativePids()).toEqual([]);
  const dir = join(out, readlinkSync(join(out, 'latest')));
  const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
  expect(run.status).toBe('interrupted');
  expect(run.endedAt).toBeTruthy();
  const csv = readFileSync(join(dir, 'samples.csv'), 'utf8').trimEnd().split('\n');
  // The baseline's samples at least (statm every 10 ms, every 50 ms while RSS holds still).
  expect(csv.length).toBeGreaterThan(20);
  const width = csv[0]!.split(',').length;
  for (const line of csv) expect(line.split(',').length).toBe(width);
  expect(existsSync(join(dir, 'summary.json'))).toBe(true);
  const trials = readFileSync(join(dir, 'trials.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(trials.map((t) => t.status)).toContain('interrupted');
});
