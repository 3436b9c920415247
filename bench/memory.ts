// npm run bench -- memory: the harness's own memory over one long run. The steady scenario
// with its steady phase stretched to --minutes, on tcmalloc; the harness's RSS
// (process.memoryUsage().rss) every second. Samples stream to disk, so it should stay flat:
// goal <= 150 MiB, and no upward trend after the first minute (the least-squares slope
// from minute 1 to the end is printed, in MiB per minute), with the JS heap left by each
// major collection and its slope beside it (what is kept, not what V8 has yet to collect).
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildNative } from '../harness/tooling/build.js';
import { executeRun, planScenario } from '../harness/run/run.js';
import { loadScenario } from '../harness/scenario/scenario.js';
import { VARIANTS } from '../harness/allocators/variants.js';
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
  // The JS heap in use just after each major collection: what the harness really keeps.
  // RSS alone rises for many minutes while V8 lets its old generation grow before it
  // collects (a saw-tooth), which a slope over RSS cannot tell from retention.
  const afterGc: Array<{ tS: number; heapBytes: number }> = [];
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) afterGc.push({ tS: (performance.now() - t0) / 1000, heapBytes: process.memoryUsage().heapUsed });
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  tick();
  const timer = setInterval(tick, 1000);
  let samplesBytes = 0;
  let outcome;
  try {
    outcome = await executeRun({
      scenarios: [planScenario({ scenario: long, file }, variants)], variants, trials: 1, seed: undefined, quick: false, outDir: out, argv: ['bench', 'memory'],
    }, new AbortController().signal);
    samplesBytes = statSync(join(outcome.store.dir, 'samples.csv')).size;
  } finally {
    clearInterval(timer);
    gcObserver.disconnect();
    rmSync(out, { recursive: true, force: true });
  }
  tick();
  const mib = (b: number) => +(b / 2 ** 20).toFixed(1);
  const peak = Math.max(...rss.map((r) => r.rssBytes));
  // Growth: the last minute's mean against the mean of the minute after start-up.
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const early = mean(rss.filter((r) => r.tS >= 10 && r.tS < 70).map((r) => r.rssBytes));
  const late = mean(rss.filter((r) => r.tS >= rss.at(-1)!.tS - 60).map((r) => r.rssBytes));
  // Least-squares slopes after the first minute, MiB per minute: of RSS, and of the heap
  // left by each major collection.
  const slope = (pts: Array<[number, number]>): number | null => {
    const after = pts.filter(([tS]) => tS >= 60);
    const mt = mean(after.map(([tS]) => tS));
    const mv = mean(after.map(([, v]) => v));
    const cov = after.reduce((a, [tS, v]) => a + (tS - mt) * (v - mv), 0);
    const vt = after.reduce((a, [tS]) => a + (tS - mt) ** 2, 0);
    return after.length > 2 && vt > 0 ? +((cov / vt) * 60 / 2 ** 20).toFixed(3) : null;
  };
  const slopeMiBPerMin = slope(rss.map((r) => [r.tS, r.rssBytes]));
  const heapSlopeMiBPerMin = slope(afterGc.map((g) => [g.tS, g.heapBytes]));
  const heapAfterGc = afterGc.filter((g) => g.tS >= 60).map((g) => g.heapBytes);
  const figures = {
    scenario: `steady, steady phase ${minutes} min`, variant: 'tcmalloc', status: outcome.info.status,
    wallS: Math.round((performance.now() - t0) / 1000), samplesCsvMiB: mib(samplesBytes),
    harnessPeakRssMiB: mib(peak), harnessEarlyRssMiB: mib(early), harnessLateRssMiB: mib(late),
    slopeAfterFirstMinuteMiBPerMin: slopeMiBPerMin,
    majorGcs: afterGc.length,
    heapAfterMajorGcMiB: heapAfterGc.length ? [mib(Math.min(...heapAfterGc)), mib(Math.max(...heapAfterGc))] : null,
    heapAfterMajorGcSlopeMiBPerMin: heapSlopeMiBPerMin,
    goalMiB: mib(GOAL_BYTES), withinGoal: peak <= GOAL_BYTES,
    rssEvery10s: rss.filter((r) => r.tS % 10 === 0).map((r) => [r.tS, mib(r.rssBytes)]),
  };
  const written = writeBench('memory', figures);
  const heapRange = figures.heapAfterMajorGcMiB ? `${figures.heapAfterMajorGcMiB[0]}-${figures.heapAfterMajorGcMiB[1]}` : '-';
  console.log(table(['run', 'status', 'wall s', 'samples.csv MiB', 'harness peak RSS MiB', 'early -> late MiB', 'RSS slope after 1 min, MiB/min', 'JS heap after major GCs MiB (n)', 'its slope, MiB/min', `<= ${mib(GOAL_BYTES)} MiB`],
    [[figures.scenario, figures.status, figures.wallS, figures.samplesCsvMiB, figures.harnessPeakRssMiB, `${figures.harnessEarlyRssMiB} -> ${figures.harnessLateRssMiB}`, slopeMiBPerMin ?? '-', `${heapRange} (${afterGc.length})`, heapSlopeMiBPerMin ?? '-', figures.withinGoal ? 'yes' : 'no']]));
  console.log(JSON.stringify({ bench: 'memory', ...figures, rssEvery10s: undefined }));
  console.log(`written: ${written}`);
}
