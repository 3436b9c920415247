// A whole run: every scenario x trial x variant in turn, streamed into a RunStore, then
// summarized. The order interleaves variants within each trial, so slow drift of the
// machine spreads over all variants instead of biasing one.
import type { RssPoints } from '../core/rss-series.js';
import { collectEnvironment, type Environment } from './environment.js';
import { withVerdict } from '../analysis/diagnosis.js';
import { type ForecastOptions, withForecast, withProfileEvidence } from '../analysis/profile-verdict.js';
import { type DumpEvent, type TrialGrowth, growthPair, profilerFor, symbolizeGrowth, withGrowthProfile, writeTrialGrowth } from './profile.js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { relayBinary } from '../subject/variants.js';
import { summarize, trialMetrics } from '../analysis/metrics.js';
import { type Progress, runTrial } from './runner.js';
import { readTrialBack } from './trial-back.js';
import type { Scenario } from '../scenario/scenario.js';
import { type Shard, cellKey, runMatrix, shardMatrix } from './shard.js';
import { RunStore, makeRunId } from './store.js';
import type { RunStatus, Sample, SummaryRow, Trace, TrialMetrics } from '../core/types.js';
import type { Variant } from '../subject/variants.js';
import type { BinaryInfo } from '../subject/binary.js';
import { variantApplies } from './target-check.js';

export interface RunPlan {
  scenarios: Array<{ scenario: Scenario; file: string }>;
  variants: Variant[];
  trials: number | undefined;  // undefined: each scenario's own default
  seed: number | undefined;
  quick: boolean;
  outDir: string;
  argv: string[];
  /** Run only this slice of the scenario x trial x variant matrix (--shard i/n). */
  shard?: Shard;
  /** Poll the relay's counters every 100 ms (default true; --no-stats-poll). */
  statsPolling?: boolean;
  /** --profile: growth profiles on the variants that can (a scenario's `profile: true` too). */
  profile?: boolean;
  /** --memory-limit / --rate: a leak verdict's forecast. */
  forecast?: ForecastOptions;
  /** The target's program of each target scenario (by scenario name), checked beforehand. */
  targets?: Record<string, BinaryInfo>;
}

/** A target scenario's provenance in run.json: its program, and per variant what really
 * served malloc (the probe's report and the allocator libraries mapped). */
export interface TargetInfo {
  command: string[];
  binary: BinaryInfo;
  variants: Record<string, { allocator: string; version: string | null; mapped: string[] }>;
}

export interface RunInfo {
  runId: string;
  command: string[];
  status: RunStatus;
  quick: boolean;
  /** `seed` is the base: trial i runs with seed + i - 1 (listed in `seeds`, and per trial
   * in trials.jsonl), so the spread over trials includes the workload's variance. */
  scenarios: Array<{ name: string; file: string; trials: number; seed: number; seeds?: number[]; scenario: Scenario }>;
  variants: Array<{ id: string; allocator: string; env: Record<string, string> }>;
  /** Target scenarios (by name): program, build id or checksum, package, what ran. */
  targets?: Record<string, TargetInfo>;
  startedAt: string;
  endedAt: string | null;
  environment: Environment;
  errors: string[];
  /** What the results do not cover, said once per trial (a target's child processes). */
  warnings?: string[];
  /** The slice this run covers (--shard), or null for the whole matrix. */
  shard: Shard | null;
  /** Whether the relay's counters were polled every 100 ms (false: --no-stats-poll). */
  statsPolling?: boolean;
  /** --profile and --memory-limit / --rate as given (what `lab merge` re-applies). */
  profile?: boolean;
  forecast?: ForecastOptions;
  /** Set by `lab merge`: the shard run folders this run was joined from. */
  mergedFrom?: Array<{ runId: string; dir: string; shard: Shard | null; status: RunStatus }>;
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
  const startedAt = new Date();
  const shardSuffix = plan.shard ? `-shard${plan.shard.index}of${plan.shard.count}` : '';
  const store = new RunStore(plan.outDir, makeRunId(startedAt, plan.scenarios.map((s) => s.scenario.name)) + shardSuffix);
  const info: RunInfo = {
    runId: store.runId,
    command: plan.argv,
    status: 'running',
    quick: plan.quick,
    scenarios: plan.scenarios.map(({ scenario, file }) => {
      const trials = plan.trials ?? scenario.trials;
      const seed = plan.seed ?? scenario.seed;
      return { name: scenario.name, file, trials, seed, seeds: Array.from({ length: trials }, (_, i) => trialSeed(seed, i + 1)), scenario };
    }),
    variants: plan.variants.map((v) => ({ id: v.id, allocator: v.allocator ?? v.id, env: v.env })),
    startedAt: startedAt.toISOString(),
    endedAt: null,
    environment: collectEnvironment(),
    errors: [],
    shard: plan.shard ?? null,
    statsPolling: plan.statsPolling ?? true,
    ...(plan.profile ? { profile: true } : {}),
    ...(plan.forecast ? { forecast: plan.forecast } : {}),
  };
  const targets: Record<string, TargetInfo> = {};
  for (const s of info.scenarios) {
    const binary = plan.targets?.[s.name];
    if (s.scenario.target && binary) targets[s.name] = { command: s.scenario.target.command, binary, variants: {} };
  }
  if (Object.keys(targets).length) info.targets = targets;
  const applies = (c: { scenario: string; variant: string }) => variantApplies(info.scenarios.find((s) => s.name === c.scenario)!.scenario, c.variant);
  const cells = runMatrix(info.scenarios, plan.variants.map((v) => v.id)).filter(applies);
  const selected = new Set(shardMatrix(cells, plan.shard).map(cellKey));
  store.writeJson('run.json', info);
  store.markLatest();

  const summary: SummaryRow[] = [];
  const curves: RunOutcome['curves'] = [];
  const samplerIntervals: number[] = [];
  let samplerCpuMs = 0;
  const writeSummary = () => {
    store.writeJson('summary.json', summary);
  };

  outer: for (const s of info.scenarios) {
    const traces = new Map<string, { traces: Trace[]; metrics: TrialMetrics[] }>();
    const profiling = Boolean(plan.profile || s.scenario.profile);
    const growths = new Map<string, { trials: TrialGrowth[]; errors: string[] }>();
    for (let trial = 1; trial <= s.trials; trial++) {
      for (const variant of plan.variants) {
        if (signal.aborted) break outer;
        if (!selected.has(cellKey({ scenario: s.name, trial, variant: variant.id }))) continue;
        const key = { scenario: s.name, variant: variant.id, trial };
        // Growth profiles symbolize against the program that wrote the dumps: the relay's
        // binary, or the target's own (recorded in run.json); a target's probe takes the dumps.
        const profiler = profiling ? profilerFor(variant.allocator) : undefined;
        const profiledBinary = s.scenario.target ? plan.targets?.[s.name]?.path : relayBinary(variant);
        const profileDir = join(store.dir, 'profiles', s.name, `${variant.id}-${trial}`);
        const written = store.offsets();
        const { trace, samplerIntervals: iv, samplerCpuMs: sc } = await runTrial({
          scenario: s.scenario, variant, trial, trials: s.trials, seed: trialSeed(s.seed, trial), signal, statsPolling: plan.statsPolling, retain: false,
          ...(profiler && 'tool' in profiler ? { profile: { dir: mkdirp(profileDir), env: profiler.env(profileDir, variant.env) } } : {}),
          onSample: (sample: Sample) => store.sample(key, sample),
          onEvent: (e) => store.event(key, e),
          onProgress: hooks.onProgress,
          onRelayReady: (ready) => {
            const a = variant.allocator ? info.environment.allocators[variant.allocator] : undefined;
            if (a) a.reported = String(ready.version ?? '');
          },
          workDir: join(store.dir, 'trials', `${s.name}.${variant.id}.${trial}`),
          onProcess: (r) => store.process(key, r),
          staticTarget: plan.targets?.[s.name]?.elf?.static === true,
          onSubjectReady: (r) => {
            const t = info.targets?.[s.name];
            if (t) t.variants[variant.id] = { allocator: String(r.allocator), version: r.version === null ? null : String(r.version), mapped: (r.mapped as string[]) ?? [] };
            store.writeJson('run.json', info);
          },
        });
        Object.assign(trace, await readTrialBack(store, written, key));
        samplerIntervals.push(...iv);
        samplerCpuMs += sc;
        if (profiler && 'tool' in profiler && trace.status === 'complete') {
          const g = growths.get(variant.id) ?? { trials: [], errors: [] };
          growths.set(variant.id, g);
          const pair = growthPair(trace.events.filter((e): e is DumpEvent => e.type === 'profile'));
          const result = 'error' in pair ? { error: pair.error }
            : !profiledBinary ? { error: 'the target\'s program was not resolved (no binary to symbolize against)' }
            : await symbolizeGrowth(profiler, profiledBinary, pair.base.path, pair.end.path, profileDir)
              .then((x) => ({ ...x, quiet: pair.end.quiet ?? null }), (err: Error) => ({ error: err.message }));
          writeTrialGrowth(profileDir, result);
          if ('error' in result) g.errors.push(`trial ${trial}: ${result.error}`);
          else g.trials.push(result);
        }
        const metrics = trialMetrics(trace);
        store.trial(trace, metrics);
        hooks.onTrialDone?.(trace, metrics);
        if (trace.error) info.errors.push(`${s.name} / ${variant.id} / trial ${trial}: ${trace.error}`);
        const outside = unmeasuredWarning(trace, metrics);
        if (outside) (info.warnings ??= []).push(`${s.name} / ${variant.id} / trial ${trial}: ${outside}`);
        const entry = traces.get(variant.id) ?? { traces: [], metrics: [] };
        entry.traces.push(trace);
        entry.metrics.push(metrics);
        traces.set(variant.id, entry);
        if (trace.status === 'complete' && !curves.some((c) => c.scenario === s.name && c.variant === variant.id)) {
          const release = trace.events.find((e) => e.type === 'release');
          curves.push({
            scenario: s.name, variant: variant.id,
            points: maxPerBucket(trace.rss!, CURVE_POINTS),
            releaseAt: release ? release.tMs : null,
          });
        }
        // On disk already: the next trial starts from nothing.
        trace.samples = [];
        trace.events = trace.events.filter((e) => e.type !== 'load');
        delete trace.rss;
      }
    }
    for (const [variantId, { traces: t, metrics }] of traces) {
      let row = withVerdict(summarize(t, metrics));
      if (profiling) row = withProfileEvidence(withGrowthProfile(row, growths.get(variantId), store.dir, s.name));
      if (plan.forecast) row = withForecast(row, plan.forecast);
      summary.push(row);
    }
    writeSummary();
  }

  info.status = signal.aborted ? 'interrupted' : info.errors.length ? 'failed' : 'complete';
  info.endedAt = new Date().toISOString();
  writeSummary();
  await store.close();
  store.writeJson('run.json', info);
  return { store, info, summary, curves, samplerIntervals, samplerCpuMs };
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
