// The lab as a user runs it: `npm run lab -- ...` (its command from package.json), real
// processes, real files.
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../harness/core/paths.js';
import type { SummaryRow } from '../harness/core/types.js';
import { LAB, NODE } from './lab-cli.js';
import { sharedRun } from './support/shared-runs.js';

const out = mkdtempSync(join(tmpdir(), 'leaklab-cli-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function lab(args: string[], timeout = 180_000) {
  return execa(NODE, [...LAB, ...args], { cwd: ROOT, reject: false, timeout, env: { FORCE_COLOR: '0' } });
}

describe('bad input exits 2 and names the flag or file', () => {
  it.each([
    [['--scenario', 'nope'], /unknown scenario 'nope'; valid: .*burst/],
    [['--scenario', 'burst', '--variants', 'glibc,hoard'], /--variants: unknown variant 'hoard'; valid: glibc, tcmalloc, jemalloc, mimalloc/],
    [['--scenario', 'burst', '--trials', '0'], /--trials: '0' is not valid; expected an integer >= 1/],
    [['--scenario', 'burst', '--seed', 'abc'], /--seed: 'abc' is not valid/],
    [['--scenario', 'burst', '--bogus'], /unknown option '--bogus'/],
    [[], /--scenario: .*expected one of .*burst/],
    [['--scenario', 'scenarios/does-not-exist.ts'], /cannot load scenario .*does-not-exist.ts: no such file/],
  ])('%j', async (args, message) => {
    const r = await lab(args);
    expect(r.stderr).toMatch(message);
    expect(r.exitCode).toBe(2);
  });
});

describe('lab list', () => {
  it('prints every variant with availability and version as JSON', async () => {
    const r = await lab(['list', '--json']);
    expect(r.exitCode).toBe(0);
    const list = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    expect(list.map((v) => v.id)).toEqual(expect.arrayContaining(['glibc', 'tcmalloc', 'jemalloc', 'mimalloc', 'as-built']));
    for (const v of list) {
      expect(Object.keys(v).sort()).toEqual(['allocator', 'available', 'id', 'reason', 'version']);
      expect(v.available).toBe(true);
      // as-built (targets only) has no library of its own: its allocator is known at run time.
      if (v.id === 'as-built') expect([v.allocator, v.version]).toEqual([null, null]);
      else expect(v.version).toMatch(/\d/);
    }
  });
});

describe('lab --scenario burst --quick on the four allocators (the suite\'s shared run)', () => {
  it('runs, writes every file, and shows the story', async () => {
    const r = await sharedRun('burst');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/results: /);
    expect(r.stdout).toContain('RSS over time');
    const dir = r.dir;
    for (const f of ['run.json', 'samples.csv', 'events.jsonl', 'trials.jsonl', 'summary.json', 'summary.csv']) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
    expect(run.status).toBe('complete');
    expect(run.environment.allocators.tcmalloc.reported).toMatch(/\d/);
    expect(run.environment.kernel).toBeTruthy();
    const csv = readFileSync(join(dir, 'samples.csv'), 'utf8').split('\n');
    // The columns docs/reports.md ("The run folder") documents, in that order.
    expect(csv[0]).toBe('scenario,variant,trial,t_ms,phase,source,rss_bytes,smaps_rss_bytes,private_dirty_bytes,lazyfree_bytes,'
      + 'live_request_bytes,live_request_count,live_response_bytes,live_response_count,alloc_allocated_bytes,alloc_free_bytes,'
      + 'alloc_unmapped_bytes,leaked_request_bytes,live_log_bytes,policy_releases,stats_us');
    expect(csv.length).toBeGreaterThan(500);
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as SummaryRow[];
    expect(summary.map((s) => s.variant)).toEqual(['glibc', 'tcmalloc', 'jemalloc', 'mimalloc']);
    const tc = summary.find((s) => s.variant === 'tcmalloc')!;
    const gl = summary.find((s) => s.variant === 'glibc')!;
    console.log(JSON.stringify(summary.map((s) => ({ v: s.variant, ...Object.fromEntries(Object.entries(s.metrics).map(([k, m]) => [k, m.median])) }))));
    expect(tc.metrics.peakLive!.median).toBeGreaterThanOrEqual(150 * 1024 * 1024);
    expect(tc.metrics.retention!.median).toBeGreaterThanOrEqual(0.8);
    expect(tc.metrics.releaseEfficiency!.median).toBeGreaterThanOrEqual(0.9);
    expect(gl.metrics.releasedRss!.median!).toBeLessThan(gl.metrics.retainedRss!.median!);
    expect(tc.verdict!.kind).toBe('retention');
    expect(tc.verdict!.remedy).toContain('ReleaseFreeMemory');
    for (const s of summary) {
      expect(s.metrics.peakRss!.median! / s.metrics.vmHwm!.median!).toBeGreaterThan(0.95);
    }
  });

  it('--json prints summary.json and nothing else on stdout', async () => {
    const r = await lab(['--scenario', join(ROOT, 'test', 'fixtures', 'scenarios', 'mini.json'), '--variants', 'glibc', '--out', out, '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const parsed = JSON.parse(r.stdout) as SummaryRow[];
    expect(parsed).toHaveLength(1);
    expect(parsed[0]).toMatchObject({ scenario: 'mini', variant: 'glibc', allocator: 'glibc', trials: 1 });
  });
});
