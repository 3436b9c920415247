// npm run bench -- report [--samples N]: how long writing report.md and report.html takes
// for a run of N samples (default 1,000,000, 4 variants), and how large report.html is.
// The run folder is synthetic (a burst-shaped trace with noise) and written to a temporary
// folder; the timing covers what `lab report` does: read the raw files, render, write.
import { createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { collectEnvironment } from '../harness/run/environment.js';
import { withVerdict } from '../harness/analysis/diagnosis.js';
import { summarizeTrials } from '../harness/analysis/metrics.js';
import { writeReports } from '../harness/report/write.js';
import type { Sample } from '../harness/core/types.js';
import { table, writeBench } from './report.js';
import { type RunInfo, SAMPLE_COLUMNS, sampleRow } from '../harness/results/schema.js';

const MiB = 1024 * 1024;
const VARIANTS = ['glibc', 'tcmalloc', 'jemalloc', 'mimalloc'] as const;

async function writeSyntheticRun(dir: string, samples: number): Promise<void> {
  const perVariant = Math.ceil(samples / VARIANTS.length);
  const endMs = perVariant * 10 * (10 / 11);  // 10 statm rows per stats row
  const phases = [['baseline', 0.05], ['burst', 0.35], ['drain', 0.2], ['idle', 0.3], ['after-release', 0.1]] as const;
  const csv = createWriteStream(join(dir, 'samples.csv'));
  const events = createWriteStream(join(dir, 'events.jsonl'));
  const write = (s: NodeJS.WritableStream, text: string) => new Promise<void>((resolve) => (s.write(text) ? resolve() : s.once('drain', resolve)));
  await write(csv, stringify([[...SAMPLE_COLUMNS]]));
  const trials: string[] = [];
  let seed = 1;
  const noise = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) % 1000) / 1000;
  for (const [vi, variant] of VARIANTS.entries()) {
    const key = { scenario: 'burst', variant, trial: 1 };
    const kept = [0.3, 1, 0.75, 0.06][vi]!;
    let start = 0;
    for (const [index, [name, share]] of phases.entries()) {
      await write(events, JSON.stringify({ ...key, type: 'phase', tMs: start, name, index }) + '\n');
      start += share * endMs;
    }
    const releaseAt = 0.9 * endMs;
    await write(events, JSON.stringify({ ...key, type: 'release', tMs: releaseAt, ok: true, releaseMs: 20 + vi * 5, rssBeforeBytes: null, rssAfterBytes: null, call: 'release' }) + '\n');
    const rssAt = (t: number) => {
      const f = t / endMs;
      const peak = 480 * MiB;
      const base = f < 0.05 ? 0 : f < 0.4 ? peak * Math.min(1, (f - 0.05) / 0.1) : f < 0.6 ? peak * (1 - (1 - kept) * ((f - 0.4) / 0.2)) : f < 0.9 ? peak * kept : 0;
      return Math.round(5 * MiB + base + noise() * 8 * MiB);
    };
    const rows: Array<Array<string | number | null>> = [];
    for (let i = 0; i < perVariant; i++) {
      const t = +(i * 10 * (10 / 11)).toFixed(1);
      const rss = rssAt(t);
      const stats = i % 11 === 10;
      const s: Sample = {
        tMs: t, phase: 'burst', source: stats ? 'stats' : 'statm', rssBytes: rss, smapsRssBytes: stats ? rss : null,
        privateDirtyBytes: null, lazyfreeBytes: null, liveRequestBytes: stats ? Math.round(rss * 0.9) : null, liveRequestCount: stats ? 100 : null,
        liveResponseBytes: stats ? 0 : null, liveResponseCount: stats ? 0 : null, allocAllocatedBytes: stats ? Math.round(rss * 0.92) : null,
        allocFreeBytes: stats ? Math.round(rss * 0.05) : null, allocUnmappedBytes: stats && vi > 0 ? MiB : null,
        leakedRequestBytes: null, liveLogBytes: null, policyReleases: null, statsUs: stats ? 150 : null,
      };
      rows.push(sampleRow(key, s));
      if (rows.length === 20_000) await write(csv, stringify(rows.splice(0)));
      if (i % 10 === 0 && i > 0) {
        await write(events, JSON.stringify({ ...key, type: 'load', tMs: t, phase: 'burst', sent: i, completed: i, errors: 0, inFlight: 1, intervalCompleted: 1, p50Us: 1000, p99Us: 2000 }) + '\n');
      }
    }
    await write(csv, stringify(rows));
    const metrics = { baselineRss: 5 * MiB, peakRss: 493 * MiB, retainedRss: (5 + 480 * kept) * MiB, releasedRss: 6 * MiB, releaseMs: 20 + vi * 5, retention: kept, releaseEfficiency: 0.99 };
    trials.push(JSON.stringify({ scenario: 'burst', variant, allocator: variant, trial: 1, status: 'complete', phases: [], vmHwmBytes: null, schedule: [], metrics }));
  }
  await Promise.all([csv, events].map((s) => new Promise((resolve) => s.end(resolve))));
  writeFileSync(join(dir, 'trials.jsonl'), trials.join('\n') + '\n');
  const summary = trials.map((line) => withVerdict(summarizeTrials([JSON.parse(line)])));
  writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  const info: RunInfo = {
    runId: 'bench-report', command: ['npm', 'run', 'bench', '--', 'report'], status: 'complete', quick: false,
    scenarios: [{ name: 'burst', file: 'synthetic', trials: 1, seed: 1, scenario: { name: 'burst', description: `synthetic: ${samples} samples`, phases: [] } as never }],
    variants: VARIANTS.map((id) => ({ id, allocator: id, env: {} })),
    startedAt: '2026-01-01T00:00:00.000Z', endedAt: '2026-01-01T01:00:00.000Z', environment: collectEnvironment(), errors: [], shard: null,
  };
  writeFileSync(join(dir, 'run.json'), JSON.stringify(info, null, 2) + '\n');
}

export async function benchReport(samples: number, rounds: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'leaklab-bench-report-'));
  try {
    await writeSyntheticRun(dir, samples);
    const csvBytes = statSync(join(dir, 'samples.csv')).size;
    const times: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      await writeReports(dir);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const figures = {
      samples, samplesCsvBytes: csvBytes, rounds,
      renderMsMedian: +times[Math.floor(times.length / 2)]!.toFixed(0), renderMsMax: +times.at(-1)!.toFixed(0),
      reportHtmlBytes: statSync(join(dir, 'report.html')).size, reportMdBytes: statSync(join(dir, 'report.md')).size,
    };
    const written = writeBench('report', figures);
    console.log(table(['figure', 'value', 'goal'], [
      ['samples (4 variants)', samples.toLocaleString('en-US'), ''],
      ['samples.csv', `${(csvBytes / MiB).toFixed(1)} MiB`, ''],
      ['lab report: read + render + write (median)', `${figures.renderMsMedian} ms`, '< 3000 ms'],
      ['slowest round', `${figures.renderMsMax} ms`, ''],
      ['report.html', `${(figures.reportHtmlBytes / 1024).toFixed(0)} KiB`, '< 2048 KiB'],
      ['report.md', `${(figures.reportMdBytes / 1024).toFixed(1)} KiB`, ''],
    ]));
    console.log(JSON.stringify({ bench: 'report', ...figures }));
    console.log(`written: ${written}`);
  } finally {
    if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
  }
}
