// Runs scenario x variant x trial: starts the subject (the built-in relay with its
// upstream, or a user's target), drives the phases (the load generator's clock, or the
// harness's own when a target has only load commands), starts load commands and actions
// at phase starts, samples, stops everything, and hands back the trace.
// Variants run one after another, never in parallel: they would disturb each other.
import { RssSeries } from '../core/rss-series.js';
import { mkdirSync } from 'node:fs';
import { binaryPath } from '../core/paths.js';
import { type NativeProcess, describeExit, spawnNative, stopAll } from './procs.js';
import { Sampler, readCpuMs, readStatmRss, readVmHwm } from './sampler.js';
import type { Scenario } from '../scenario/scenario.js';
import { fillPlaceholders } from '../scenario/target.js';
import { scheduledMs, toSchedule } from '../scenario/schedule.js';
import type { PhaseLoad, Trace, TraceEvent, TrialStatus } from '../core/types.js';
import type { Variant } from '../subject/variants.js';
import type { Subject } from './subject.js';
import { type RelayLaunch, numOrNull, startRelay } from './subject-relay.js';
import { type ProcessRecord, startTarget } from './subject-target.js';
import { descendants, launch } from './target-procs.js';
import { type DumpEvent, dumpProfile } from './profile.js';
import { join } from 'node:path';

export type { RelayLaunch } from './subject-relay.js';
export type { ProcessRecord } from './subject-target.js';

export interface Progress {
  scenario: string;
  variant: string;
  trial: number;
  trials: number;
  phase: string;
  elapsedMs: number;
  totalMs: number;
  rssBytes: number;
}

export interface TrialOptions {
  scenario: Scenario;
  variant: Variant;
  trial: number;
  trials: number;
  seed: number;
  signal: AbortSignal;
  onSample: (s: Trace['samples'][number]) => void;
  onEvent: (e: TraceEvent) => void;
  /** Keep the samples and load ticks in the returned trace (default). executeRun says no:
   * they go to the run folder through onSample/onEvent and it reads them back at the
   * trial's end (harness/run/trial-back.ts), so a long trial does not grow the harness. */
  retain?: boolean;
  onProgress?: (p: Progress) => void;
  /** Called with the relay's ready line (allocator name and version). */
  onRelayReady?: (ready: Record<string, unknown>) => void;
  /** How to start the relay when not plainly (lab detect runs it under leak checkers). */
  relayLaunch?: RelayLaunch;
  /** Growth profile: the subject runs with `env` (its heap profiler on) and a heap dump goes
   * to `dir` at the end of every phase, the one before a release action ahead of it. */
  profile?: { dir: string; env: Record<string, string> };
  /** Poll the relay's counters every 100 ms (default true; see Sampler). */
  statsPolling?: boolean;
  /** The trial's own folder ({run_dir} of a target, where its probe writes its port). */
  workDir?: string;
  /** A target's helper, target, load and release processes, each as it ends. */
  onProcess?: (r: ProcessRecord) => void;
  /** Called once a target is ready, with what it reported (allocator, probe, mapped libraries). */
  onSubjectReady?: (info: Record<string, unknown>) => void;
  /** The target's program is statically linked (no probe can be preloaded). */
  staticTarget?: boolean;
}

export interface TrialResult {
  trace: Trace;
  samplerIntervals: number[];
  /** CPU time of the native statm sampler (the harness's own cost, with its process). */
  samplerCpuMs: number;
}

interface RunningLoad {
  proc: NativeProcess;
  phase: string;
  until: 'phase-end' | 'exit';
  stopping: boolean;
}

/** Runs one trial. Never throws for a failure of the programs under test: the trace then
 * has status 'failed' and an error that names the program, its exit and its last stderr. */
export async function runTrial(o: TrialOptions): Promise<TrialResult> {
  const { scenario, variant } = o;
  const trace: Trace = {
    scenario: scenario.name, variant: variant.id, allocator: variant.allocator ?? 'unknown', trial: o.trial, seed: o.seed,
    status: 'complete', samples: [], rss: new RssSeries(), events: [], phases: [], vmHwmBytes: null,
    schedule: scenario.phases.map((p) => ({ name: p.name, durationMs: p.duration, actions: [...p.actions] })),
  };
  const totalMs = scheduledMs(scenario);
  const t0 = performance.now();
  const monoT0Us = Number(process.hrtime.bigint() / 1000n);  // the native sampler's clock
  const elapsed = () => Math.round((performance.now() - t0) * 10) / 10;
  let phase = 'setup';
  const phaseStarts: Array<{ tMs: number; name: string }> = [];
  const phaseAt = (tMs: number) => {
    for (let i = phaseStarts.length - 1; i >= 0; i--) if (phaseStarts[i]!.tMs <= tMs) return phaseStarts[i]!.name;
    return 'setup';
  };
  let sampler: Sampler | undefined;
  let subject: Subject | undefined;
  const procs: NativeProcess[] = [];
  const loads: RunningLoad[] = [];
  const retain = o.retain ?? true;
  const event = (e: TraceEvent) => {
    if (retain || e.type !== 'load') trace.events.push(e);
    o.onEvent(e);
  };
  const fail = (status: TrialStatus, message: string) => {
    if (trace.status === 'complete') {
      trace.status = status;
      trace.error = message;
    }
  };
  // A failure of any program ends the trial early: the subject's exit, a failed load command.
  let failNow: (message: string) => void = () => {};
  const failed = new Promise<string>((resolve) => { failNow = resolve; });
  // The listener goes with the trial: the signal lives for the whole run.
  let onAbort = () => {};
  const aborted = new Promise<'aborted'>((resolve) => {
    onAbort = () => resolve('aborted');
    if (o.signal.aborted) resolve('aborted');
    o.signal.addEventListener('abort', onAbort, { once: true });
  });
  let over = false;  // the trial has ended: the phase clock starts nothing more
  const progress = () => o.onProgress?.({
    scenario: scenario.name, variant: variant.id, trial: o.trial, trials: o.trials, phase,
    elapsedMs: elapsed(), totalMs, rssBytes: sampler?.lastRss ?? 0,
  });

  try {
    if (scenario.target) {
      const workDir = o.workDir ?? '.';
      mkdirSync(workDir, { recursive: true });
      const t = await startTarget({
        scenario: { ...scenario, target: scenario.target }, variant: o.profile ? { ...variant, env: { ...variant.env, ...o.profile.env } } : variant,
        workDir, signal: o.signal,
        onProcess: (r) => o.onProcess?.(r), staticBinary: o.staticTarget,
      });
      subject = t;
      o.onSubjectReady?.({ allocator: t.allocator.name, version: t.allocator.version, mapped: t.mapped, probe: t.probe });
    } else {
      const relayLaunch = o.profile ? { ...o.relayLaunch, env: { ...o.relayLaunch?.env, ...o.profile.env } } : o.relayLaunch;
      subject = await startRelay(scenario, variant, o.seed, relayLaunch, o.onRelayReady);
    }
    trace.allocator = subject.allocator.name;
    const subj = subject;
    void subj.exited.then((x) => failNow(x.message));
    sampler = new Sampler({
      pid: subj.pid, admin: subj.control, t0, monoT0Us, phaseAt, statsPolling: o.statsPolling,
      onSample: (s) => {
        // statm rows (100 a second) are kept as columns; the rows go to disk either way.
        if (retain && s.source === 'statm') trace.rss!.push(s.tMs, s.rssBytes);
        else if (retain) trace.samples.push(s);
        o.onSample(s);
      },
    });
    await sampler.start();

    const actions: Promise<void>[] = [];
    const startLoad = (name: string) => {
      const p = scenario.phases.find((x) => x.name === name);
      if (p?.load?.mode !== 'command') return;
      const fill = (x: string) => fillPlaceholders(x, subj.placeholders);
      const argv = p.load.argv.map(fill);
      const env = Object.fromEntries(Object.entries(p.load.env).map(([k, v]) => [k, fill(v)]));
      const proc = launch(`load command of phase '${name}'`, argv, env, p.load.cwd ? fill(p.load.cwd) : undefined);
      const entry: RunningLoad = { proc, phase: name, until: p.load.until, stopping: false };
      loads.push(entry);
      procs.push(proc);
      const started = performance.now();
      void proc.exited.then((e) => {
        o.onProcess?.({ role: 'load', name: `${name}: ${argv[0]}`, argv, exit: e, durationMs: Math.round(performance.now() - started), stdoutTail: proc.lastStdout(), stderrTail: proc.lastStderr() });
        if (!entry.stopping && e.code !== 0) failNow(`${proc.name} (${argv.join(' ')}) ${describeExit(e)}${proc.describeStderr(10)}`);
      });
    };
    const stopLoads = async (all: boolean) => {
      const going = loads.filter((l) => !l.stopping && (all || l.until === 'phase-end'));
      for (const l of going) l.stopping = true;
      await Promise.all(going.map((l) => l.proc.stop()));
    };
    // Heap dumps, one after another (each at a phase end), named by the phase that ended.
    let dumps: Promise<void> = Promise.resolve();
    const dump = (ended: string, beforeRelease: boolean): Promise<void> => {
      const prof = o.profile;
      const control = subj.control;
      if (!prof || !control) return Promise.resolve();
      const n = String(trace.events.filter((e) => e.type === 'profile').length + 1).padStart(2, '0');
      const tMs = elapsed();
      dumps = dumps.then(async () => {
        const send = (c: string) => control.command<Record<string, unknown>>(c, 60_000);
        event(await dumpProfile(send, join(prof.dir, `${n}-${ended}.heap`), ended, tMs, beforeRelease) satisfies DumpEvent);
      });
      return dumps;
    };
    // A target's memory outside its first process (prefork workers, say) is not measured:
    // it is looked at each phase start and at the end, so the run can say so.
    const lookAtDescendants = () => {
      if (!scenario.target) return;
      const pids = descendants(subj.pid);
      const rssBytes = pids.reduce((a, p) => a + (readStatmRss(p) ?? 0), 0);
      const d = trace.descendants ?? { processes: 0, rssBytes: 0 };
      trace.descendants = { processes: Math.max(d.processes, pids.length), rssBytes: Math.max(d.rssBytes, rssBytes) };
    };
    const onPhase = (name: string, index: number) => {
      lookAtDescendants();
      const endedPhase = phase;
      phase = name;
      const tMs = elapsed();
      phaseStarts.push({ tMs, name });
      event({ type: 'phase', tMs, name, index });
      progress();  // at once: load ticks arrive in batches, up to 500 ms late
      void stopLoads(false);
      startLoad(name);
      const p = scenario.phases.find((x) => x.name === name);
      const releases = (p?.actions ?? []).filter((a) => a === 'release');
      const dumped = index > 0 ? dump(endedPhase, releases.length > 0) : Promise.resolve();
      actions.push(dumped);
      // A failed release fails the trial: its releasedRss would measure nothing.
      for (const _ of releases) {
        actions.push(dumped.then(() => subj.release(elapsed, event)).then((e) => {
          if (!e.ok) fail('failed', `release failed: ${e.error ?? 'no reason given'}`);
        }));
      }
    };

    const builtIn = scenario.phases.some((p) => p.load && p.load.mode !== 'command');
    let ended: Promise<string | null>;
    if (builtIn) {
      if (subj.loadPort === null) throw new Error('the built-in load generator needs target.port to be a port the target listens on');
      const loadgen = spawnNative('loadgen', binaryPath('loadgen'), ['--port', String(subj.loadPort), '--schedule', '-']);
      procs.push(loadgen);
      loadgen.onJson((line) => {
        if (line.type === 'phase') {
          onPhase(String(line.name), Number(line.index));
        } else if (line.type === 'tick') {
          event({
            // Ticks arrive in batches (native/src/loadgen.cc): each carries its own time.
            type: 'load', tMs: typeof line.mono_us === 'number' ? Math.round((line.mono_us - monoT0Us) / 100) / 10 : elapsed(), phase: String(line.phase), sent: Number(line.sent), completed: Number(line.completed),
            errors: Number(line.errors), inFlight: Number(line.in_flight), intervalCompleted: Number(line.interval_completed),
            p50Us: numOrNull(line.p50_us), p99Us: numOrNull(line.p99_us),
          });
          progress();
        } else if (line.type === 'totals') {
          trace.phases = parsePhases(line.phases);
        }
      });
      loadgen.writeStdin(JSON.stringify(toSchedule(scenario, o.seed)));
      ended = loadgen.exited.then((e) => (e.code === 0 ? null : `loadgen ${describeExit(e)}${loadgen.describeStderr()}`));
    } else {
      ended = runPhaseClock(scenario, onPhase, loads, progress, () => o.signal.aborted || over);
    }

    // The trial ends when the phases do; a subject exit, a failed load command, or an
    // interruption ends it early.
    const outcome = await Promise.race([ended, failed, aborted]);
    over = true;
    if (outcome === 'aborted') fail('interrupted', 'interrupted');
    else if (outcome !== null) fail('failed', outcome);
    const loadProblem = loadFailure(trace.phases);
    if (loadProblem) fail('failed', loadProblem);
    lookAtDescendants();
    await stopLoads(true);
    await Promise.all(actions);
    if (trace.status === 'complete') {
      await dump(phase, false);
      await sampler.sampleStats();
    }
    phase = 'end';
    const endMs = elapsed();
    phaseStarts.push({ tMs: endMs, name: 'end' });
    event({ type: 'end', tMs: endMs });
    const lost = await sampler.stop();
    if (lost) fail('failed', lost);
    o.onProgress?.({ scenario: scenario.name, variant: variant.id, trial: o.trial, trials: o.trials, phase, elapsedMs: endMs, totalMs, rssBytes: sampler.lastRss });
    trace.vmHwmBytes = readVmHwm(subj.pid);
    trace.relayCpuMs = readCpuMs(subj.pid);
  } catch (err) {
    fail(o.signal.aborted ? 'interrupted' : 'failed', (err as Error).message);
  } finally {
    o.signal.removeEventListener('abort', onAbort);
    await sampler?.stop();
    for (const l of loads) l.stopping = true;
    await Promise.all(procs.map((p) => p.stop()));
    await subject?.stop();
  }
  return { trace, samplerIntervals: sampler?.intervals ?? [], samplerCpuMs: sampler?.nativeCpuMs ?? 0 };
}

/** The harness's own phase clock (a target whose phases have no built-in load): each phase
 * lasts its duration, or, with a load command `until: 'exit'`, until that command exits
 * (its duration is then a time limit). Resolves null at the end, or with a failure. */
async function runPhaseClock(scenario: Scenario, onPhase: (name: string, index: number) => void,
  loads: readonly RunningLoad[], progress: () => void, over: () => boolean): Promise<string | null> {
  for (const [index, p] of scenario.phases.entries()) {
    if (over()) return null;
    onPhase(p.name, index);
    // The progress view's clock while no load generator ticks: twice a second is enough
    // for a bar that shows tenths of a second, and each wake-up of Node costs (docs/benches.md).
    const ticker = setInterval(progress, 500);
    try {
      let timer: NodeJS.Timeout | undefined;
      const sleep = new Promise<'time'>((r) => { timer = setTimeout(() => r('time'), p.duration); });
      const load = p.load?.mode === 'command' && p.load.until === 'exit' ? loads.find((l) => l.phase === p.name) : undefined;
      if (!load) {
        await sleep;
        continue;
      }
      const r = await Promise.race([sleep, load.proc.exited.then(() => 'exit' as const)]);
      clearTimeout(timer);
      if (r === 'time') return `phase '${p.name}': the load command (${load.proc.name}) did not exit within the phase's duration (${p.duration} ms), its limit with until: 'exit'`;
    } finally {
      clearInterval(ticker);
    }
  }
  return null;
}

function parsePhases(raw: unknown): PhaseLoad[] {
  if (!Array.isArray(raw)) return [];
  return raw.map((p: Record<string, unknown>) => ({
    name: String(p.name),
    durationMs: Number(p.duration_ms),
    sent: Number(p.sent),
    completed: Number(p.completed),
    errors: Number(p.errors),
    throughputRps: Number(p.throughput_rps),
    p50Us: numOrNull(p.p50_us),
    p99Us: numOrNull(p.p99_us),
    requests: numOrNull(p.requests),
  }));
}

/** Why the load itself failed a trial, or null: the load generator exits 0 whatever its
 * error count (it reports them in its totals), so request errors and a count-sized phase
 * cut short by its time limit are caught here. */
export function loadFailure(phases: readonly PhaseLoad[]): string | null {
  const problems = phases.flatMap((p) => [
    ...(p.errors > 0 ? [`${p.errors} request errors in phase '${p.name}'`] : []),
    ...(p.requests && p.sent < p.requests ? [`phase '${p.name}' reached its ${p.durationMs} ms limit after ${p.sent} of ${p.requests} requests`] : []),
  ]);
  return problems.length ? `loadgen: ${problems.join('; ')}` : null;
}

export { stopAll };
