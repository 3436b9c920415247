// --trials runs each trial with its own seed (base + trial - 1), recorded per trial, so
// the spread across trials includes the workload's variance; --seed sets the base.
import { mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, expect, it } from 'vitest';
import { ROOT } from '../harness/core/paths.js';
import { LAB, NODE } from './lab-cli.js';

const out = mkdtempSync(join(tmpdir(), 'leaklab-seeds-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

it('gives trial i the seed base + i - 1 and records it in trials.jsonl and run.json', async () => {
  const file = join(out, 'tiny.json');
  writeFileSync(file, JSON.stringify({
    name: 'tiny', seed: 5, upstream: { delay: '1ms', response: 64 },
    phases: [{ name: 'baseline', duration: '200ms', load: { closed: 2, size: { uniform: ['1KiB', '8KiB'] } } }, { name: 'idle', duration: '200ms' }],
  }));
  const r = await execa(NODE, [...LAB, '--scenario', file, '--trials', '3', '--seed', '100', '--variants', 'glibc', '--out', out],
    { cwd: ROOT, reject: false, timeout: 120_000, env: { FORCE_COLOR: '0' } });
  expect(r.exitCode, r.stderr).toBe(0);
  const dir = join(out, readlinkSync(join(out, 'latest')));
  const trials = readFileSync(join(dir, 'trials.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { trial: number; seed: number });
  expect(trials.map((t) => [t.trial, t.seed])).toEqual([[1, 100], [2, 101], [3, 102]]);
  const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as { scenarios: Array<{ seed: number; seeds: number[] }> };
  expect(run.scenarios[0]).toMatchObject({ seed: 100, seeds: [100, 101, 102] });
  expect(readFileSync(join(dir, 'report.md'), 'utf8')).toContain('seeds 100-102 (one per trial)');
});
