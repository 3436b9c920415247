// The gate's I/O: load and validate the ceilings file against what exists, read the run
// folder (and the baseline's), and write junit.xml, the gate section of report.md and
// GITHUB_STEP_SUMMARY. The checking itself is gate.ts (pure).
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { LabError } from '../core/errors.js';
import { loadSummary } from '../run/load-run.js';
import { ROOT, SCENARIOS_DIR } from '../core/paths.js';
import { gateMarkdown } from '../report/gate.js';
import { junitXml } from '../report/junit.js';
import type { RunInfo } from '../run/run.js';
import { listScenarioNames, loadScenario } from '../scenario/scenario.js';
import type { SummaryRow } from '../core/types.js';
import { AS_BUILT, VARIANTS } from '../subject/variants.js';
import { parseCeilings, readCeilingsFile, type Ceilings } from './ceilings.js';
import { runGate, type GateResult, type GateRun } from './gate.js';

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
    variants: [...VARIANTS.map((v) => v.id), AS_BUILT],  // as-built: a target as it is built
    phases,
  });
}

export function gateRunOf(info: RunInfo, summary: readonly SummaryRow[]): GateRun {
  return { quick: info.quick, scenarios: info.scenarios.map((s) => s.name), variants: info.variants.map((v) => v.id), summary };
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

const BEGIN = '<!-- leak-lab gate -->';
const END = '<!-- /leak-lab gate -->';

/** Writes junit.xml into the run folder, puts the gate table into its report.md (replacing
 * an earlier gate section) when there is one, and appends report.md (or the gate table
 * alone) to $GITHUB_STEP_SUMMARY when that is set. Returns the paths written. */
export function writeGateFiles(dir: string, result: GateResult, env: NodeJS.ProcessEnv = process.env): string[] {
  const written: string[] = [];
  const junit = join(dir, 'junit.xml');
  writeFileSync(junit, junitXml(result));
  written.push(junit);
  const table = gateMarkdown(result);
  const reportMd = join(dir, 'report.md');
  let markdown = table;
  if (existsSync(reportMd)) {
    const text = readFileSync(reportMd, 'utf8');
    const section = `${BEGIN}\n${table}${END}\n`;
    const start = text.indexOf(BEGIN);
    const end = text.indexOf(END);
    markdown = start >= 0 && end > start
      ? text.slice(0, start) + section + text.slice(end + END.length + 1)
      : `${text.trimEnd()}\n\n${section}`;
    writeFileSync(reportMd, markdown);
    written.push(reportMd);
  }
  const stepSummary = env.GITHUB_STEP_SUMMARY;
  if (stepSummary) {
    appendFileSync(stepSummary, `${markdown}\n`);
    written.push(stepSummary);
  }
  return written;
}
