// The gate's input: load and validate the ceilings file against what exists, and read the
// run folder (and the baseline's). The checking itself is gate.ts (pure); what a gate
// writes (junit.xml, report.md's gate section, GITHUB_STEP_SUMMARY) is report/gate-files.ts.
import { join, relative } from 'node:path';
import { LabError } from '../core/errors.js';
import { loadSummary } from '../results/reader.js';
import { ROOT, SCENARIOS_DIR } from '../core/paths.js';
import { listScenarioNames, loadScenario } from '../scenario/scenario.js';
import type { SummaryRow } from '../core/types.js';
import { variantIds } from '../allocators/variants.js';
import { remedyIds } from '../allocators/remedies.js';
import { parseCeilings, readCeilingsFile, type Ceilings } from './ceilings.js';
import { runGate, type GateResult, type GateRun } from './gate.js';
import { type RunInfo } from '../results/schema.js';

export const DEFAULT_CEILINGS = join(SCENARIOS_DIR, 'ceilings.ts');

/** Loads and validates a ceilings file. `extra` adds scenarios that are not in scenarios/
 * (a run of a scenario file given by path), with their phases. */
export async function loadCeilings(path: string | undefined, extra: ReadonlyArray<{ name: string; phases: string[] }> = []): Promise<Ceilings> {
  const { raw, file } = await readCeilingsFile(path ?? DEFAULT_CEILINGS);
  const phases: Record<string, string[]> = {};
  for (const name of listScenarioNames()) {
    try {
      phases[name] = (await loadScenario(name)).scenario.phases.map((p) => p.name);
    } catch {
      // A broken scenario file is reported when it is run, not here.
    }
  }
  for (const s of extra) phases[s.name] = s.phases;
  const shown = relative(ROOT, file).startsWith('..') ? file : relative(ROOT, file);
  return parseCeilings(raw, shown, {
    scenarios: [...new Set([...listScenarioNames(), ...extra.map((s) => s.name)])],
    variants: variantIds(),
    // A remedied row (--remedies) is named '<variant>+<remedy>': a ceiling on it requires that the remedy holds.
    remedies: remedyIds(),
    phases,
  });
}

export function gateRunOf(info: RunInfo, summary: readonly SummaryRow[]): GateRun {
  const remedied = [...new Set(summary.filter((r) => r.remedy).map((r) => r.variant))];
  return { quick: info.quick, scenarios: info.scenarios.map((s) => s.name), variants: [...info.variants.map((v) => v.id), ...remedied], summary };
}

export function scenariosOf(info: RunInfo): Array<{ name: string; phases: string[] }> {
  return info.scenarios.map((s) => ({ name: s.name, phases: s.scenario.phases.map((p) => p.name) }));
}

export interface GateOptions {
  ceilings?: string;
  baseline?: string;
  /** A fraction: 0.1 for 10%. */
  maxRegression: number;
}

/** Gates the run folder `dir`; returns the checks and the run's status. */
export async function gateRunFolder(dir: string, o: GateOptions): Promise<{ result: GateResult; info: RunInfo }> {
  const { info, summary } = loadSummary(dir);
  const ceilings = await loadCeilings(o.ceilings, scenariosOf(info));
  const baseline = o.baseline === undefined ? undefined : (() => {
    const b = loadSummary(o.baseline);
    return { dir: o.baseline, quick: b.info.quick, summary: b.summary, maxRegression: o.maxRegression };
  })();
  return { result: runGate({ runDir: dir, run: gateRunOf(info, summary), ceilings, baseline }), info };
}

/** Checks --baseline before a run starts: a run folder, of the same form (--quick or not). */
export function checkBaselineFolder(dir: string, quick: boolean): void {
  const { info } = loadSummary(dir);
  if (info.quick !== quick) {
    throw new LabError('baselineMismatch', { dir, reason: `it is a ${info.quick ? '--quick' : 'full-size'} run and this one is ${quick ? '--quick' : 'full-size'}` });
  }
}
