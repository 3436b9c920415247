// A whole run: every scenario x trial x variant in turn, streamed into a RunStore, then
// summarized. The order interleaves variants within each trial, so slow drift of the
// machine spreads over all variants instead of biasing one.
import { collectEnvironment, type Environment } from './environment.js';
import { withVerdict } from './diagnosis.js';
import { summarize, trialMetrics } from './metrics.js';
import { type Progress, runTrial } from './runner.js';
import type { Scenario } from './scenario.js';
import { type Shard, cellKey, runMatrix, shardMatrix } from './shard.js';
import { RunStore, makeRunId } from './store.js';
import type { RunStatus, Sample, SummaryRow, Trace, TrialMetrics } from './types.js';
import type { Variant } from './variants.js';

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
}

export interface RunInfo {
  runId: string;
  command: string[];
  status: RunStatus;
  quick: boolean;
  scenarios: Array<{ name: string; file: string; trials: number; seed: number; scenario: Scenario }>;
  variants: Array<{ id: string; allocator: string; env: Record<string, string> }>;
  startedAt: string;
  endedAt: string | null;
  environment: Environment;
  errors: string[];
  /** The slice this run covers (--shard), or null for the whole matrix. */
  shard: Shard | null;
  /** Whether the relay's counters were polled every 100 ms (false: --no-stats-poll). */
  statsPolling?: boolean;
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
    scenarios: plan.scenarios.map(({ scenario, file }) => ({
      name: scenario.name, file, trials: plan.trials ?? scenario.trials, seed: plan.seed ?? scenario.seed, scenario,
    })),
    variants: plan.variants.map((v) => ({ id: v.id, allocator: v.allocator, env: v.env })),
    startedAt: startedAt.toISOString(),
    endedAt: null,
    environment: collectEnvironment(),
    errors: [],
    shard: plan.shard ?? null,
    statsPolling: plan.statsPolling ?? true,
  };
  const selected = new Set(shardMatrix(runMatrix(info.scenarios, plan.variants.map((v) => v.id)), plan.shard).map(cellKey));
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
    for (let trial = 1; trial <= s.trials; trial++) {
      for (const variant of plan.variants) {
        if (signal.aborted) break outer;
        if (!selected.has(cellKey({ scenario: s.name, trial, variant: variant.id }))) continue;
        const key = { scenario: s.name, variant: variant.id, trial };
        const { trace, samplerIntervals: iv, samplerCpuMs: sc } = await runTrial({
          scenario: s.scenario, variant, trial, trials: s.trials, seed: s.seed, signal, statsPolling: plan.statsPolling,
          onSample: (sample: Sample) => store.sample(key, sample),
          onEvent: (e) => store.event(key, e),
          onProgress: hooks.onProgress,
          onRelayReady: (ready) => {
            const a = info.environment.allocators[variant.allocator];
            if (a) a.reported = String(ready.version ?? '');
          },
        });
        samplerIntervals.push(...iv);
        samplerCpuMs += sc;
        const metrics = trialMetrics(trace);
        store.trial(trace, metrics);
        hooks.onTrialDone?.(trace, metrics);
        if (trace.error) info.errors.push(`${s.name} / ${variant.id} / trial ${trial}: ${trace.error}`);
        const entry = traces.get(variant.id) ?? { traces: [], metrics: [] };
        entry.traces.push(trace);
        entry.metrics.push(metrics);
        traces.set(variant.id, entry);
        if (trace.status === 'complete' && !curves.some((c) => c.scenario === s.name && c.variant === variant.id)) {
          const release = trace.events.find((e) => e.type === 'release');
          curves.push({
            scenario: s.name, variant: variant.id,
            points: trace.samples.filter((x) => x.source === 'statm').map((x) => [x.tMs, x.rssBytes]),
            releaseAt: release ? release.tMs : null,
          });
        }
        trace.samples = [];  // on disk already; keep the harness's memory flat over long runs
      }
    }
    for (const { traces: t, metrics } of traces.values()) summary.push(withVerdict(summarize(t, metrics)));
    writeSummary();
  }

  info.status = signal.aborted ? 'interrupted' : info.errors.length ? 'failed' : 'complete';
  info.endedAt = new Date().toISOString();
  writeSummary();
  await store.close();
  store.writeJson('run.json', info);
  return { store, info, summary, curves, samplerIntervals, samplerCpuMs };
}
