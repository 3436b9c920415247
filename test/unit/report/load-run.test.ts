// Reading a run folder back: samples.csv by column name, quoted fields, the charted trial
// (the first complete one), and a clear error for what is not a run folder.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { afterAll, describe, expect, it } from 'vitest';
import { LabError } from '../../../harness/core/errors.js';
import { loadRun } from '../../../harness/results/reader.js';
import { fakeRun } from './fake-run.js';

const root = mkdtempSync(join(tmpdir(), 'leaklab-load-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function runDir(name: string, rows: unknown[][]): string {
  const dir = join(root, name);
  mkdirSync(dir);
  const { info, summary } = fakeRun();
  writeFileSync(join(dir, 'run.json'), JSON.stringify(info));
  writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary));
  writeFileSync(join(dir, 'samples.csv'), stringify(rows));
  writeFileSync(join(dir, 'trials.jsonl'), [
    { scenario: 'burst', variant: 'glibc', trial: 1, status: 'failed' },
    { scenario: 'burst', variant: 'glibc', trial: 2, status: 'complete' },
  ].map((t) => JSON.stringify(t)).join('\n') + '\n');
  writeFileSync(join(dir, 'events.jsonl'), [
    { scenario: 'burst', variant: 'glibc', trial: 2, type: 'phase', tMs: 0, name: 'a, "b"', index: 0 },
    { scenario: 'burst', variant: 'glibc', trial: 2, type: 'release', tMs: 20, ok: true, releaseMs: 3.5, rssBeforeBytes: 9, rssAfterBytes: 1 },
    { scenario: 'burst', variant: 'glibc', trial: 1, type: 'phase', tMs: 0, name: 'other trial', index: 0 },
  ].map((e) => JSON.stringify(e)).join('\n') + '\n{"cut short');
  return dir;
}

describe('loadRun', () => {
  it('keeps the first complete trial, reads columns by name and quoted fields', async () => {
    const dir = runDir('ok', [
      ['t_ms', 'variant', 'scenario', 'trial', 'phase', 'source', 'rss_bytes', 'live_request_bytes', 'alloc_allocated_bytes'],
      [0, 'glibc', 'burst', 1, 'x', 'statm', 999, '', ''],
      [0, 'glibc', 'burst', 2, 'a, "b"\nc', 'statm', 100, '', ''],
      [10, 'glibc', 'burst', 2, 'plain', 'statm', 300, '', ''],
      [15, 'glibc', 'burst', 2, 'plain', 'stats', 300, 50, 70],
      [20, 'glibc', 'burst', 2, 'a, "b"', 'statm', 200, '', ''],
    ]);
    const run = await loadRun(dir);
    expect(run.charts).toHaveLength(1);
    const c = run.charts[0]!;
    expect(c).toMatchObject({ scenario: 'burst', variant: 'glibc', trial: 2, endMs: 20 });
    expect(c.rss).toEqual({ t: [0, 10, 20], v: [100, 300, 200] });
    expect(c.live).toEqual({ t: [15], v: [50] });
    expect(c.allocated).toEqual({ t: [15], v: [70] });
    expect(c.phases).toEqual([{ name: 'a, "b"', tMs: 0 }]);
    expect(c.releases).toEqual([{ tMs: 20, ok: true, releaseMs: 3.5, rssBeforeBytes: 9, rssAfterBytes: 1 }]);
  });

  it('throws LabError runDir (exit 2) for a folder that is not a run', async () => {
    await expect(loadRun(join(root, 'nope'))).rejects.toThrow(LabError);
    mkdirSync(join(root, 'empty'));
    await expect(loadRun(join(root, 'empty'))).rejects.toThrow(/empty: not a leak-lab run folder \(no run.json\)/);
  });
});
