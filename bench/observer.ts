// npm run bench -- observer: does watching the subject change what it does? Runs burst (the
// full scenario, or --quick; --scenario for another, e.g. a target's) on every default variant (or --variants) with the harness's 100 ms counters
// poll on and off (lab run --no-stats-poll), alternating the two each round, and puts the
// medians of retainedRss, releasedRss and retention side by side. Goal: on and off differ
// by at most 1% of the peak or 1 MiB (whichever is larger), and retention by at most 0.01,
// i.e. the idle phase stays idle.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildNative } from '../harness/tooling/build.js';
import { executeRun, planScenario } from '../harness/run/run.js';
import { applyQuick, loadScenario } from '../harness/scenario/scenario.js';
import { max, median, min } from '../harness/analysis/stats.js';
import { VARIANTS, findVariant } from '../harness/allocators/variants.js';
import { table, writeBench } from './report.js';

// retention (kept growth / peak growth) is retainedRss with the peak's trial-to-trial
// spread divided out: full burst peaks vary by ~100 MiB between trials, so absolute
// retainedRss cannot show a 1% effect, and an on - off difference in retention is
// directly a fraction of the growth (goal: at most 0.01).
const METRICS = ['retainedRss', 'releasedRss', 'retention'] as const;
const RATIOS: ReadonlySet<string> = new Set(['retention']);
const GOAL_RATIO = 0.01;
const MODES = ['on', 'off'] as const;
type Mode = (typeof MODES)[number];
const GOAL_PEAK_FRACTION = 0.01;
const GOAL_FLOOR_BYTES = 2 ** 20;

/** The largest on/off difference the goal allows for a variant with this peak. */
export function allowedDifference(peakBytes: number): number {
  return Math.max(GOAL_PEAK_FRACTION * peakBytes, GOAL_FLOOR_BYTES);
}

export async function benchObserver(o: { rounds: number; quick: boolean; scenario: string; variants: string[] | null }): Promise<void> {
  const { rounds, quick } = o;
  await buildNative();
  const loaded = await loadScenario(o.scenario);
  const scenario = quick ? applyQuick(loaded.scenario) : loaded.scenario;
  const variants = o.variants ? o.variants.map((id) => {
    const v = findVariant(id);
    if (!v) throw new Error(`--variants: no variant '${id}' (valid: ${VARIANTS.map((x) => x.id).join(', ')})`);
    return v;
  }) : VARIANTS.filter((v) => v.isDefault);
  // values[variant][mode][metric]: one number per round
  const values = new Map<string, Record<Mode, Record<string, number[]>>>();
  const errors: string[] = [];
  const out = mkdtempSync(join(tmpdir(), 'leaklab-observer-'));
  try {
    for (let round = 1; round <= rounds; round++) {
      // Alternate which mode goes first, so slow drift of the machine biases neither.
      const order = round % 2 ? MODES : [...MODES].reverse();
      for (const mode of order) {
        const outcome = await executeRun({
          scenarios: [planScenario({ scenario, file: loaded.file }, variants)], variants, trials: 1, seed: undefined, quick, outDir: out,
          argv: ['bench', 'observer'], statsPolling: mode === 'on',
        }, new AbortController().signal, {
          onTrialDone: (trace, metrics) => {
            process.stderr.write(`round ${round}/${rounds} polling ${mode}: ${trace.variant}: ${trace.status}\n`);
            if (trace.status !== 'complete') return;
            const v = values.get(trace.variant) ?? { on: {}, off: {} };
            for (const m of [...METRICS, 'peakRss'] as const) if (typeof metrics[m] === 'number') (v[mode][m] ??= []).push(metrics[m]);
            values.set(trace.variant, v);
          },
        });
        errors.push(...outcome.info.errors.map((e) => `polling ${mode}: ${e}`));
      }
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }

  const rows = variants.flatMap((variant) => METRICS.map((metric) => {
    // Bytes are shown in MiB; ratios as they are.
    const mib = (b: number | null) => (b === null ? null : RATIOS.has(metric) ? +b.toFixed(3) : +(b / 2 ** 20).toFixed(1));
    const v = values.get(variant.id);
    const on = v?.on[metric] ?? [];
    const off = v?.off[metric] ?? [];
    const peak = median([...(v?.on.peakRss ?? []), ...(v?.off.peakRss ?? [])]);
    const mOn = median(on);
    const mOff = median(off);
    const diff = mOn === null || mOff === null ? null : mOn - mOff;
    // Per round: on - off of the same round (the two ran back to back).
    const paired = median(on.flatMap((x, i) => (off[i] === undefined ? [] : [x - off[i]!])));
    const allowed = RATIOS.has(metric) ? GOAL_RATIO : peak === null ? null : allowedDifference(peak);
    return {
      variant: variant.id, metric, rounds: Math.min(on.length, off.length),
      peakMiB: peak === null ? null : +(peak / 2 ** 20).toFixed(1),
      onMiB: mib(mOn), onRangeMiB: [mib(min(on)), mib(max(on))],
      offMiB: mib(mOff), offRangeMiB: [mib(min(off)), mib(max(off))],
      diffMiB: mib(diff), pairedDiffMiB: mib(paired), allowedMiB: mib(allowed),
      onRoundsMiB: on.map(mib), offRoundsMiB: off.map(mib),
      diffPctOfPeak: diff === null || !peak || RATIOS.has(metric) ? null : +((diff / peak) * 100).toFixed(2),
      withinGoal: diff !== null && allowed !== null && Math.abs(diff) <= allowed,
    };
  }));
  const label = quick ? `${o.scenario} --quick` : o.scenario;
  const file = writeBench('observer', {
    scenario: label, rounds, goal: `|on - off| <= max(${GOAL_PEAK_FRACTION * 100}% of peakRss, 1 MiB); retention: |on - off| <= ${GOAL_RATIO}`, errors, rows,
  });
  const range = (r: Array<number | null>) => `${r[0] ?? '-'}..${r[1] ?? '-'}`;
  console.log(`${label}, ${rounds} round(s), medians (range over rounds), MiB except retention (a ratio); polling on = stats-counters every 100 ms`);
  console.log(table(['variant', 'metric', 'peak MiB', 'polling on', 'polling off', 'on - off', '% of peak', 'median of per-round on - off', 'allowed', 'within goal'],
    rows.map((r) => [r.variant, r.metric, r.peakMiB ?? '-', `${r.onMiB ?? '-'} (${range(r.onRangeMiB)})`, `${r.offMiB ?? '-'} (${range(r.offRangeMiB)})`,
      r.diffMiB ?? '-', r.diffPctOfPeak ?? '-', r.pairedDiffMiB ?? '-', r.allowedMiB ?? '-', r.withinGoal ? 'yes' : 'no'])));
  if (errors.length) console.log(`errors:\n${errors.map((e) => `  ${e}`).join('\n')}`);
  console.log(JSON.stringify({ bench: 'observer', scenario: label, rounds, rows }));
  console.log(`written: ${file}`);
}
