// The gate, shards and merge as a user runs them: `npm run lab -- ...` (its command
// from package.json, test/lab-cli.ts) on real runs: `lab gate` on a copy of the suite's
// shared burst --quick on the four allocators (test/support/shared-runs.ts), and two real
// shards of burst --quick on two. (`lab run --gate` itself: test/targets/gate.test.ts.)
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../harness/core/paths.js';
import type { SummaryRow } from '../../harness/core/types.js';
import { labInProcess as inProcess } from '../support/in-process.js';
import { LAB, NODE } from '../lab-cli.js';
import { sharedRun } from '../support/shared-runs.js';

const tmp = mkdtempSync(join(tmpdir(), 'leaklab-gate-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function lab(args: string[], env: Record<string, string> = {}) {
  return execa(NODE, [...LAB, ...args], { cwd: ROOT, reject: false, timeout: 180_000, env: { FORCE_COLOR: '0', GITHUB_STEP_SUMMARY: '', ...env } });
}

function ceilingsFile(name: string, content: unknown): string {
  const path = join(tmp, name);
  writeFileSync(path, JSON.stringify(content));
  return path;
}

const tooLow = ceilingsFile('too-low.json', { 'burst --quick': { '*': { peakRss: '1MiB' }, tcmalloc: { releasedRss: '1GiB' } } });
const generous = ceilingsFile('generous.json', { 'burst --quick': { '*': { peakRss: '4GiB', releasedRss: '1GiB' } }, burst: { '*': { peakRss: '4GiB' } } });
const QUICK = ['--scenario', 'burst', '--quick', '--variants', 'glibc,tcmalloc'];
/** Shards and merge are mechanics: a 2.5 s scenario on two variants does (test/fixtures/scenarios/mini.json). */
const MINI = ['--scenario', join(ROOT, 'test', 'fixtures', 'scenarios', 'mini.json'), '--variants', 'glibc,tcmalloc'];
const miniCeilings = ceilingsFile('mini.json', { mini: { '*': { peakRss: '4GiB', releasedRss: '1GiB' } } });

/** The run folder a run printed (`results: <dir>`). */
function runDir(stdout: string): string {
  const m = /^results: (.+)$/m.exec(stdout);
  if (!m) throw new Error(`no results line in:\n${stdout}`);
  return m[1]!.trim();
}

const cells = (s: SummaryRow[]) => s.map((r) => `${r.scenario}/${r.variant}/${r.trials}`).sort();
const readSummary = (dir: string) => JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as SummaryRow[];

describe('bad ceilings exit 2 before anything runs', () => {
  it.each([
    [{ 'burst --quick': { '*': { peakRSS: '1MiB' } } }, /unknown metric 'peakRSS'/],
    [{ 'burst --quick': { hoard: { peakRss: '1MiB' } } }, /unknown variant 'hoard'/],
    [{ burst: { '*': { peakRss: '1MiB' } } }, /no ceiling in .* applies to this run; add entries under 'burst --quick'/],
  ])('%j', async (content, message) => {
    const r = await inProcess([...QUICK, '--gate', '--ceilings', ceilingsFile('bad.json', content), '--out', join(tmp, 'never')]);
    expect(r.stderr).toMatch(message);
    expect(r.exitCode).toBe(2);
    expect(existsSync(join(tmp, 'never'))).toBe(false);
  });
});

it('--ceilings without --gate exits 2', async () => {
  const r = await inProcess([...QUICK, '--ceilings', generous, '--out', join(tmp, 'never')]);
  expect(r.stderr).toMatch(/--ceilings: .* expected it together with --gate/);
  expect(r.exitCode).toBe(2);
});

describe('--gate, gate, --shard and merge on real runs', () => {
  let whole = '';

  it('a ceiling far too low: exit 1, the exceeded metric printed, junit.xml with a failure', async () => {
    // A copy: the gate writes junit.xml and its section of report.md into the folder it gates.
    const shared = await sharedRun('burst');
    expect(shared.exitCode, shared.stderr).toBe(0);
    whole = join(tmp, 'whole');
    cpSync(shared.dir, whole, { recursive: true });
    const summaryFile = join(tmp, 'step-summary.md');
    const r = await lab(['gate', whole, '--ceilings', tooLow], { GITHUB_STEP_SUMMARY: summaryFile });
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/burst --quick\s+glibc\s+peakRss\s+1MiB\s+[\d.]+ MiB\s+exceeded by [\d.]+ MiB/);
    // peakRss of the four (over) and tcmalloc's releasedRss (under 1 GiB).
    expect(r.stdout).toMatch(/gate failed: 4 of 5 checks over their limit/);
    const junit = readFileSync(join(whole, 'junit.xml'), 'utf8');
    expect(junit).toContain('failures="4"');
    expect(junit).toMatch(/<failure message="burst --quick \/ tcmalloc \/ peakRss: [\d.]+ MiB is over the ceiling 1MiB, exceeded by/);
    expect(readFileSync(summaryFile, 'utf8')).toContain('### leak-lab gate: failed');
    expect(readFileSync(join(whole, 'report.md'), 'utf8')).toContain('<!-- leak-lab gate -->');
  });

  it('the shipped scenarios/ceilings.ts (the default) passes the quick burst', async () => {
    // The file CI gates with, not a test's own: peakRss and releasedRss for every variant,
    // glibc's and mimalloc's retention, and each allocator's retainedRss but glibc's.
    const r = await lab(['gate', whole]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/gate passed: 13 of 13 checks within their limits/);
  });

  it('a generous ceiling: `gate <run-dir>` exits 0', async () => {
    const r = await lab(['gate', whole, '--ceilings', generous]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/gate passed: 8 of 8 checks within their limits; 1 not run/);
    expect(readFileSync(join(whole, 'junit.xml'), 'utf8')).toContain('failures="0"');
  });

  it('--shard 1/2 + --shard 2/2 + merge: the same scenario x variant set as the unsharded run', async () => {
    const shards = join(tmp, 'shards');
    const one = await lab([...MINI, '--shard', '1/2', '--gate', '--ceilings', miniCeilings, '--out', shards]);
    expect(one.exitCode, one.stderr).toBe(0);
    expect(one.stdout).toMatch(/gate passed: 2 of 2 checks within their limits; 2 not run/);  // tcmalloc is in shard 2
    const two = await lab([...MINI, '--shard', '2/2', '--out', shards]);
    expect(two.exitCode, two.stderr).toBe(0);
    const dirs = [runDir(one.stdout), runDir(two.stdout)];
    expect(dirs[0]).toMatch(/-shard1of2$/);
    expect(JSON.parse(readFileSync(join(dirs[1]!, 'run.json'), 'utf8')).shard).toEqual({ index: 2, count: 2 });
    expect(cells(readSummary(dirs[0]!))).toEqual(['mini/glibc/1']);

    const merged = join(tmp, 'merged');
    const m = await lab(['merge', ...dirs, '--out', merged]);
    expect(m.exitCode, m.stderr).toBe(0);
    expect(cells(readSummary(merged))).toEqual(['mini/glibc/1', 'mini/tcmalloc/1']);
    // Recomputed from trials.jsonl: the same rows (metrics and verdicts) the shards computed.
    expect(readSummary(merged)).toEqual([...readSummary(dirs[0]!), ...readSummary(dirs[1]!)]);
    expect(readSummary(merged).map((r) => r.variant)).toEqual(['glibc', 'tcmalloc']);  // run order
    const run = JSON.parse(readFileSync(join(merged, 'run.json'), 'utf8'));
    expect(run.status).toBe('complete');
    expect(run.mergedFrom.map((f: { shard: unknown }) => f.shard)).toEqual([{ index: 1, count: 2 }, { index: 2, count: 2 }]);
    const csv = readFileSync(join(merged, 'samples.csv'), 'utf8').split('\n');
    expect(csv.filter((l) => l.startsWith('scenario,'))).toHaveLength(1);
    expect(new Set(csv.slice(1).filter(Boolean).map((l) => l.split(',')[1]))).toEqual(new Set(['glibc', 'tcmalloc']));
    for (const f of ['events.jsonl', 'trials.jsonl', 'summary.csv', 'report.md', 'report.html']) expect(readdirSync(merged)).toContain(f);
    expect(readFileSync(join(merged, 'trials.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);

    const g = await lab(['gate', merged, '--ceilings', miniCeilings]);
    expect(g.exitCode, g.stderr).toBe(0);

    // A shard given twice is not a merge of one run's shards; a missing shard fails the merge.
    expect((await lab(['merge', dirs[0]!, dirs[0]!, '--out', join(tmp, 'twice')])).exitCode).toBe(2);
    const half = await lab(['merge', dirs[0]!, '--out', join(tmp, 'half')]);
    expect(half.exitCode).toBe(1);
    expect(half.stderr).toContain('shard 2/2 is missing from the merge');
  });
});
