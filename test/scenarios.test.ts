// Every scenario's --quick form, run as a user would, yields the expected verdicts. The leak
// and the burst are the suite's shared runs (test/support/shared-runs.ts).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../harness/core/paths.js';
import type { SummaryRow } from '../harness/core/types.js';
import { LAB, NODE } from './lab-cli.js';
import { sharedRun } from './support/shared-runs.js';

const out = mkdtempSync(join(tmpdir(), 'leaklab-scn-e2e-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

async function quick(scenario: string, variants?: string): Promise<SummaryRow[]> {
  const args = [...LAB, '--scenario', scenario, '--quick', '--json', '--out', out, ...(variants ? ['--variants', variants] : [])];
  const r = await execa(NODE, args, { cwd: ROOT, reject: false, timeout: 240_000, env: { FORCE_COLOR: '0' } });
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as SummaryRow[];
}

const verdicts = (rows: SummaryRow[]) => Object.fromEntries(rows.map((r) => [`${r.scenario}/${r.variant}`, r.verdict?.kind]));
const median = (r: SummaryRow, m: string) => r.metrics[m]?.median ?? null;

describe('scenario verdicts (--quick)', () => {
  let leakRps = 0;
  it('leak: leak on all four allocators, whatever they retain', async () => {
    // Profiled where the allocator can be (jemalloc, tcmalloc), as test/run/profile reads it.
    const shared = await sharedRun('leak');
    expect(shared.exitCode, shared.stderr).toBe(0);
    const rows = JSON.parse(readFileSync(join(shared.dir, 'summary.json'), 'utf8')) as SummaryRow[];
    expect(verdicts(rows)).toEqual({ 'leak/glibc': 'leak', 'leak/tcmalloc': 'leak', 'leak/jemalloc': 'leak', 'leak/mimalloc': 'leak' });
    for (const r of rows) {
      // 32,000 requests x 5% x 32 KiB = 50 MiB kept, whatever the machine's speed; the sizes
      // of the 1,600 leaked requests vary around 32 KiB (measured 48.0-48.4 MiB, 2026-12-03).
      expect(r.verdict!.evidence.liveGrowth).toBeGreaterThan(45 * 1024 * 1024);
      expect(median(r, 'leakSlope')).toBeGreaterThan(1000);  // 5% of 32 KiB = 1638 B/request
      expect(median(r, 'leakSlope')).toBeLessThan(2300);
    }
    leakRps = median(rows[0]!, 'throughput.steady')!;
  });

  it('leak at half the load rate (a machine half as fast): the same verdict on the same growth', async () => {
    expect(leakRps, 'the leak test above measures the full rate').toBeGreaterThan(0);
    const { default: leak } = await import('../scenarios/leak.js');
    const half = Math.round(leakRps / 2);
    const slow = { ...leak, quick: { ...leak.quick, phases: { ...leak.quick!.phases, steady: { duration: '60s', load: { rate: half, size: '32KiB', requests: 32_000 } } } } };
    const file = join(out, 'leak-half-rate.json');
    writeFileSync(file, JSON.stringify(slow));
    const rows = await quick(file, 'glibc');
    expect(verdicts(rows)).toEqual({ 'leak/glibc': 'leak' });
    for (const r of rows) {
      expect(median(r, 'throughput.steady')!, r.variant).toBeLessThan(leakRps * 0.6);
      expect(r.verdict!.evidence.liveGrowth).toBeGreaterThan(45 * 1024 * 1024);
    }
  });

  it('steady: healthy on all four allocators', async () => {
    const rows = await quick('steady');
    expect(verdicts(rows)).toEqual({ 'steady/glibc': 'healthy', 'steady/tcmalloc': 'healthy', 'steady/jemalloc': 'healthy', 'steady/mimalloc': 'healthy' });
  });

  it('fragmentation: glibc keeps pages pinned by live records after the release', async () => {
    const [row] = await quick('fragmentation', 'glibc');
    expect(row!.verdict!.kind).toBe('fragmentation');
    expect(row!.verdict!.evidence.excessAfterRelease).toBeGreaterThan(32 * 1024 * 1024);
  });

  it('release-policy: each arm is a scenario; the policies release, "none" does not', async () => {
    const rows = await quick('release-policy', 'tcmalloc');
    const by = Object.fromEntries(rows.map((r) => [r.scenario, r]));
    expect(Object.keys(by).sort()).toEqual(['release-policy-free-over', 'release-policy-idle', 'release-policy-none', 'release-policy-periodic']);
    expect(median(by['release-policy-none']!, 'policyReleases')).toBe(0);
    for (const arm of ['periodic', 'idle', 'free-over']) expect(median(by[`release-policy-${arm}`]!, 'policyReleases'), arm).toBeGreaterThan(0);
    expect(by['release-policy-none']!.verdict!.kind).toBe('retention');
    expect(median(by['release-policy-idle']!, 'retainedRss')!).toBeLessThan(median(by['release-policy-none']!, 'retainedRss')! / 2);
    expect(median(by['release-policy-periodic']!, 'relayCpuMs')).toBeGreaterThan(0);
  });

  it('burst-repeat: tcmalloc reuses what it kept, three bursts do not stack up', async () => {
    // Three equal bursts. A ratchet that stacked them would end pause 3 near 3x pause 1's
    // growth; reuse of the kept pages stays near 1x. Measured (burst-repeat --quick
    // --trials 2, loaded 2-core machine): tcmalloc pause-1 73-75 MiB, pause-3 85-88 MiB
    // over an 8 MiB baseline: 1.18x; jemalloc 1.26x. Bound: 1.5x.
    const [row] = await quick('burst-repeat', 'tcmalloc');
    for (const p of ['pause-1', 'pause-2', 'pause-3']) expect(median(row!, `rssEnd.${p}`), p).toBeGreaterThan(50 * 1024 * 1024);
    const base = median(row!, 'baselineRss')!;
    const first = median(row!, 'rssEnd.pause-1')! - base;
    const third = median(row!, 'rssEnd.pause-3')! - base;
    expect(third / first).toBeLessThan(1.5);
    expect(third / first).toBeGreaterThan(0.8);  // and it did keep them: no return to baseline between bursts
    expect(row!.verdict!.kind).toBe('retention');
  });

  it('churn: connections and threads come and go without errors', async () => {
    // A trial with load-generator request errors fails (test/load-errors.test.ts), so
    // failedTrials 0 means no request failed.
    const [row] = await quick('churn', 'jemalloc');
    expect(median(row!, 'peakLive')).toBeGreaterThan(32 * 1024 * 1024);
    expect(row!.failedTrials).toBe(0);
  });

  it('tuning: each tuned variant named in a finding moves retention the way it claims', async () => {
    // docs/findings.md "Tuning, measured". One run under load here (tuning --quick, load
    // average ~20): tcmalloc-rate0 1.00, tcmalloc-rate10 1.00, jemalloc 1.00,
    // jemalloc-decay0 0.16, jemalloc-bg 1.00, glibc 0.53, glibc-trim 0.01. glibc-arenas2
    // ("keeps more") rests on a single run and mimalloc-eager's 4% is within mimalloc's own
    // spread, so neither has a direction to hold yet.
    // The defaults (jemalloc, glibc) from the shared burst: tuning is the burst under another name.
    const rows = await quick('tuning', 'tcmalloc-rate0,tcmalloc-rate10,jemalloc-decay0,jemalloc-bg,glibc-trim');
    const shared = await sharedRun('burst');
    const defaults = JSON.parse(readFileSync(join(shared.dir, 'summary.json'), 'utf8')) as SummaryRow[];
    const by = Object.fromEntries([...rows, ...defaults].map((r) => [r.variant, r]));
    const retention = (v: string) => median(by[v]!, 'retention')!;
    expect(by['tcmalloc-rate0']!.verdict!.kind).toBe('retention');
    expect(retention('tcmalloc-rate0')).toBeGreaterThan(0.9);  // 0 = never returns by itself
    expect(retention('tcmalloc-rate10')).toBeGreaterThan(0.9);  // an idle process keeps its pages at any rate
    expect(retention('jemalloc-decay0')).toBeLessThan(0.5);  // purges at once
    expect(retention('jemalloc-decay0')).toBeLessThan(retention('jemalloc'));
    expect(retention('jemalloc-bg')).toBeGreaterThan(0.8);  // 1 s of idle is well inside the 10 s dirty_decay_ms
    expect(retention('glibc-trim')).toBeLessThan(retention('glibc'));  // trims the heap top past 128 KiB free
  });
});
