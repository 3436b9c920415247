// Process hygiene and reproducibility with real processes: a harness killed outright
// leaves nothing running; a child that dies fails only its variant; three trials agree.
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, expect, it } from 'vitest';
import { BUILD_DIR, ROOT } from '../harness/core/paths.js';
import { runTrial } from '../harness/trial/runner.js';
import { checkedSubject } from '../harness/subjects/index.js';
import { loadScenario } from '../harness/scenario/scenario.js';
import { median } from '../harness/analysis/stats.js';
import type { TrialMetrics } from '../harness/core/types.js';
import { VARIANTS } from '../harness/allocators/variants.js';
import { LAB, NODE } from './lab-cli.js';

const out = mkdtempSync(join(tmpdir(), 'leaklab-rel-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** PIDs of the programs from build/native that `parent` started (optionally only those
 * whose command line starts with build/native/`name`). Scoped to one harness, because
 * other test files may run the lab at the same time. */
async function nativeChildren(parent: number, name = ''): Promise<number[]> {
  const r = await execa('pgrep', ['-P', String(parent), '-f', `^${BUILD_DIR}/${name}`], { reject: false });
  return r.stdout.split('\n').filter(Boolean).map(Number);
}

/** Those of `pids` that still run (a zombie has exited: only its parent has not reaped it). */
function stillRunning(pids: number[]): number[] {
  return pids.filter((pid) => {
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  });
}

/** Listening TCP sockets owned by any of `pids`. */
async function listeners(pids: number[]): Promise<string[]> {
  const r = await execa('ss', ['-Hltnp'], { reject: false });
  return r.stdout.split('\n').filter((l) => pids.some((pid) => l.includes(`pid=${pid},`)));
}

function lab(args: string[]) {
  return execa(NODE, [...LAB, ...args], { cwd: ROOT, reject: false, env: { FORCE_COLOR: '0' } });
}

/** Resolves once the harness's stderr contains `text`. */
function stderrReaches(child: ReturnType<typeof lab>, text: string): Promise<void> {
  let stderr = '';
  return new Promise((resolve) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes(text)) resolve();
    });
  });
}

async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const t0 = performance.now();
  while (!(await check())) {
    if (performance.now() - t0 > ms) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return performance.now() - t0;
}

function file(dir: string, name: string, text: string): string {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
}

/** Small and short: the crash tests need a few seconds of load, not a story. */
const CRASH_SCENARIO = {
  name: 'crash', upstream: { delay: '200ms', response: '1KiB' }, connections: 8, seed: 7,
  phases: [
    { name: 'warm', duration: '300ms', load: { closed: 8, size: '4KiB' } },
    { name: 'burst', duration: '1500ms', load: { closed: 64, size: { uniform: ['16KiB', '64KiB'] } } },
    { name: 'idle', duration: '300ms' },
  ],
};

function latestRun(dir: string): string {
  return join(dir, readlinkSync(join(dir, 'latest')));
}

it('SIGKILL of the harness: the native programs exit on their own within 2 s', async () => {
  const child = lab(['--scenario', 'burst', '--quick', '--variants', 'glibc', '--out', out]);
  await stderrReaches(child, ': baseline ');  // the baseline's line is printed as it ends
  const pids = await nativeChildren(child.pid!);
  expect(pids).toHaveLength(4);  // upstream, relay, sampler, loadgen
  expect((await listeners(pids)).length).toBeGreaterThanOrEqual(3);  // upstream, relay's port and admin port
  child.kill('SIGKILL');
  const r = await child;
  expect(r.signal).toBe('SIGKILL');
  const waited = await within(2000, async () => stillRunning(pids).length === 0 && (await listeners(pids)).length === 0);
  const left = stillRunning(pids);
  for (const pid of left) process.kill(pid, 'SIGKILL');  // no orphans for the next test, even on failure
  expect(left).toEqual([]);
  expect(await listeners(pids)).toEqual([]);
  expect(waited).toBeLessThan(2000);
});

// (A SIGKILLed relay writes no stderr; the next test covers the last stderr lines.)
it('a relay killed mid-run fails its variant with its exit; the other variant completes; reports written; exit 1', async () => {
  const dir = mkdtempSync(join(out, 'crash-'));
  const scenarioFile = file(dir, 'crash.json', JSON.stringify(CRASH_SCENARIO));
  const child = lab(['--scenario', scenarioFile, '--variants', 'glibc,tcmalloc', '--out', dir]);
  await stderrReaches(child, 'crash glibc trial 1/1: warm ');
  const relays = await nativeChildren(child.pid!, 'relay-glibc');
  expect(relays).toHaveLength(1);
  const others = await nativeChildren(child.pid!);
  process.kill(relays[0]!, 'SIGKILL');
  const r = await child;
  expect(r.exitCode, r.stderr).toBe(1);
  expect(r.stderr).toMatch(/run failed/);
  expect(r.stderr).toMatch(/relay-glibc killed by SIGKILL/);
  expect(stillRunning(others)).toEqual([]);  // the failed trial's upstream, sampler and loadgen were stopped
  const run = latestRun(dir);
  const info = JSON.parse(readFileSync(join(run, 'run.json'), 'utf8'));
  expect(info.status).toBe('failed');
  expect(info.errors).toHaveLength(1);
  expect(info.errors[0]).toMatch(/^crash \/ glibc \/ trial 1: relay-glibc killed by SIGKILL/);
  const trials = readFileSync(join(run, 'trials.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(trials.map((t) => [t.variant, t.status])).toEqual([['glibc', 'failed'], ['tcmalloc', 'complete']]);
  for (const f of ['summary.json', 'summary.csv', 'samples.csv', 'report.md', 'report.html']) {
    expect(existsSync(join(run, f)), f).toBe(true);
  }
  expect(readFileSync(join(run, 'report.md'), 'utf8')).toContain('relay-glibc killed by SIGKILL');
});

it('a relay that dies after writing to stderr: the trial fails with its exit code and last stderr lines', async () => {
  const dir = mkdtempSync(join(out, 'stderr-'));
  // The relay behind a small Node wrapper that, 1 s in, says why on stderr and dies.
  const wrapper = file(dir, 'crashing-relay.mjs', [
    "import { spawn } from 'node:child_process';",
    'const [bin, ...args] = process.argv.slice(2);',
    "const relay = spawn(bin, args, { stdio: 'inherit' });",
    'setTimeout(() => {',
    "  process.stderr.write('relay: simulated crash: out of cheese\\nrelay: last words\\n');",
    "  relay.on('exit', () => process.exit(70));",
    "  relay.kill('SIGKILL');",
    '}, 1000);',
  ].join('\n'));
  const { scenario } = await loadScenario(file(dir, 'crash.json', JSON.stringify(CRASH_SCENARIO)));
  const { trace } = await runTrial({
    scenario, ...checkedSubject(scenario, 'crash.json'), variant: VARIANTS.find((v) => v.id === 'glibc')!, trial: 1, trials: 1, seed: 1, signal: new AbortController().signal,
    onSample: () => {}, onEvent: () => {}, launch: { wrapper: { command: process.execPath, args: [wrapper] } },
  });
  expect(trace.status).toBe('failed');
  expect(trace.error).toMatch(/^relay-glibc exit code 70; last stderr:\n(.*\n)*  relay: simulated crash: out of cheese\n  relay: last words$/);
});

it('a sampler that dies mid-trial fails the trial: RSS after it is missing, not taken from its last sample', async () => {
  const dir = mkdtempSync(join(out, 'sampler-'));
  const { scenario } = await loadScenario(file(dir, 'crash.json', JSON.stringify(CRASH_SCENARIO)));
  const killer = (async () => {
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const [pid] = await nativeChildren(process.pid, 'sampler');
      if (pid) {
        await new Promise((r) => setTimeout(r, 700));
        process.kill(pid, 'SIGKILL');
        return true;
      }
    }
    return false;
  })();
  const { trace } = await runTrial({
    scenario, ...checkedSubject(scenario, 'crash.json'), variant: VARIANTS.find((v) => v.id === 'glibc')!, trial: 1, trials: 1, seed: 1, signal: new AbortController().signal,
    onSample: () => {}, onEvent: () => {},
  });
  expect(await killer, 'the sampler was found and killed').toBe(true);
  expect(trace.status).toBe('failed');
  expect(trace.error).toBe('the sampler stopped before the trial ended (killed by SIGKILL): the RSS samples after it are missing');
});

it('burst --quick on tcmalloc, three trials: peak, retained and released RSS within 5% of their median (released: or 2% of the peak)', async () => {
  const dir = mkdtempSync(join(out, 'repro-'));
  const r = await lab(['--scenario', 'burst', '--quick', '--variants', 'tcmalloc', '--trials', '3', '--out', dir]);
  expect(r.exitCode, r.stderr).toBe(0);
  const trials = readFileSync(join(latestRun(dir), 'trials.jsonl'), 'utf8').trim().split('\n')
    .map((l) => JSON.parse(l) as { status: string; metrics: TrialMetrics });
  expect(trials).toHaveLength(3);
  // releasedRss is 10-15 MiB, of which ~9 MiB is not heap (stacks, libraries, tcmalloc's
  // metadata) and the rest sits in tcmalloc's caches: between trials it moves by 1-3.3 MiB
  // (e.g. 14.3, 11.2, 12.1 MiB in one full `npm test`; `npm run bench -- repro`: CV 4.9%).
  // 5% of 12 MiB is below that noise, so releasedRss is held to 5% of its median or 2% of
  // the peak (~4 MiB of a 200 MiB burst), whichever is larger.
  const peak = median(trials.map((t) => t.metrics.peakRss as number))!;
  const slack = { peakRss: 0, retainedRss: 0, releasedRss: 0.02 * peak };
  console.log(JSON.stringify(trials.map((t) => ({ status: t.status, peakRss: t.metrics.peakRss, retainedRss: t.metrics.retainedRss, releasedRss: t.metrics.releasedRss }))));
  for (const key of ['peakRss', 'retainedRss', 'releasedRss'] as const) {
    const values = trials.map((t) => t.metrics[key] as number);
    const m = median(values)!;
    expect(m, key).toBeGreaterThan(0);
    for (const v of values) expect(Math.abs(v - m), `${key}: ${values.join(', ')}`).toBeLessThanOrEqual(Math.max(0.05 * m, slack[key]));
  }
}, 180_000);
