// The gate: a run's summary against ceilings (absolute) and, optionally, a baseline run
// (relative). Pure functions: they return checks; the CLI turns them into an exit code.
import { LabError } from '../core/errors.js';
import type { SummaryRow } from '../core/types.js';
import type { Ceiling, Ceilings } from './ceilings.js';

/** What the gate needs of a run (run.json + summary.json). */
export interface GateRun {
  quick: boolean;
  /** Scenario names the run was asked for. */
  scenarios: readonly string[];
  /** Variant ids the run was asked for (a shard runs only some of them). */
  variants: readonly string[];
  summary: readonly SummaryRow[];
}

export type CheckStatus = 'pass' | 'fail' | 'not-run';

export interface Check {
  kind: 'ceiling' | 'baseline';
  scenario: string;
  quick: boolean;
  /** A variant id; `*` only on a not-run entry for a scenario the run did not include. */
  variant: string;
  metric: string;
  /** In the metric's base unit; null on a not-run check without a limit (no baseline value). */
  limit: number | null;
  /** How the limit was given: "320MiB", or "+10% of <baseline>". */
  limitText: string;
  actual: number | null;
  status: CheckStatus;
  /** Why it failed or was not run; empty on a pass. */
  reason: string;
  /** For baseline checks: the baseline's median. */
  baseline?: number;
}

export interface GateResult {
  runDir: string;
  ceilingsFile: string;
  baseline: { dir: string; maxRegression: number } | null;
  quick: boolean;
  checks: Check[];
  passed: number;
  failed: number;
  notRun: number;
}

export function scenarioKey(scenario: string, quick: boolean): string {
  return quick ? `${scenario} --quick` : scenario;
}

function row(run: GateRun, scenario: string, variant: string): SummaryRow | undefined {
  return run.summary.find((r) => r.scenario === scenario && r.variant === variant);
}

function judge(base: Omit<Check, 'actual' | 'status' | 'reason'>, r: SummaryRow): Check {
  const actual = r.metrics[base.metric]?.median ?? null;
  if (actual === null) {
    const why = r.trials === 0 ? `no value: every trial failed (${r.failedTrials})` : `no value: '${base.metric}' was not measured for ${r.variant}`;
    return { ...base, actual, status: 'fail', reason: why };
  }
  if (base.limit === null) return { ...base, actual, status: 'not-run', reason: 'no limit' };
  return actual <= base.limit
    ? { ...base, actual, status: 'pass', reason: '' }
    : { ...base, actual, status: 'fail', reason: 'exceeded' };
}

/** One check per ceiling entry and run variant (`*` expands to the run's variants; a
 * variant's own entry for a metric replaces the `*` one). Entries of the other run form
 * (--quick or full), of scenarios and of variants the run did not include are 'not-run'. */
export function checkCeilings(ceilings: Ceilings, run: GateRun): Check[] {
  const checks: Check[] = [];
  const own = (c: Ceiling, variant: string) =>
    ceilings.entries.some((e) => e !== c && e.scenario === c.scenario && e.quick === c.quick && e.variant === variant && e.metric === c.metric);
  for (const c of ceilings.entries) {
    const base = { kind: 'ceiling' as const, scenario: c.scenario, quick: c.quick, metric: c.metric, limit: c.limit, limitText: c.text };
    const notRun = (variant: string, reason: string): Check => ({ ...base, variant, actual: null, status: 'not-run', reason });
    if (c.quick !== run.quick) {
      checks.push(notRun(c.variant, c.quick ? 'for --quick runs; this run was full-size' : 'for full-size runs; this run was --quick'));
      continue;
    }
    if (!run.scenarios.includes(c.scenario)) {
      checks.push(notRun(c.variant, 'scenario not in this run'));
      continue;
    }
    const variants = c.variant === '*' ? run.variants.filter((v) => !own(c, v)) : [c.variant];
    for (const variant of variants) {
      const r = row(run, c.scenario, variant);
      checks.push(r ? judge({ ...base, variant }, r) : notRun(variant, 'variant not in this run'));
    }
  }
  // Grouped for reading: by scenario (as the file lists them), then variant (as the run does).
  const keys = [...new Set(checks.map((c) => scenarioKey(c.scenario, c.quick)))];
  const rank = (c: Check) => keys.indexOf(scenarioKey(c.scenario, c.quick)) * 1000 + (run.variants.includes(c.variant) ? run.variants.indexOf(c.variant) : 999);
  return checks.map((c, i) => ({ c, i })).sort((a, b) => rank(a.c) - rank(b.c) || a.i - b.i).map(({ c }) => c);
}

/** For every ceiling check that ran, a relative check of the same metric against the
 * baseline run's median: limit = baseline x (1 + maxRegression). The ceilings file says
 * which metrics are worth gating; the baseline says how much they may grow. */
export function checkBaseline(ceilingChecks: readonly Check[], baseline: { quick: boolean; summary: readonly SummaryRow[] }, run: GateRun, maxRegression: number): Check[] {
  const checks: Check[] = [];
  for (const c of ceilingChecks) {
    if (c.status === 'not-run' || c.kind !== 'ceiling') continue;
    const pct = `+${+(maxRegression * 100).toFixed(2)}%`;
    const b = baseline.summary.find((r) => r.scenario === c.scenario && r.variant === c.variant)?.metrics[c.metric]?.median ?? null;
    const base = { kind: 'baseline' as const, scenario: c.scenario, quick: c.quick, variant: c.variant, metric: c.metric };
    if (b === null) {
      checks.push({ ...base, limit: null, limitText: `${pct} of baseline`, actual: c.actual, status: 'not-run', reason: 'not in the baseline run' });
      continue;
    }
    const r = row(run, c.scenario, c.variant)!;
    checks.push({ ...judge({ ...base, limit: b * (1 + maxRegression), limitText: `${pct} of baseline`, baseline: b }, r), baseline: b });
  }
  return checks;
}

/** The whole gate. Throws LabError('noCeilings') when nothing applied: a gate that
 * checks nothing must not pass. */
export function runGate(input: {
  runDir: string;
  run: GateRun;
  ceilings: Ceilings;
  baseline?: { dir: string; quick: boolean; summary: readonly SummaryRow[]; maxRegression: number };
}): GateResult {
  const { run, ceilings, baseline } = input;
  if (baseline && baseline.quick !== run.quick) {
    throw new LabError('baselineMismatch', { dir: baseline.dir, reason: `it is a ${baseline.quick ? '--quick' : 'full-size'} run and this one is ${run.quick ? '--quick' : 'full-size'}` });
  }
  const ceilingChecks = checkCeilings(ceilings, run);
  if (!ceilingChecks.some((c) => c.status !== 'not-run')) {
    throw new LabError('noCeilings', { file: ceilings.file, keys: [...new Set(run.scenarios.map((s) => scenarioKey(s, run.quick)))] });
  }
  const checks = baseline ? [...ceilingChecks, ...checkBaseline(ceilingChecks, baseline, run, baseline.maxRegression)] : ceilingChecks;
  return {
    runDir: input.runDir,
    ceilingsFile: ceilings.file,
    baseline: baseline ? { dir: baseline.dir, maxRegression: baseline.maxRegression } : null,
    quick: run.quick,
    checks,
    passed: checks.filter((c) => c.status === 'pass').length,
    failed: checks.filter((c) => c.status === 'fail').length,
    notRun: checks.filter((c) => c.status === 'not-run').length,
  };
}

/** Parses --max-regression: "10%", or a fraction up to 1 such as 0.1; undefined when
 * invalid ("10" is refused: 10% or 1000%?). */
export function parseRegression(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(text);
  if (!m) return undefined;
  const r = Number(m[1]) / (m[2] ? 100 : 1);
  if (!m[2] && r > 1) return undefined;
  return Number.isFinite(r) ? r : undefined;
}
