// A target that forks a worker (prefork servers do): the lab follows the target's first
// process, so the worker's memory is outside the results, and the run must say so rather
// than report a small RSS as the server's.
import { readFileSync, rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { binaryPath } from '../../harness/core/paths.js';
import { lab, latestRun, tempDir, writeScenario } from './helpers.js';

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

function scenario(args: string[]) {
  return {
    name: 'prefork', target: { command: [binaryPath('test_host'), '{port}', ...args], release: { method: 'probe' } },
    variants: ['as-built'], phases: [{ name: 'baseline', duration: '1s' }, { name: 'idle', duration: '1s', actions: ['release'] }],
  };
}

describe('a target with a worker process', () => {
  it('the run warns that 64 MiB in 1 child process are not in the results, in the terminal, run.json and report.md', async () => {
    const out = tempDir('leaklab-prefork-');
    dirs.push(out);
    const r = await lab(['--scenario', writeScenario(out, 'prefork', scenario(['worker=64'])), '--out', out]);
    expect(r.exitCode, r.stderr).toBe(0);
    const { run, trials, dir } = latestRun(out);
    expect(trials[0]!.descendants.processes).toBe(1);
    expect(trials[0]!.descendants.rssBytes).toBeGreaterThan(64 * 2 ** 20);
    expect(run.warnings).toHaveLength(1);
    expect(run.warnings[0]).toMatch(/^prefork \/ as-built \/ trial 1: the target had 1 child process\(es\) holding up to 6\d\.\d MiB of RSS, which these results do not include/);
    expect(r.stderr).toContain(run.warnings[0]);
    expect(readFileSync(`${dir}/report.md`, 'utf8')).toContain('**Warnings:**');
  });

  it('without the worker: no warning', async () => {
    const out = tempDir('leaklab-prefork-');
    dirs.push(out);
    const r = await lab(['--scenario', writeScenario(out, 'single', { ...scenario([]), name: 'single' }), '--out', out]);
    expect(r.exitCode, r.stderr).toBe(0);
    const { run, trials } = latestRun(out);
    expect(trials[0]!.descendants).toEqual({ processes: 0, rssBytes: 0 });
    expect(run.warnings).toBeUndefined();
    expect(r.stderr).not.toContain('warning');
  });
});
