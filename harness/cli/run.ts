// `lab run` (the default command): check everything the user typed, build, run the
// scenarios on the variants, print the summary and charts, and gate when asked.
import { resolve } from 'node:path';
import pc from 'picocolors';
import { ExitCode, LabError } from '../core/errors.js';
import { RESULTS_DIR } from '../core/paths.js';
import { checkBaselineFolder, loadCeilings } from '../gate/apply.js';
import { summaryCsv } from '../report/csv.js';
import { summaryJson } from '../report/json.js';
import { rssCharts, summaryTable } from '../report/terminal.js';
import { writeReports } from '../report/write.js';
import { killAllNow } from '../run/procs.js';
import { executeRun } from '../run/run.js';
import { profilerFor, requireProfilerTool } from '../run/profile.js';
import { type Scenario, applyQuick, expandArms, listScenarioNames, loadScenario } from '../scenario/scenario.js';
import { buildNative } from '../subject/build.js';
import { AS_BUILT, AS_BUILT_VARIANT, VARIANTS, type Variant, variantStatus } from '../subject/variants.js';
import { checkTarget, scenarioVariantIds } from '../run/target-check.js';
import type { BinaryInfo } from '../subject/binary.js';
import type { RunFlags } from './flags.js';
import { gateAndReport } from './gate.js';
import type { Io } from './io.js';
import { progressView } from './progress.js';


/** The ids of --variants, each known; throws LabError('unknownVariant') otherwise. */
function checkVariantIds(spec: string): string[] {
  const valid = [...VARIANTS.map((v) => v.id), AS_BUILT];
  const ids = spec.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = ids.filter((id) => !valid.includes(id));
  if (unknown.length || ids.length === 0) throw new LabError('unknownVariant', { ids: unknown.length ? unknown : [spec], valid });
  return [...new Set(ids)];
}

/** --variants, or else the union of the scenarios' own `variants` lists (the default
 * variants for a scenario without one), skipping (with a warning) what is not built. */
function resolveVariants(spec: string | undefined, io: Io, scenarioDefaults: string[][], targetsOnly = false): Variant[] {
  const all: Variant[] = [...VARIANTS, AS_BUILT_VARIANT];
  if (spec !== undefined) {
    const chosen = checkVariantIds(spec).map((id) => all.find((v) => v.id === id)!);
    for (const v of chosen) {
      if (targetsOnly) continue;  // a target needs no relay binary; checkTarget checks its libraries
      if (v.id === AS_BUILT) throw new LabError('badFlag', { flag: '--variants', value: spec, valid: `variant ids without '${AS_BUILT}' (it applies to targets only, and this run has built-in relay scenarios)` });
      const st = variantStatus(v);
      if (!st.available) throw new LabError('unavailableVariant', { id: v.id, reason: st.reason ?? 'unknown' });
    }
    return chosen;
  }
  const wanted = new Set(scenarioDefaults.flat());
  const chosen: Variant[] = [];
  for (const v of all.filter((x) => wanted.has(x.id))) {
    const st = targetsOnly ? { available: true, reason: null } : variantStatus(v);
    if (st.available) chosen.push(v);
    else io.stderr.write(`${pc.yellow('warning')}: skipping variant ${v.id}: ${st.reason}\n`);
  }
  if (chosen.length === 0) throw new LabError('noVariants');
  return chosen;
}

export async function runCommand(flags: RunFlags, argv: string[], io: Io): Promise<number> {
  if (!flags.scenario?.length) {
    throw new LabError('badFlag', { flag: '--scenario', value: '', valid: `one of ${listScenarioNames().join(', ')} (or a scenario file)` });
  }
  // Everything the user typed is checked before anything starts.
  const scenarios: Array<{ scenario: Scenario; file: string }> = [];
  for (const name of flags.scenario) {
    const loaded = await loadScenario(name);
    for (const scenario of expandArms(flags.quick ? applyQuick(loaded.scenario) : loaded.scenario)) {
      scenarios.push({ ...loaded, scenario });
    }
  }
  if (flags.variants !== undefined) checkVariantIds(flags.variants);
  if (!flags.gate && (flags.ceilings !== undefined || flags.baseline !== undefined)) {
    throw new LabError('badFlag', { flag: flags.ceilings !== undefined ? '--ceilings' : '--baseline', value: flags.ceilings ?? flags.baseline ?? '', valid: 'it together with --gate (or use `lab gate <run-dir>`)' });
  }

  if (flags.rate !== undefined && flags.memoryLimit === undefined) {
    throw new LabError('badFlag', { flag: '--rate', value: String(flags.rate), valid: 'it together with --memory-limit SIZE (the forecast needs a limit)' });
  }
  // A run of targets alone needs no relay binary: their programs and variants are checked
  // before the build, so a typo costs no build; the probe, which the build makes, after it.
  const targetsOnly = scenarios.every((s) => s.scenario.target);
  const defaults = scenarios.map((s) => scenarioVariantIds(s.scenario));
  const checkTargets = (variants: readonly Variant[], probe: boolean) => {
    const targets: Record<string, BinaryInfo> = {};
    for (const s of scenarios) if (s.scenario.target) targets[s.scenario.name] = checkTarget(s.scenario, s.file, variants, { probe });
    return targets;
  };
  if (targetsOnly) checkTargets(resolveVariants(flags.variants, { stdout: io.stdout, stderr: { write: () => true } }, defaults, true), false);
  const build = await buildNative((l) => io.stderr.write(`${l}\n`));
  if (build.skipped.length) io.stderr.write(`${pc.yellow('warning')}: ${build.skipped.join('; ')}\n`);
  const variants = resolveVariants(flags.variants, io, defaults, targetsOnly);
  const targets = checkTargets(variants, true);
  if (flags.profile || scenarios.some((s) => s.scenario.profile)) await precheckProfilers(variants, io);
  if (flags.gate) await precheckGate(flags, scenarios.map((s) => s.scenario), variants.map((v) => v.id));

  const controller = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      killAllNow();
      process.exit(ExitCode.interrupted);
    }
    io.stderr.write(`\n${sig}: stopping; partial results are kept and marked interrupted\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const onExit = () => killAllNow();
  process.on('exit', onExit);

  const color = Boolean(io.stdout.isTTY) && !flags.json;
  const progress = progressView(io.stderr);
  try {
    const outcome = await executeRun({
      scenarios, variants, trials: flags.trials, seed: flags.seed, quick: Boolean(flags.quick),
      outDir: resolve(flags.out ?? RESULTS_DIR), argv: ['npm', 'run', 'lab', '--', ...argv], shard: flags.shard, targets,
      profile: Boolean(flags.profile), statsPolling: flags.statsPoll !== false,
      ...(flags.memoryLimit !== undefined ? { forecast: { limitBytes: flags.memoryLimit, ...(flags.rate !== undefined ? { rateRps: flags.rate } : {}) } } : {}),
    }, controller.signal, {
      onProgress: (p) => progress.update(p),
      onTrialDone: (trace) => {
        if (trace.status !== 'complete') progress.line(`${pc.red(trace.status)}: ${trace.scenario} / ${trace.variant} / trial ${trace.trial}: ${trace.error}`);
      },
    });
    progress.stop();
    const { store, info, summary, curves } = outcome;
    store.writeText('summary.csv', summaryCsv(summary));
    await writeReports(store.dir);  // from the files on disk, as `lab report` does: byte-identical
    if (flags.json) {
      io.stdout.write(summaryJson(summary));
    } else {
      io.stdout.write('\n' + summaryTable(summary, color) + '\n\n');
      for (const name of info.scenarios.map((s) => s.name)) {
        const c = curves.filter((x) => x.scenario === name);
        if (c.length) io.stdout.write(rssCharts(name, c, color) + '\n\n');
      }
      io.stdout.write(`results: ${store.dir}\n`);
      io.stdout.write(`report: ${store.dir}/report.html (and report.md)\n`);
    }
    if (info.warnings?.length) io.stderr.write(`${pc.yellow('warning')}:\n${info.warnings.map((w) => `  ${w}`).join('\n')}\n`);
    if (info.status === 'interrupted') return ExitCode.interrupted;
    const gated = flags.gate ? await gateAndReport(store.dir, { ...flags, json: false }, io, flags.json ? io.stderr : io.stdout) : ExitCode.ok;
    if (info.status === 'failed') {
      io.stderr.write(`${pc.red('run failed')}:\n${info.errors.map((e) => `  ${e}`).join('\n')}\n`);
      return ExitCode.failed;
    }
    return gated;
  } finally {
    progress.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
  }
}


/** --gate: the ceilings file, the baseline and an applicable entry are checked before the
 * run starts, so a typo costs seconds, not a whole run. */
async function precheckGate(flags: RunFlags, scenarios: Array<{ name: string; phases: Array<{ name: string }> }>, variantIds: string[]): Promise<void> {
  const ceilings = await loadCeilings(flags.ceilings, scenarios.map((s) => ({ name: s.name, phases: s.phases.map((p) => p.name) })));
  const quick = Boolean(flags.quick);
  const names = scenarios.map((s) => s.name);
  const applies = ceilings.entries.some((e) => e.quick === quick && names.includes(e.scenario) && (e.variant === '*' || variantIds.includes(e.variant)));
  if (!applies) throw new LabError('noCeilings', { file: ceilings.file, keys: [...new Set(names.map((n) => (quick ? `${n} --quick` : n)))] });
  if (flags.baseline !== undefined) checkBaselineFolder(flags.baseline, quick);
}

/** --profile: every profiler the chosen variants need is installed (exit 3 naming the
 * package otherwise); variants that cannot profile are said so now, and in the summary. */
async function precheckProfilers(variants: Variant[], io: Io): Promise<void> {
  for (const v of variants) {
    const p = profilerFor(v.allocator);
    if ('tool' in p) await requireProfilerTool(p);
    else io.stderr.write(`${pc.yellow('warning')}: --profile: variant ${v.id} is not profiled: ${p.unsupported}\n`);
  }
}
