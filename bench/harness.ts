// npm run bench -- harness: how much the harness disturbs what it measures. Runs burst
// --quick on every default variant (warm build), then times one RSS sample and one admin
// `stats` round trip per variant, at idle and at the burst's peak heap.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { Bench } from 'tinybench';
import { buildNative } from '../harness/tooling/build.js';
import { binaryPath } from '../harness/core/paths.js';
import { executeRun, planScenario } from '../harness/run/run.js';
import { RSS_INTERVAL_MS } from '../harness/trial/sampler.js';
import { readSmapsRollup, readStatmRss } from '../harness/core/proc.js';
import { type Scenario, applyQuick, loadScenario } from '../harness/scenario/scenario.js';
import { scheduledMs } from '../harness/scenario/schedule.js';
import { median, quantile } from '../harness/analysis/stats.js';
import { VARIANTS, type Variant } from '../harness/allocators/variants.js';
import { startLab } from '../test/support/relay-lab.js';
import { table, writeBench } from './report.js';

/** One run of burst --quick on every default variant, with the harness's own CPU. */
async function harnessRound(quick: Scenario, file: string, variants: Variant[]) {
  const out = mkdtempSync(join(tmpdir(), 'leaklab-bench-'));
  const cpuNow = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1000; };
  const cpu0 = cpuNow();
  const wall0 = performance.now();
  // Steady state: from each trial's first progress call (its first phase starts) to the
  // last one before the trial ends (no process start-up or teardown, no report writing).
  const steady = new Map<string, { c0: number; w0: number; c1: number; w1: number }>();
  try {
    const outcome = await executeRun({
      scenarios: [planScenario({ scenario: quick, file }, variants)], variants, trials: 1, seed: undefined, quick: true, outDir: out, argv: ['bench', 'harness'],
    }, new AbortController().signal, {
      onProgress: (p) => {
        if (p.phase === 'end') return;
        const key = `${p.variant}/${p.trial}`;
        const c = cpuNow();
        const w = performance.now();
        const e = steady.get(key);
        if (e) { e.c1 = c; e.w1 = w; } else steady.set(key, { c0: c, w0: w, c1: c, w1: w });
      },
    });
    const wallMs = performance.now() - wall0;
    const nodeMs = cpuNow() - cpu0;
    const steadyCpu = [...steady.values()].reduce((a, e) => a + e.c1 - e.c0, 0);
    const steadyWall = [...steady.values()].reduce((a, e) => a + e.w1 - e.w0, 0);
    const trialWall = scheduledMs(quick) * variants.length;  // the time the native sampler ran, about
    const nodeSteady = (steadyCpu / steadyWall) * 100;
    const native = (outcome.samplerCpuMs / trialWall) * 100;
    return {
      outcome, wallMs,
      nodeCpuPercent: (nodeMs / wallMs) * 100,
      nodeSteadyCpuPercent: nodeSteady,
      nativeSamplerCpuPercent: native,
      harnessSteadyCpuPercent: nodeSteady + native,
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const spread = (xs: number[]) => ({ median: +median(xs)!.toFixed(2), min: +Math.min(...xs).toFixed(2), max: +Math.max(...xs).toFixed(2) });
const shown = (x: { median: number; min: number; max: number }) => `${x.median} (${x.min}-${x.max})`;

export async function benchHarness(rounds = 3): Promise<void> {
  await buildNative();
  const { scenario, file } = await loadScenario('burst');
  const quick = applyQuick(scenario);
  const variants = VARIANTS.filter((v) => v.isDefault);
  const results = [];
  for (let i = 0; i < rounds; i++) {
    results.push(await harnessRound(quick, file, variants));
    const r = results.at(-1)!;
    console.error(`round ${i + 1}/${rounds}: harness ${r.harnessSteadyCpuPercent.toFixed(2)}% of a core (Node ${r.nodeSteadyCpuPercent.toFixed(2)}% + sampler ${r.nativeSamplerCpuPercent.toFixed(2)}%)`);
  }
  const outcome = results.at(-1)!.outcome;
  const scripted = scheduledMs(quick) * variants.length;
  // The sampler's step is RSS_INTERVAL_MS, or 5 times that while RSS holds still: jitter
  // is the distance to the nearer of the two.
  const jitter = results.flatMap((r) => r.outcome.samplerIntervals).map((iv) => Math.min(Math.abs(iv - RSS_INTERVAL_MS), Math.abs(iv - 5 * RSS_INTERVAL_MS)));
  const perVariant = outcome.summary.map((s) => ({
    variant: s.variant,
    peakRssMiB: +(s.metrics.peakRss!.median! / 2 ** 20).toFixed(1),
    vmHwmMiB: +(s.metrics.vmHwm!.median! / 2 ** 20).toFixed(1),
    sampledOverHwm: +(s.metrics.peakRss!.median! / s.metrics.vmHwm!.median!).toFixed(4),
  }));
  const run = {
    rounds,
    status: results.map((r) => r.outcome.info.status),
    wallOverScripted: spread(results.map((r) => r.wallMs / scripted)),
    samplerIntervals: jitter.length,
    jitterP50Ms: +quantile(jitter, 0.5)!.toFixed(3),
    jitterP99Ms: +quantile(jitter, 0.99)!.toFixed(3),
    harnessSteadyCpuPercent: spread(results.map((r) => r.harnessSteadyCpuPercent)),
    nodeSteadyCpuPercent: spread(results.map((r) => r.nodeSteadyCpuPercent)),
    nativeSamplerCpuPercent: spread(results.map((r) => r.nativeSamplerCpuPercent)),
    nodeCpuPercentWholeRun: spread(results.map((r) => r.nodeCpuPercent)),
    perVariant,
  };

  // Cost of one sample, per variant, at idle and at the burst's peak heap.
  const costs: Array<{ variant: string; state: string; statmUs: number; smapsUs: number; statsRoundTripUs: number; countersRoundTripUs: number; relayStatsUs: number | null }> = [];
  for (const v of variants) {
    const lab = await startLab(v.allocator, ['--delay-ms', '60000', '--response-bytes', '1024']);
    try {
      for (const state of ['idle', 'peak'] as const) {
        let loadgen;
        if (state === 'peak') {
          loadgen = execa(binaryPath('loadgen'), ['--port', String(lab.port), '--schedule', '-'], {
            input: JSON.stringify({ seed: 1, connections: 32, phases: [{ name: 'hold', duration_ms: 60000, load: { mode: 'closed', concurrency: 1024, size: { dist: 'uniform', min: 131072, max: 786432 } } }] }),
            reject: false, cleanup: true,
          });
          for (let i = 0; i < 200; i++) {
            const s = await lab.admin.command<Record<string, number>>('stats');
            if (s.live_request_count! >= 1024) break;
            await new Promise((r) => setTimeout(r, 50));
          }
        }
        let relayStatsUs = 0;
        let n = 0;
        const bench = new Bench({ time: 500, warmupTime: 100 });
        bench
          .add('statm', () => { readStatmRss(lab.relay.pid); })
          .add('smaps_rollup', () => { readSmapsRollup(lab.relay.pid); })
          .add('stats', async () => {
            const s = await lab.admin.command<Record<string, number>>('stats');
            relayStatsUs += s.stats_us ?? 0;
            n += 1;
          })
          .add('stats-counters', async () => {
            await lab.admin.command<Record<string, number>>('stats-counters');
          });
        await bench.run();
        const us = (name: string) => +((bench.tasks.find((t) => t.name === name)!.result as { latency?: { p50?: number }; mean?: number } | undefined)?.latency?.p50 ?? NaN) * 1000;
        costs.push({
          variant: v.id, state,
          statmUs: +us('statm').toFixed(1), smapsUs: +us('smaps_rollup').toFixed(1), statsRoundTripUs: +us('stats').toFixed(1),
          countersRoundTripUs: +us('stats-counters').toFixed(1),
          relayStatsUs: n ? +(relayStatsUs / n).toFixed(1) : null,
        });
        loadgen?.kill('SIGTERM');
        await loadgen;
      }
    } finally {
      await lab.stop();
    }
  }
  const written = writeBench('harness', { run, costs });
  console.log(table(['figure (median of rounds, min-max)', 'value', 'goal'], [
    ['wall / scripted time', shown(run.wallOverScripted), '<= 1.10'],
    ['10 ms sampler jitter p99 (ms), all rounds', run.jitterP99Ms, '<= 2'],
    ['harness CPU, steady state (% of one core)', shown(run.harnessSteadyCpuPercent), '<= 2'],
    ['  Node, steady state', shown(run.nodeSteadyCpuPercent), '-'],
    ['  native sampler (statm, smaps_rollup, stats-counters)', shown(run.nativeSamplerCpuPercent), '-'],
    ['Node CPU, whole run with start-up and reports (%)', shown(run.nodeCpuPercentWholeRun), '-'],
    ...perVariant.map((p) => [`sampled peak / VmHWM, ${p.variant}`, p.sampledOverHwm, '>= 0.99']),
  ]));
  console.log(table(['variant', 'heap', 'statm read us', 'smaps_rollup read us', 'stats round trip us', 'stats inside relay us', 'stats-counters round trip us'],
    costs.map((c) => [c.variant, c.state, c.statmUs, c.smapsUs, c.statsRoundTripUs, c.relayStatsUs ?? '-', c.countersRoundTripUs])));
  console.log(JSON.stringify({ bench: 'harness', run, costs }));
  console.log(`written: ${written}`);
}
