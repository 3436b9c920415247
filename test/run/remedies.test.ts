// --remedies on the built-in burst (--quick) on tcmalloc and jemalloc, as a user runs it:
// each retention row is re-run with its allocator's remedies while a budget of 4 runs lasts
// (a swap to a variant the run measured reuses that row), and each remedy is measured
// against its row. The directions held here were measured 2026-12-03: a periodic release
// every second keeps 1-3 MiB of the 186-226 MiB the allocators kept; TCMALLOC_RELEASE_RATE=10
// keeps as much as the default (195 against 186 MiB: the rate acts only while the program
// allocates, and the idle allocates nothing).
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SummaryRow } from '../../harness/core/types.js';
import { lab, latestRun, tempDir } from '../targets/helpers.js';

const out = tempDir('leaklab-remedies-');
afterAll(() => rmSync(out, { recursive: true, force: true }));
const MiB = 1024 * 1024;

let exitCode = -1;
let stdout = '';
let stderr = '';
let dir = '';
let rows: SummaryRow[] = [];
let warnings: string[] = [];

beforeAll(async () => {
  const r = await lab(['--scenario', 'burst', '--quick', '--variants', 'tcmalloc,jemalloc', '--remedies', '--remedy-budget', '4', '--out', out], {}, 300_000);
  [exitCode, stdout, stderr] = [r.exitCode ?? -1, r.stdout, r.stderr];
  const run = latestRun(out);
  [dir, rows, warnings] = [run.dir, run.summary as SummaryRow[], run.run.warnings ?? []];
}, 320_000);

const row = (variant: string) => {
  const r = rows.find((x) => x.variant === variant);
  if (!r) throw new Error(`no row ${variant}; rows: ${rows.map((x) => x.variant).join(', ')}`);
  return r;
};

describe('lab run --remedies (burst --quick, tcmalloc and jemalloc, budget 4)', () => {
  it('runs the remedies in order while the budget lasts, reuses a measured swap, and says what it left out', () => {
    expect(exitCode, stderr).toBe(0);
    expect(rows.map((r) => r.variant)).toEqual([
      'tcmalloc', 'jemalloc',
      'tcmalloc+release-1s', 'tcmalloc+tcmalloc-rate10', 'tcmalloc+swap-jemalloc',
      'jemalloc+release-1s', 'jemalloc+jemalloc-decay0',
    ]);
    expect(warnings).toEqual(['burst / jemalloc+jemalloc-bg: not run, the --remedy-budget of 4 runs is spent']);
    expect(row('tcmalloc+swap-jemalloc').metrics.retainedRss).toEqual(row('jemalloc').metrics.retainedRss);
  });

  it('a periodic release fixes retention on both; the faster release rate does not', () => {
    for (const v of ['tcmalloc', 'jemalloc']) {
      const r = row(`${v}+release-1s`).remedy!;
      expect(r.of).toBe(v);
      expect(r.baseKeptBytes!, v).toBeGreaterThan(150 * MiB);
      expect(r.keptBytes!, v).toBeLessThan(0.1 * r.baseKeptBytes!);
      expect(row(`${v}+release-1s`).verdict!.kind, v).toBe('healthy');
    }
    const rate = row('tcmalloc+tcmalloc-rate10').remedy!;
    expect(rate.fixes).toBe(false);
    expect(rate.keptBytes!).toBeGreaterThan(0.5 * rate.baseKeptBytes!);
    // One trial each: the throughput is shown, not judged.
    expect(rate.conclusion).toMatch(/^TCMALLOC_RELEASE_RATE=10 kept [\d.]+ MiB instead of [\d.]+ MiB \([+-]\d+%\) at \d+% of the throughput, p99 [+-][\d.]+ ms \(cost not judged: 1 trial, run --trials 3\): it does not fix this$/);
  });

  it('the terminal and report.md list the conclusions, best first', () => {
    expect(stdout).toContain('Remedies, measured');
    expect(stdout).toContain('tcmalloc (retention): best: a periodic ReleaseFreeMemory() every 1 s');
    const md = readFileSync(join(dir, 'report.md'), 'utf8');
    expect(md).toContain('### Remedies, measured');
    // Both fix jemalloc's; the one that keeps less ranks first (decay 0 kept 0.0 MiB, the purge 1.1 MiB).
    expect(md).toMatch(/- \*\*jemalloc \(retention\): best: (MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0|a periodic arena purge every 1 s)\*\*/);
  });

  it('lab gate holds a remedied row to a ceiling: the periodic release holds 64 MiB, the release rate does not', async () => {
    const file = join(out, 'ceilings.json');
    writeFileSync(file, JSON.stringify({ 'burst --quick': { 'tcmalloc+release-1s': { retainedRss: '64MiB' } } }));
    const ok = await lab(['gate', dir, '--ceilings', file]);
    expect(ok.exitCode, ok.stdout + ok.stderr).toBe(0);
    writeFileSync(file, JSON.stringify({ 'burst --quick': { 'tcmalloc+tcmalloc-rate10': { retainedRss: '64MiB' } } }));
    const bad = await lab(['gate', dir, '--ceilings', file]);
    expect(bad.exitCode).toBe(1);
    expect(bad.stdout + bad.stderr).toContain('tcmalloc+tcmalloc-rate10');
  });
});
