// npm run bench -- repro: how reproducible the RSS metrics are. Five trials (default) of
// burst --quick per default variant, in one run (trials interleave the variants); per
// variant and metric, the coefficient of variation over the trials (goal <= 3%).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildNative } from '../harness/tooling/build.js';
import { executeRun, planScenario } from '../harness/run/run.js';
import { applyQuick, loadScenario } from '../harness/scenario/scenario.js';
import { cv, max, median, min } from '../harness/analysis/stats.js';
import { VARIANTS } from '../harness/allocators/variants.js';
import { table, writeBench } from './report.js';

const METRICS = ['peakRss', 'retainedRss', 'releasedRss'] as const;
const GOAL_CV = 0.03;

export async function benchRepro(trials: number): Promise<void> {
  await buildNative();
  const { scenario, file } = await loadScenario('burst');
  const variants = VARIANTS.filter((v) => v.isDefault);
  const out = mkdtempSync(join(tmpdir(), 'leaklab-repro-'));
  const values = new Map<string, Record<string, number[]>>();
  let outcome;
  try {
    outcome = await executeRun({
      scenarios: [planScenario({ scenario: applyQuick(scenario), file }, variants)], variants, trials, seed: undefined, quick: true, outDir: out, argv: ['bench', 'repro'],
    }, new AbortController().signal, {
      onTrialDone: (trace, metrics) => {
        process.stderr.write(`${trace.variant} trial ${trace.trial}/${trials}: ${trace.status}\n`);
        if (trace.status !== 'complete') return;
        const v = values.get(trace.variant) ?? {};
        for (const m of METRICS) if (typeof metrics[m] === 'number') (v[m] ??= []).push(metrics[m]);
        values.set(trace.variant, v);
      },
    });
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  const mib = (b: number | null) => (b === null ? null : +(b / 2 ** 20).toFixed(1));
  const rows = variants.flatMap((variant) => METRICS.map((metric) => {
    const xs = values.get(variant.id)?.[metric] ?? [];
    const c = cv(xs);
    return {
      variant: variant.id, metric, trials: xs.length,
      medianMiB: mib(median(xs)), minMiB: mib(min(xs)), maxMiB: mib(max(xs)),
      cvPct: c === null ? null : +(c * 100).toFixed(2),
      withinGoal: c !== null && c <= GOAL_CV,
    };
  }));
  const file2 = writeBench('repro', { scenario: 'burst --quick', trialsPerVariant: trials, goalCvPct: GOAL_CV * 100, status: outcome.info.status, errors: outcome.info.errors, rows });
  console.log(table(['variant', 'metric', 'trials', 'median MiB', 'min MiB', 'max MiB', 'CV %', `<= ${GOAL_CV * 100}%`],
    rows.map((r) => [r.variant, r.metric, r.trials, r.medianMiB ?? '-', r.minMiB ?? '-', r.maxMiB ?? '-', r.cvPct ?? '-', r.withinGoal ? 'yes' : 'no'])));
  console.log(JSON.stringify({ bench: 'repro', rows }));
  console.log(`written: ${file2}`);
}
