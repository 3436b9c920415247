// Targets never outlive the harness: after SIGINT, SIGTERM or SIGKILL of the harness
// mid-run no process of the target (nor its helper) is left. A target that daemonizes is
// refused and its forked child killed; a target that dies mid-run fails its trial with
// its exit and last stderr, and the next variant still runs.
import { rmSync } from 'node:fs';
import { execa } from 'execa';
import { afterAll, expect, it } from 'vitest';
import { BUILD_DIR } from '../../harness/core/paths.js';
import { latestRun, lab, relayTarget, tempDir, writeScenario, writeScript } from './helpers.js';

const dir = tempDir('leaklab-target-rel-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function pids(pattern: string): Promise<string[]> {
  const r = await execa('pgrep', ['-f', pattern], { reject: false });
  return r.stdout.split('\n').filter(Boolean);
}
const labPrograms = `^${BUILD_DIR}/(relay-glibc|upstream|loadgen|sampler)`;

const longRun = writeScenario(dir, 'long', {
  name: 'long', target: relayTarget(), variants: ['glibc'],
  phases: [{ name: 'baseline', duration: '500ms', load: { closed: 4, size: '4KiB' } }, { name: 'load', duration: '60s', load: { closed: 16, size: '16KiB' } }],
});

it.each(['SIGINT', 'SIGTERM', 'SIGKILL'] as const)('%s of the harness mid-run leaves no process of the target', async (signal) => {
  expect(await pids(labPrograms)).toEqual([]);
  const child = lab(['--scenario', longRun, '--out', dir]);
  let stderr = '';
  await new Promise<void>((resolve) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes(': baseline ')) resolve();  // the baseline's line is printed as it ends: the load phase has started
    });
  });
  expect((await pids(`^${BUILD_DIR}/relay-glibc`)).length).toBe(1);
  expect((await pids(`^${BUILD_DIR}/upstream`)).length).toBe(1);
  child.kill(signal);
  const r = await child;
  if (signal !== 'SIGKILL') expect(r.exitCode).toBe(130);
  // SIGKILL: the kernel's PR_SET_PDEATHSIG (set by leaklab-launch) kills the target and helper.
  for (let i = 0; i < 50 && (await pids(labPrograms)).length; i++) await new Promise((res) => setTimeout(res, 100));
  expect(await pids(labPrograms)).toEqual([]);
});

it('a target that daemonizes is refused with a clear message, and its forked child is killed', async () => {
  // Forks a "server" (a sleep with a marker) and exits 0, as a daemon's first process does.
  const daemon = writeScript(dir, 'daemon.sh', 'sleep 73.5 &\nexit 0');
  const file = writeScenario(dir, 'daemon', {
    name: 'daemon', target: { command: [daemon, '{port}'], release: { method: 'command', command: ['true'] } },
    phases: [{ name: 'a', duration: '500ms' }],
  });
  const r = await lab(['--scenario', file, '--out', dir]);
  expect(r.exitCode).toBe(1);
  expect(r.stderr).toMatch(/exited before it was ready \(exit code 0\): its first process exited with code 0 before it was ready, so it daemonizes/);
  expect(await pids('sleep 73.5')).toEqual([]);
});

it('a readiness timeout names what was awaited', async () => {
  const file = writeScenario(dir, 'never', {
    name: 'never', target: { command: ['sleep', '30', '{port}'], ready: { tcp: '{port}', timeout: '1s' }, release: { method: 'command', command: ['true'] } },
    phases: [{ name: 'a', duration: '500ms' }],
  });
  const r = await lab(['--scenario', file, '--out', dir]);
  expect(r.exitCode).toBe(1);
  expect(r.stderr).toMatch(/target sleep was not ready within 1000 ms: waited for a TCP connection to 127\.0\.0\.1:\d+ \(ready\.tcp '\{port\}'\)/);
});

it('a target that dies mid-run fails its trial with its exit and last stderr; the next variant runs; results are kept', async () => {
  // The load command kills the target in the first variant only (a marker file says so).
  const killer = writeScript(dir, 'kill-once.sh', `if [ ! -e "${dir}/killed" ]; then touch "${dir}/killed"; kill -9 "$1"; fi\nsleep 5`);
  const file = writeScenario(dir, 'dies', {
    name: 'dies', target: relayTarget(), variants: ['glibc', 'tcmalloc'],
    phases: [
      { name: 'baseline', duration: '500ms', load: { closed: 4, size: '4KiB' } },
      { name: 'kill', duration: '1500ms', load: { command: [killer, '{pid}'] } },
      { name: 'after', duration: '300ms', actions: ['release'] },
    ],
  });
  const r = await lab(['--scenario', file, '--out', dir]);
  expect(r.exitCode).toBe(1);
  expect(r.stderr).toMatch(/dies \/ glibc \/ trial 1: target .*relay-glibc killed by SIGKILL; last stderr:\n\s+relay: 2 worker threads/);
  const { run, trials, summary, processes } = latestRun(dir);
  expect(run.status).toBe('failed');
  expect(trials.map((t) => [t.variant, t.status])).toEqual([['glibc', 'failed'], ['tcmalloc', 'complete']]);
  expect(summary.find((s) => s.variant === 'tcmalloc')!.trials).toBe(1);
  expect(processes.some((p) => p.role === 'target' && p.variant === 'glibc' && p.exit.signal === 'SIGKILL')).toBe(true);
  expect(await pids(labPrograms)).toEqual([]);
});
