// A whole run: every scenario x trial x variant in turn, streamed into the run folder
// (results/store.ts), then summarized with verdicts. The order interleaves variants within
// each trial, so slow drift of the machine spreads over all variants instead of biasing
// one. Growth profiles are a trial hook plus the symbolizer after the trial.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { profilerFor } from '../allocators/registry.js';
import { type Remedy, remediesFor, remedyVariantId } from '../allocators/remedies.js';
import { type Variant, findVariant } from '../allocators/variants.js';
import { withVerdict } from '../analysis/diagnosis.js';
import { compareRemedy } from '../analysis/remedy.js';
import { type TrialGrowth, withGrowthProfile } from '../analysis/growth.js';
import { summarize, trialMetrics } from '../analysis/metrics.js';
import { type ForecastOptions, withForecast, withProfileEvidence } from '../analysis/profile-verdict.js';
import type { RssPoints } from '../core/rss-series.js';
import { ALLOCATORS, type DumpEvent, type ReleaseEvent, type Sample, type SummaryRow, type Trace, type TrialMetrics } from '../core/types.js';
import { writeTrialGrowth } from '../results/growth-files.js';
import type { RunInfo, TargetInfo } from '../results/schema.js';
import { type Shard, cellKey, runMatrix, shardMatrix } from '../results/shard.js';
import type { TrialKey } from '../results/schema.js';
import { RunStore, makeRunId } from '../results/store.js';
import { readTrialBack } from '../results/trial-back.js';
import type { Scenario } from '../scenario/scenario.js';
import { subjectFor } from '../subjects/index.js';
import type { SubjectFacts, SubjectKind, SubjectReady, TrialHook } from '../subjects/subject.js';
import { periodicReleaseHook } from '../trial/periodic-release.js';
import { profileHook } from '../trial/profile-dump.js';
import { type Progress, type TrialOptions, runTrial } from '../trial/runner.js';
import { collectEnvironment } from './environment.js';
import { growthPair, symbolizeGrowth } from './profile.js';

/** A scenario of the run, with the kind of subject it names and what that kind's check found. */
export interface PlannedScenario {
  scenario: Scenario;
  file: string;
  subject: SubjectKind;
  facts: SubjectFacts;
}

/** A loaded scenario planned for a run: its kind of subject, checked for `variants`. */
export function planScenario(loaded: { scenario: Scenario; file: string }, variants: readonly Variant[]): PlannedScenario {
  const subject = subjectFor(loaded.scenario, loaded.file);
  return { ...loaded, subject, facts: subject.check(variants, { probe: true }) };
}

export interface RunPlan {
  scenarios: PlannedScenario[];
  variants: Variant[];
  trials: number | undefined;  // undefined: each scenario's own default
  seed: number | undefined;
  quick: boolean;
  outDir: string;
  argv: string[];
  /** Run only this slice of the scenario x trial x variant matrix (--shard i/n). */
  shard?: Shard;
  /** Poll the subject's counters every 100 ms (default true; --no-stats-poll). */
  statsPolling?: boolean;
  /** --profile: growth profiles on the variants that can (a scenario's `profile: true` too). */
  profile?: boolean;
  /** --memory-limit / --rate: a leak verdict's forecast. */
  forecast?: ForecastOptions;
  /** --remedies: after each scenario, its retention and fragmentation rows re-run with each
   * remedy of their allocator, at most `budget` remedied runs in all. */
  remedies?: { budget: number };
}

export interface RunOutcome {
  store: RunStore;
  info: RunInfo;
  summary: SummaryRow[];
  /** RSS over time of the first complete trial per scenario x variant, for charts. */
  curves: Array<{ scenario: string; variant: string; points: Array<[number, number]>; releaseAt: number | null }>;
  samplerIntervals: number[];
  samplerCpuMs: number;
}

export interface RunHooks {
  onProgress?: (p: Progress) => void;
  onTrialDone?: (trace: Trace, metrics: TrialMetrics) => void;
}

export async function executeRun(plan: RunPlan, signal: AbortSignal, hooks: RunHooks = {}): Promise<RunOutcome> {
  const run = new Run(plan, signal, hooks);
  for (const s of plan.scenarios) {
    if (signal.aborted) break;
    await run.scenario(s);
    if (plan.remedies) await run.remedies(s, plan.remedies.budget);
  }
  return run.close();
}

/** One scenario x variant's trials as they finish, and their growth profiles. */
interface Cell {
  traces: Trace[];
  metrics: TrialMetrics[];
  growth: { trials: TrialGrowth[]; errors: string[] };
}

class Run {
  readonly store: RunStore;
  readonly info: RunInfo;
  private readonly selected: Set<string>;
  private readonly summary: SummaryRow[] = [];
  private readonly curves: RunOutcome['curves'] = [];
  private readonly samplerIntervals: number[] = [];
  private samplerCpuMs = 0;
  private remediesRun = 0;

  constructor(private readonly plan: RunPlan, private readonly signal: AbortSignal, private readonly hooks: RunHooks) {
    const startedAt = new Date();
    const shardSuffix = plan.shard ? `-shard${plan.shard.index}of${plan.shard.count}` : '';
    this.store = new RunStore(plan.outDir, makeRunId(startedAt, plan.scenarios.map((s) => s.scenario.name)) + shardSuffix);
    this.info = runInfo(plan, this.store.runId, startedAt);
    const kinds = new Map(plan.scenarios.map((s) => [s.scenario.name, s.subject]));
    const cells = runMatrix(this.info.scenarios, plan.variants.map((v) => v.id)).filter((c) => kinds.get(c.scenario)!.variantApplies(c.variant));
    this.selected = new Set(shardMatrix(cells, plan.shard).map(cellKey));
    this.store.writeJson('run.json', this.info);
    this.store.markLatest();
  }

  /** Every selected trial of one scenario, then its summary rows. */
  async scenario(p: PlannedScenario): Promise<void> {
    const s = this.info.scenarios.find((x) => x.name === p.scenario.name)!;
    const cells = new Map<string, Cell>();
    for (let trial = 1; trial <= s.trials; trial++) {
      for (const variant of this.plan.variants) {
        if (this.signal.aborted) return this.summarize(p, cells);
        if (!this.selected.has(cellKey({ scenario: s.name, trial, variant: variant.id }))) continue;
        const cell = cells.get(variant.id) ?? { traces: [], metrics: [], growth: { trials: [], errors: [] } };
        cells.set(variant.id, cell);
        await this.trial(p, { scenario: s.name, variant: variant.id, trial }, variant, trialSeed(s.seed, trial), s.trials, cell);
      }
    }
    this.summarize(p, cells);
  }

  /** Each retention or fragmentation row of scenario `p`, re-run with each remedy its
   * allocator has (allocators/remedies.ts) while the budget lasts; a swap to a variant the
   * run already measured reuses that row. The remedied rows join the summary. */
  async remedies(p: PlannedScenario, budget: number): Promise<void> {
    const s = this.info.scenarios.find((x) => x.name === p.scenario.name)!;
    const rows = this.summary.filter((r) => r.scenario === s.name && !r.remedy && (r.verdict?.kind === 'retention' || r.verdict?.kind === 'fragmentation'));
    for (const row of rows) {
      const allocator = ALLOCATORS.find((a) => a === row.allocator);
      if (!allocator) continue;
      for (const remedy of remediesFor(allocator, this.plan.quick)) {
        if (this.signal.aborted) return;
        const id = remedyVariantId(row.variant, remedy);
        const variant = remedy.kind === 'release-every' ? this.plan.variants.find((v) => v.id === row.variant) : findVariant(remedy.variant);
        if (!variant || !p.subject.variantApplies(variant.id)) continue;
        const status = p.subject.variantStatuses([variant])[0];
        if (status && !status.available) {
          (this.info.warnings ??= []).push(`${s.name} / ${id}: not run, variant ${variant.id} is not available: ${status.reason ?? 'unknown'}`);
          continue;
        }
        const measured = remedy.kind === 'swap' ? this.summary.find((r) => r.scenario === s.name && r.variant === remedy.variant && !r.remedy) : undefined;
        if (!measured && this.remediesRun >= budget) {
          (this.info.warnings ??= []).push(`${s.name} / ${id}: not run, the --remedy-budget of ${budget} runs is spent`);
          continue;
        }
        const remedied = measured ? { ...measured } : await this.remedyRun(p, s, id, variant, remedy);
        if (!remedied) continue;
        this.summary.push({ ...remedied, variant: id, remedy: compareRemedy(row, remedied, remedy) });
        this.store.writeJson('summary.json', this.summary);
      }
    }
  }

  private async remedyRun(p: PlannedScenario, s: RunInfo['scenarios'][number], id: string, variant: Variant, remedy: Remedy): Promise<SummaryRow | null> {
    this.remediesRun += 1;
    const cell: Cell = { traces: [], metrics: [], growth: { trials: [], errors: [] } };
    for (let trial = 1; trial <= s.trials; trial++) {
      if (this.signal.aborted) break;
      const hooks = remedy.kind === 'release-every' ? [periodicReleaseHook(remedy.everyMs)] : [];
      await this.trial(p, { scenario: s.name, variant: id, trial }, variant, trialSeed(s.seed, trial), s.trials, cell, hooks);
    }
    return cell.traces.length ? this.rowOf(p, cell) : null;
  }

  /** One trial, read back from the run folder, its metrics and growth kept. */
  private async trial(p: PlannedScenario, key: TrialKey, variant: Variant, seed: number, trials: number, cell: Cell, extraHooks: TrialHook[] = []): Promise<void> {
    const profileDir = join(this.store.dir, 'profiles', key.scenario, `${variant.id}-${key.trial}`);
    const profiler = this.profiling(p) ? profilerFor(variant.allocator) : undefined;
    const profiled = profiler && 'tool' in profiler ? profiler : undefined;
    const written = this.store.offsets();
    const options: TrialOptions = {
      scenario: p.scenario, subject: p.subject, facts: p.facts, variant, trial: key.trial, trials, seed, signal: this.signal,
      statsPolling: this.plan.statsPolling, retain: false,
      onSample: (sample: Sample) => this.store.sample(key, sample),
      onEvent: (e) => this.store.event(key, e),
      onProgress: this.hooks.onProgress,
      onReady: (r) => this.ready(key, variant, r),
      onProcess: (r) => this.store.process(key, r),
      workDir: join(this.store.dir, 'trials', `${key.scenario}.${variant.id}.${key.trial}`),
      ...(profiled ? { launch: { env: profiled.env(profileDir, variant.env) } } : {}),
      hooks: [...(profiled ? [profileHook(mkdirp(profileDir))] : []), ...extraHooks],
    };
    const { trace, samplerIntervals, samplerCpuMs } = await runTrial(options);
    Object.assign(trace, await readTrialBack(this.store, written, key));
    this.samplerIntervals.push(...samplerIntervals);
    this.samplerCpuMs += samplerCpuMs;
    if (profiled && trace.status === 'complete') await this.growth(p, trace, variant, profileDir, cell);
    this.keep(key, trace, cell);
  }

  private profiling(p: PlannedScenario): boolean {
    return Boolean(this.plan.profile || p.scenario.profile);
  }

  /** What the subject said of itself: the allocator version it reports, and a target's
   * preload as it took (run.json). */
  private ready(key: TrialKey, variant: Variant, r: SubjectReady): void {
    const a = variant.allocator ? this.info.environment.allocators[variant.allocator] : undefined;
    if (a) a.reported = r.version ?? '';
    const t = this.info.targets?.[key.scenario];
    if (t) t.variants[variant.id] = { allocator: r.allocator, version: r.version, mapped: r.mapped ?? [] };
    this.store.writeJson('run.json', this.info);
  }

  /** The trial's growth profile: its two heap dumps symbolized against the program that
   * wrote them, kept in its profile folder (growth.json). */
  private async growth(p: PlannedScenario, trace: Trace, variant: Variant, dir: string, cell: Cell): Promise<void> {
    const profiler = profilerFor(variant.allocator);
    if (!('tool' in profiler)) return;
    const program = p.subject.programFor(variant, p.facts);
    const pair = growthPair(trace.events.filter((e): e is DumpEvent => e.type === 'profile'));
    const result = 'error' in pair ? { error: pair.error }
      : !program ? { error: 'the subject\'s program was not resolved (no binary to symbolize against)' }
      : await symbolizeGrowth(profiler, program, pair.base.path, pair.end.path, dir)
        .then((x) => ({ ...x, quiet: pair.end.quiet ?? null }), (err: Error) => ({ error: err.message }));
    writeTrialGrowth(dir, result);
    if ('error' in result) cell.growth.errors.push(`trial ${trace.trial}: ${result.error}`);
    else cell.growth.trials.push(result);
  }

  /** The trial's line in trials.jsonl, its errors and warnings in run.json, its curve. */
  private keep(key: TrialKey, trace: Trace, cell: Cell): void {
    const metrics = trialMetrics(trace);
    this.store.trial(trace, metrics);
    this.hooks.onTrialDone?.(trace, metrics);
    const where = `${key.scenario} / ${key.variant} / trial ${key.trial}`;
    if (trace.error) this.info.errors.push(`${where}: ${trace.error}`);
    const outside = unmeasuredWarning(trace, metrics);
    if (outside) (this.info.warnings ??= []).push(`${where}: ${outside}`);
    cell.traces.push(trace);
    cell.metrics.push(metrics);
    if (trace.status === 'complete' && !this.curves.some((c) => c.scenario === key.scenario && c.variant === key.variant)) {
      const release = trace.events.find((e): e is ReleaseEvent => e.type === 'release' && !e.periodic);
      this.curves.push({ scenario: key.scenario, variant: key.variant, points: maxPerBucket(trace.rss!, CURVE_POINTS), releaseAt: release ? release.tMs : null });
    }
    // On disk already: the next trial starts from nothing.
    trace.samples = [];
    trace.events = trace.events.filter((e) => e.type !== 'load');
    delete trace.rss;
  }

  private summarize(p: PlannedScenario, cells: Map<string, Cell>): void {
    for (const cell of cells.values()) {
      if (cell.traces.length === 0) continue;
      this.summary.push(this.rowOf(p, cell));
    }
    this.store.writeJson('summary.json', this.summary);
  }

  private rowOf(p: PlannedScenario, cell: Cell): SummaryRow {
    let row = withVerdict(summarize(cell.traces, cell.metrics));
    if (this.profiling(p)) row = withProfileEvidence(withGrowthProfile(row, cell.growth, this.store.dir, p.scenario.name));
    if (this.plan.forecast) row = withForecast(row, this.plan.forecast);
    return row;
  }

  async close(): Promise<RunOutcome> {
    this.info.status = this.signal.aborted ? 'interrupted' : this.info.errors.length ? 'failed' : 'complete';
    this.info.endedAt = new Date().toISOString();
    this.store.writeJson('summary.json', this.summary);
    await this.store.close();
    this.store.writeJson('run.json', this.info);
    return { store: this.store, info: this.info, summary: this.summary, curves: this.curves, samplerIntervals: this.samplerIntervals, samplerCpuMs: this.samplerCpuMs };
  }
}

/** run.json as the run starts. */
function runInfo(plan: RunPlan, runId: string, startedAt: Date): RunInfo {
  const targets: Record<string, TargetInfo> = {};
  for (const p of plan.scenarios) {
    if (p.subject.command && p.facts.binary) targets[p.scenario.name] = { command: [...p.subject.command], binary: p.facts.binary, variants: {} };
  }
  return {
    runId,
    command: plan.argv,
    status: 'running',
    quick: plan.quick,
    scenarios: plan.scenarios.map(({ scenario, file }) => {
      const trials = plan.trials ?? scenario.trials;
      const seed = plan.seed ?? scenario.seed;
      return { name: scenario.name, file, trials, seed, seeds: Array.from({ length: trials }, (_, i) => trialSeed(seed, i + 1)), scenario };
    }),
    variants: plan.variants.map((v) => ({ id: v.id, allocator: v.allocator ?? v.id, env: v.env })),
    ...(Object.keys(targets).length ? { targets } : {}),
    startedAt: startedAt.toISOString(),
    endedAt: null,
    environment: collectEnvironment(),
    errors: [],
    shard: plan.shard ?? null,
    statsPolling: plan.statsPolling ?? true,
    ...(plan.profile ? { profile: true } : {}),
    ...(plan.forecast ? { forecast: plan.forecast } : {}),
  };
}

/** A target's child processes held memory the lab did not measure: at least 8 MiB and 10%
 * of the target's own peak. */
export function unmeasuredWarning(trace: Pick<Trace, 'descendants'>, metrics: TrialMetrics): string | null {
  const d = trace.descendants;
  if (!d || d.processes === 0) return null;
  const peak = metrics.peakRss ?? 0;
  if (d.rssBytes < Math.max(8 * 2 ** 20, 0.1 * peak)) return null;
  return `the target had ${d.processes} child process(es) holding up to ${(d.rssBytes / 2 ** 20).toFixed(1)} MiB of RSS, which these results do not include: the lab follows the target's first process (its peak: ${(peak / 2 ** 20).toFixed(1)} MiB). Run the server as one process (e.g. nginx \`master_process off;\`), see docs/targets.md`;
}

/** The seed of trial `trial` (1-based): the base seed + trial - 1. */
export function trialSeed(base: number, trial: number): number {
  return base + trial - 1;
}

function mkdirp(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The terminal's RSS curves are 64 columns wide: a curve keeps at most CURVE_POINTS
 * points (the highest RSS of each time bucket, so the peak survives), not 100 a second. */
const CURVE_POINTS = 1024;

function maxPerBucket(points: RssPoints, n: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  if (points.length === 0) return out;
  const t0 = points.tAt(0);
  const span = points.tAt(points.length - 1) - t0 || 1;
  let bucket = -1;
  for (let i = 0; i < points.length; i++) {
    const t = points.tAt(i);
    const rss = points.rssAt(i);
    const b = points.length <= n ? i : Math.min(n - 1, Math.floor(((t - t0) / span) * n));
    if (b !== bucket) {
      out.push([t, rss]);
      bucket = b;
    } else if (rss > out.at(-1)![1]) {
      out[out.length - 1] = [t, rss];
    }
  }
  return out;
}
