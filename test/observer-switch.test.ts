// Measurement trust, as a user meets it through `npm run lab`: a release whose allocator
// call fails is a visible error of its trial (exit 1, the message in run.json and on the
// terminal, no releasedRss); --no-stats-poll stops the 100 ms counters poll.
import { mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { execa } from 'execa';
import { afterAll, expect, it } from 'vitest';
import { ROOT } from '../harness/core/paths.js';
import { LAB, NODE } from './lab-cli.js';

const out = mkdtempSync(join(tmpdir(), 'leaklab-observer-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function lab(args: string[], env: Record<string, string> = {}) {
  return execa(NODE, [...LAB, ...args], { cwd: ROOT, reject: false, timeout: 180_000, env: { FORCE_COLOR: '0', ...env } });
}

const latest = (dir: string) => join(dir, readlinkSync(join(dir, 'latest')));
/** 2.5 s of load, idle and release: what these checks need, in a third of burst --quick's time. */
const MINI = join(ROOT, 'test', 'fixtures', 'scenarios', 'mini.json');

it('a release whose mallctl fails fails its trial, says why, and yields no releasedRss', async () => {
  const dir = join(out, 'failed-release');
  // Test-only knob (native/src/alloc/jemalloc.cc): purge an arena that does not exist, a
  // real mallctl call that really fails with ENOENT. The relay inherits the harness's env.
  const r = await lab(['--scenario', MINI, '--variants', 'jemalloc', '--out', dir], { LEAKLAB_TEST_JEMALLOC_PURGE_ARENA: '4095' });
  expect(r.exitCode, r.stderr).toBe(1);
  const detail = 'mallctl("arena.4095.purge") returned 2 (No such file or directory) in the process-wide step';
  const message = `release failed: ${detail}`;
  expect(r.stderr).toContain(`mini / jemalloc / trial 1: ${message}`);
  const run = latest(dir);
  const info = JSON.parse(readFileSync(join(run, 'run.json'), 'utf8'));
  expect(info.status).toBe('failed');
  expect(info.errors).toEqual([`mini / jemalloc / trial 1: ${message}`]);
  const [trial] = readFileSync(join(run, 'trials.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(trial.status).toBe('failed');
  expect(trial.metrics.releasedRss).toBeNull();
  expect(trial.metrics.releaseEfficiency).toBeNull();
  expect(trial.metrics.retainedRss).toBeGreaterThan(0);  // what was measured before it is kept
  const release = readFileSync(join(run, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).find((e) => e.type === 'release');
  expect(release).toMatchObject({ ok: false, error: detail });
  expect(release.calls.find((c: { ok: boolean }) => !c.ok)).toMatchObject({ thread: 'process', rc: 2 });
});

it('--no-stats-poll: no counters sample but the final one; run.json says so', async () => {
  const dir = join(out, 'no-poll');
  const r = await lab(['--scenario', MINI, '--variants', 'glibc', '--no-stats-poll', '--out', dir]);
  expect(r.exitCode, r.stderr).toBe(0);
  const run = latest(dir);
  expect(JSON.parse(readFileSync(join(run, 'run.json'), 'utf8')).statsPolling).toBe(false);
  const rows = parse(readFileSync(join(run, 'samples.csv'), 'utf8'), { columns: true }) as Array<Record<string, string>>;
  const stats = rows.filter((x) => x.source === 'stats');
  const counters = stats.filter((x) => x.live_request_bytes !== '');
  expect(counters).toHaveLength(1);  // the runner's last sample, after the schedule
  expect(stats.length).toBeGreaterThan(counters.length);  // smaps_rollup is still read from outside
  // statm every 10 ms, every 50 ms while RSS holds still: 83 rows in 2.5 s measured.
  expect(rows.filter((x) => x.source === 'statm').length).toBeGreaterThan(40);
});
