// `lab run` (the default command): check everything the user typed, build, run the
// scenarios on the variants, print the summary and charts, and gate when asked.
import { resolve } from 'node:path';
import pc from 'picocolors';
import { profilerFor } from '../allocators/registry.js';
import { ALL_VARIANTS, type Variant, variantIds } from '../allocators/variants.js';
import { ExitCode, LabError } from '../core/errors.js';
import { RESULTS_DIR } from '../core/paths.js';
import { checkBaselineFolder, loadCeilings } from '../gate/apply.js';
import { summaryJson } from '../report/json.js';
import { rssCharts, summaryTable } from '../report/terminal.js';
import { writeReports } from '../report/write.js';
import { requireProfilerTool } from '../run/profile.js';
import { type PlannedScenario, type RunOutcome, executeRun } from '../run/run.js';
import { type Scenario, applyQuick, expandArms, listScenarioNames, loadScenario } from '../scenario/scenario.js';
import { subjectFor } from '../subjects/index.js';
import type { SubjectKind } from '../subjects/subject.js';
import { buildNative } from '../tooling/build.js';
import type { RunFlags } from './flags.js';
import { gateAndReport } from './gate.js';
import type { Io } from './io.js';
import { progressView } from './progress.js';
import { onSignals } from './signals.js';

type Loaded = { scenario: Scenario; file: string; subject: SubjectKind };

/** The ids of --variants, each known; throws LabError('unknownVariant') otherwise. */
function checkVariantIds(spec: string): string[] {
  const valid = variantIds();
  const ids = spec.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = ids.filter((id) => !valid.includes(id));
  if (unknown.length || ids.length === 0) throw new LabError('unknownVariant', { ids: unknown.length ? unknown : [spec], valid });
  return [...new Set(ids)];
}

/** --variants, or else the union of the scenarios' own defaults, skipping (with a warning)
 * what a scenario's subject cannot run now (a relay binary not built). A variant given
 * explicitly must apply to every scenario, and be available for each. */
function resolveVariants(spec: string | undefined, io: Io, kinds: readonly SubjectKind[]): Variant[] {
  if (spec !== undefined) {
    const chosen = checkVariantIds(spec).map((id) => ALL_VARIANTS.find((v) => v.id === id)!);
    for (const v of chosen) {
      const refused = kinds.find((k) => !k.variantApplies(v.id));
      if (refused) throw new LabError('badFlag', { flag: '--variants', value: spec, valid: `variant ids that every scenario of the run takes ('${v.id}' does not apply to ${refused.description})` });
      const st = unavailable(v, kinds);
      if (st) throw new LabError('unavailableVariant', { id: v.id, reason: st });
    }
    return chosen;
  }
  const wanted = new Set(kinds.flatMap((k) => k.defaultVariantIds()));
  const chosen: Variant[] = [];
  for (const v of ALL_VARIANTS.filter((x) => wanted.has(x.id))) {
    const st = unavailable(v, kinds);
    if (!st) chosen.push(v);
    else io.stderr.write(`${pc.yellow('warning')}: skipping variant ${v.id}: ${st}\n`);
  }
  if (chosen.length === 0) throw new LabError('noVariants');
  return chosen;
}

/** Why a kind that needs the relay binaries cannot run `v` now, or null. */
function unavailable(v: Variant, kinds: readonly SubjectKind[]): string | null {
  for (const k of kinds.filter((x) => x.needsRelayBinaries && x.variantApplies(v.id))) {
    const st = k.variantStatuses([v])[0]!;
    if (!st.available) return st.reason ?? 'unknown';
  }
  return null;
}

/** Every scenario named (arms expanded, --quick applied), with its kind of subject. */
async function loadScenarios(flags: RunFlags): Promise<Loaded[]> {
  if (!flags.scenario?.length) {
    throw new LabError('badFlag', { flag: '--scenario', value: '', valid: `one of ${listScenarioNames().join(', ')} (or a scenario file)` });
  }
  const out: Loaded[] = [];
  for (const name of flags.scenario) {
    const loaded = await loadScenario(name);
    for (const scenario of expandArms(flags.quick ? applyQuick(loaded.scenario) : loaded.scenario)) {
      out.push({ ...loaded, scenario, subject: subjectFor(scenario, loaded.file) });
    }
  }
  return out;
}

function checkFlags(flags: RunFlags): void {
  if (flags.variants !== undefined) checkVariantIds(flags.variants);
  if (!flags.gate && (flags.ceilings !== undefined || flags.baseline !== undefined)) {
    throw new LabError('badFlag', { flag: flags.ceilings !== undefined ? '--ceilings' : '--baseline', value: flags.ceilings ?? flags.baseline ?? '', valid: 'it together with --gate (or use `lab gate <run-dir>`)' });
  }
  if (flags.rate !== undefined && flags.memoryLimit === undefined) {
    throw new LabError('badFlag', { flag: '--rate', value: String(flags.rate), valid: 'it together with --memory-limit SIZE (the forecast needs a limit)' });
  }
}

/** Everything checked, built, and each scenario's subject checked: the run's plan. A run
 * whose subjects need no relay binary is checked before the build too, so a typo costs no
 * build; the probe, which the build makes, is checked after it. */
/** --remedies without --remedy-budget: at most this many remedied runs. */
export const DEFAULT_REMEDY_BUDGET = 8;

async function prepare(flags: RunFlags, io: Io): Promise<{ scenarios: PlannedScenario[]; variants: Variant[] }> {
  if (flags.remedyBudget !== undefined && !flags.remedies) {
    throw new LabError('badFlag', { flag: '--remedy-budget', value: String(flags.remedyBudget), valid: 'a budget for --remedies: add --remedies' });
  }
  const loaded = await loadScenarios(flags);
  checkFlags(flags);
  const kinds = loaded.map((s) => s.subject);
  if (kinds.every((k) => !k.needsRelayBinaries)) {
    const early = resolveVariants(flags.variants, { stdout: io.stdout, stderr: { write: () => true } }, kinds);
    for (const k of kinds) k.check(early, { probe: false });
  }
  const build = await buildNative((l) => io.stderr.write(`${l}\n`));
  if (build.skipped.length) io.stderr.write(`${pc.yellow('warning')}: ${build.skipped.join('; ')}\n`);
  const variants = resolveVariants(flags.variants, io, kinds);
  const scenarios = loaded.map((s) => ({ ...s, facts: s.subject.check(variants, { probe: true }) }));
  if (flags.profile || loaded.some((s) => s.scenario.profile)) await precheckProfilers(variants, io);
  if (flags.gate) await precheckGate(flags, loaded.map((s) => s.scenario), variants.map((v) => v.id));
  return { scenarios, variants };
}

export async function runCommand(flags: RunFlags, argv: string[], io: Io): Promise<number> {
  const { scenarios, variants } = await prepare(flags, io);
  const controller = new AbortController();
  const stopSignals = onSignals(controller, io);
  const progress = progressView(io.stderr);
  try {
    const outcome = await executeRun({
      scenarios, variants, trials: flags.trials, seed: flags.seed, quick: Boolean(flags.quick),
      outDir: resolve(flags.out ?? RESULTS_DIR), argv: ['npm', 'run', 'lab', '--', ...argv], shard: flags.shard,
      profile: Boolean(flags.profile), statsPolling: flags.statsPoll !== false,
      ...(flags.memoryLimit !== undefined ? { forecast: { limitBytes: flags.memoryLimit, ...(flags.rate !== undefined ? { rateRps: flags.rate } : {}) } } : {}),
      ...(flags.remedies ? { remedies: { budget: flags.remedyBudget ?? DEFAULT_REMEDY_BUDGET } } : {}),
    }, controller.signal, {
      onProgress: (p) => progress.update(p),
      onTrialDone: (trace) => {
        if (trace.status !== 'complete') progress.line(`${pc.red(trace.status)}: ${trace.scenario} / ${trace.variant} / trial ${trace.trial}: ${trace.error}`);
      },
    });
    progress.stop();
    await writeReports(outcome.store.dir);  // from the files on disk, as `lab report` does: byte-identical
    return await conclude(outcome, flags, io);
  } finally {
    progress.stop();
    stopSignals();
  }
}

/** The summary, charts and where the files are; the gate when asked; the exit code. */
async function conclude(outcome: RunOutcome, flags: RunFlags, io: Io): Promise<number> {
  const { store, info, summary, curves } = outcome;
  const color = Boolean(io.stdout.isTTY) && !flags.json;
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
}

/** --gate: the ceilings file, the baseline and an applicable entry are checked before the
 * run starts, so a typo costs seconds, not a whole run. */
async function precheckGate(flags: RunFlags, scenarios: Array<{ name: string; phases: Array<{ name: string }> }>, ids: string[]): Promise<void> {
  const ceilings = await loadCeilings(flags.ceilings, scenarios.map((s) => ({ name: s.name, phases: s.phases.map((p) => p.name) })));
  const quick = Boolean(flags.quick);
  const names = scenarios.map((s) => s.name);
  const applies = ceilings.entries.some((e) => e.quick === quick && names.includes(e.scenario) && (e.variant === '*' || ids.includes(e.variant)));
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
