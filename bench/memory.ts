// npm run bench -- memory: the harness's own memory over one long run. The steady scenario
// with its steady phase stretched to --minutes, on tcmalloc; the harness's RSS
// (process.memoryUsage().rss) every second. Samples stream to disk, so it should stay flat:
// goal <= 150 MiB, and no upward trend after the first minute (the least-squares slope
// from minute 1 to the end is printed, in MiB per minute).
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildNative } from '../harness/subject/build.js';
import { executeRun } from '../harness/run/run.js';
import { loadScenario } from '../harness/scenario/scenario.js';
import { VARIANTS } from '../harness/subject/variants.js';
import { table, writeBench } from './report.js';

const GOAL_BYTES = 150 * 2 ** 20;

export async function benchMemory(minutes: number): Promise<void> {
  await buildNative();
  const { scenario, file } = await loadScenario('steady');
  const steadyMs = Math.round(minutes * 60_000);
  const long = { ...scenario, phases: scenario.phases.map((p) => (p.name === 'steady' ? { ...p, duration: steadyMs } : p)) };
  const variants = VARIANTS.filter((v) => v.id === 'tcmalloc');
  const out = mkdtempSync(join(tmpdir(), 'leaklab-memory-'));
  const rss: Array<{ tS: number; rssBytes: number }> = [];
  const t0 = performance.now();
  const tick = () => {
    const r = { tS: Math.round((performance.now() - t0) / 1000), rssBytes: process.memoryUsage().rss };
    rss.push(r);
    if (r.tS % 30 === 0) process.stderr.write(`${r.tS} s: harness RSS ${(r.rssBytes / 2 ** 20).toFixed(1)} MiB\n`);
  };
  tick();
  const timer = setInterval(tick, 1000);
  let samplesBytes = 0;
  let outcome;
  try {
    outcome = await executeRun({
      scenarios: [{ scenario: long, file }], variants, trials: 1, seed: undefined, quick: false, outDir: out, argv: ['bench', 'memory'],
    }, new AbortController().signal);
    samplesBytes = statSync(join(outcome.store.dir, 'samples.csv')).size;
  } finally {
    clearInterval(timer);
    rmSync(out, { recursive: true, force: true });
  }
  tick();
  const mib = (b: number) => +(b / 2 ** 20).toFixed(1);
  const peak = Math.max(...rss.map((r) => r.rssBytes));
  // Growth: the last minute's mean against the mean of the minute after start-up.
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const early = mean(rss.filter((r) => r.tS >= 10 && r.tS < 70).map((r) => r.rssBytes));
  const late = mean(rss.filter((r) => r.tS >= rss.at(-1)!.tS - 60).map((r) => r.rssBytes));
  // Least-squares slope of RSS over time after the first minute, MiB per minute.
  const after = rss.filter((r) => r.tS >= 60);
  const mt = mean(after.map((r) => r.tS));
  const mr = mean(after.map((r) => r.rssBytes));
  const cov = after.reduce((a, r) => a + (r.tS - mt) * (r.rssBytes - mr), 0);
  const vt = after.reduce((a, r) => a + (r.tS - mt) ** 2, 0);
  const slopeMiBPerMin = after.length > 2 && vt > 0 ? +((cov / vt) * 60 / 2 ** 20).toFixed(3) : null;
  const figures = {
    scenario: `steady, steady phase ${minutes} min`, variant: 'tcmalloc', status: outcome.info.status,
    wallS: Math.round((performance.now() - t0) / 1000), samplesCsvMiB: mib(samplesBytes),
    harnessPeakRssMiB: mib(peak), harnessEarlyRssMiB: mib(early), harnessLateRssMiB: mib(late),
    slopeAfterFirstMinuteMiBPerMin: slopeMiBPerMin,
    goalMiB: mib(GOAL_BYTES), withinGoal: peak <= GOAL_BYTES,
    rssEvery10s: rss.filter((r) => r.tS % 10 === 0).map((r) => [r.tS, mib(r.rssBytes)]),
  };
  const written = writeBench('memory', figures);
  console.log(table(['run', 'status', 'wall s', 'samples.csv MiB', 'harness peak RSS MiB', 'early -> late MiB', 'slope after 1 min, MiB/min', `<= ${mib(GOAL_BYTES)} MiB`],
    [[figures.scenario, figures.status, figures.wallS, figures.samplesCsvMiB, figures.harnessPeakRssMiB, `${figures.harnessEarlyRssMiB} -> ${figures.harnessLateRssMiB}`, slopeMiBPerMin ?? '-', figures.withinGoal ? 'yes' : 'no']]));
  console.log(JSON.stringify({ bench: 'memory', ...figures, rssEvery10s: undefined }));
  console.log(`written: ${written}`);
}
