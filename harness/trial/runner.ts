// One trial: scenario x variant x trial number, in named steps. Start the subject (whatever
// kind the scenario names: the runner holds a SubjectKind and never asks which), start the
// observer, drive the phases (the load generator's clock, or the harness's own when the
// phases have only load commands), start load commands, hooks and actions at phase starts,
// finish (last samples, end hooks), and stop everything. Variants run one after another,
// never in parallel: they would disturb each other.
import { RssSeries } from '../core/rss-series.js';
import { readCpuMs, readVmHwm } from '../core/proc.js';
import { readRssSplit } from '../core/smaps.js';
import { arenasOfReply } from '../analysis/ledger.js';
import type { LedgerPoint, Trace, TraceEvent, TrialStatus } from '../core/types.js';
import type { Variant } from '../allocators/variants.js';
import type { Scenario } from '../scenario/scenario.js';
import { scheduledMs } from '../scenario/schedule.js';
import type { HookContext, Launch, ProcessRecord, Subject, SubjectFacts, SubjectKind, SubjectReady, TrialHook } from '../subjects/subject.js';
import { CommandLoads } from './command-loads.js';
import { loadFailure, runLoadgen } from './loadgen.js';
import { runPhaseClock } from './phase-clock.js';
import { type Observer, Sampler, type SamplerOptions } from './sampler.js';

export interface Progress {
  scenario: string;
  variant: string;
  trial: number;
  trials: number;
  phase: string;
  elapsedMs: number;
  totalMs: number;
  /** The total is an upper bound: some phase lasts until its load command exits. */
  totalIsLimit?: boolean;
  rssBytes: number;
}

export interface TrialOptions {
  scenario: Scenario;
  /** The kind of subject the scenario names, and what its check found. */
  subject: SubjectKind;
  facts: SubjectFacts;
  variant: Variant;
  trial: number;
  trials: number;
  seed: number;
  signal: AbortSignal;
  onSample: (s: Trace['samples'][number]) => void;
  onEvent: (e: TraceEvent) => void;
  /** Keep the samples and load ticks in the returned trace (default). executeRun says no:
   * they go to the run folder through onSample/onEvent and it reads them back at the
   * trial's end (results/trial-back.ts), so a long trial does not grow the harness. */
  retain?: boolean;
  onProgress?: (p: Progress) => void;
  /** Called once the subject is ready, with what it reported of itself. */
  onReady?: (r: SubjectReady) => void;
  /** A helper, target, load or release process, each as it ends. */
  onProcess?: (r: ProcessRecord) => void;
  /** How to start the subject when not plainly (lab detect runs it under leak checkers;
   * a growth profile adds its heap profiler's environment). */
  launch?: Launch;
  /** What runs at every phase start and at the end: growth profiles (trial/profile-dump.ts);
   * the subject kind adds its own (a target's child processes). */
  hooks?: TrialHook[];
  /** Poll the subject's counters every 100 ms (default true; see Sampler). */
  statsPolling?: boolean;
  /** The trial's own folder ({run_dir} of a target, where its probe writes its port). */
  workDir?: string;
  /** The observer (default: the native sampler); unit tests pass a fake. */
  observer?: (o: SamplerOptions) => Observer;
}

export interface TrialResult {
  trace: Trace;
  samplerIntervals: number[];
  /** CPU time of the native statm sampler (the harness's own cost, with its process). */
  samplerCpuMs: number;
}

/** Runs one trial. Never throws for a failure of the programs under test: the trace then
 * has status 'failed' and an error that names the program, its exit and its last stderr. */
export async function runTrial(o: TrialOptions): Promise<TrialResult> {
  const t = new Trial(o);
  try {
    await t.startSubject();
    await t.startObserver();
    await t.finish(await t.drivePhases());
  } catch (err) {
    t.fail(o.signal.aborted ? 'interrupted' : 'failed', (err as Error).message);
  } finally {
    await t.stopAll();
  }
  return t.result();
}

/** The state of one trial, and its steps. */
class Trial {
  readonly trace: Trace;
  private readonly t0 = performance.now();
  /** CLOCK_MONOTONIC in µs at t0: the native sampler's and load generator's clock. */
  private readonly monoT0Us = Number(process.hrtime.bigint() / 1000n);
  private readonly totalMs: number;
  private readonly hooks: TrialHook[];
  private readonly loads: CommandLoads;
  private readonly actions: Promise<void>[] = [];
  private readonly phaseStarts: Array<{ tMs: number; name: string }> = [];
  private phase = 'setup';
  private subject: Subject | undefined;
  private observer: Observer | undefined;
  private loadgen: { stop(): Promise<unknown> } | undefined;
  /** The trial has ended: the phase clock starts nothing more. */
  private over = false;
  private failNow: (message: string) => void = () => {};
  private readonly failed = new Promise<string>((resolve) => { this.failNow = resolve; });
  private onAbort = () => {};
  private readonly aborted: Promise<'aborted'>;

  constructor(private readonly o: TrialOptions) {
    this.trace = {
      scenario: o.scenario.name, variant: o.variant.id, allocator: o.variant.allocator ?? 'unknown', trial: o.trial, seed: o.seed,
      status: 'complete', samples: [], rss: new RssSeries(), events: [], phases: [], vmHwmBytes: null,
      schedule: o.scenario.phases.map((p) => ({ name: p.name, durationMs: p.duration, actions: [...p.actions], ...(p.repetition ? { repetition: p.repetition } : {}) })),
    };
    this.totalMs = scheduledMs(o.scenario);
    this.hooks = [...(o.hooks ?? []), ...o.subject.trialHooks()];
    this.loads = new CommandLoads({
      scenario: o.scenario, placeholders: () => this.subject?.placeholders ?? {}, onProcess: o.onProcess, onFailure: (m) => this.failNow(m),
    });
    // The listener goes with the trial: the signal lives for the whole run.
    this.aborted = new Promise<'aborted'>((resolve) => {
      this.onAbort = () => resolve('aborted');
      if (o.signal.aborted) resolve('aborted');
      o.signal.addEventListener('abort', this.onAbort, { once: true });
    });
  }

  elapsed(): number {
    return Math.round((performance.now() - this.t0) * 10) / 10;
  }

  fail(status: TrialStatus, message: string): void {
    if (this.trace.status !== 'complete') return;
    this.trace.status = status;
    this.trace.error = message;
  }

  /** Where the subject's RSS sits now (its smaps), with the allocator's counters from its
   * allocation-free `stats-counters` (the 100 ms poll's reply; the full `stats` would
   * allocate inside the subject), as a ledger event; nothing when the process is gone. The
   * split is read at once; the counters follow over the control channel (a few ms). */
  private async ledger(point: LedgerPoint, phase: string): Promise<void> {
    if (!this.subject) return;
    const tMs = this.elapsed();
    const started = performance.now();
    const split = readRssSplit(this.subject.pid);
    const readMs = performance.now() - started;
    if (!split) return;
    // --no-stats-poll: the subject is not asked for anything, its ledger has no counters.
    const control = this.o.statsPolling === false ? null : this.subject.control;
    // glibc's free memory by arena (malloc_info); other allocators' pools are in the counters.
    const arenas = control ? arenasOfReply(await control.command<unknown>('ledger', 5_000).catch(() => null)) : null;
    // A reply with arenas holds the in-use bytes too (each arena's system memory less its free
    // bytes, plus mmapped chunks: mallinfo2's sums): the counters would walk every free chunk
    // a second time under the arena locks (290 ms on a fragmented 1 GiB heap, bench ledger).
    const stats = control && !arenas ? await control.command<{ alloc?: Record<string, number | null> }>('stats-counters', 5_000).catch(() => null) : null;
    this.event({ type: 'ledger', tMs, point, phase, split, readMs, alloc: stats?.alloc ?? null, ...(arenas ? { arenas } : {}) });
  }

  private event(e: TraceEvent): void {
    if (this.o.retain ?? true) this.trace.events.push(e);
    else if (e.type !== 'load') this.trace.events.push(e);
    this.o.onEvent(e);
  }

  private phaseAt(tMs: number): string {
    for (let i = this.phaseStarts.length - 1; i >= 0; i--) if (this.phaseStarts[i]!.tMs <= tMs) return this.phaseStarts[i]!.name;
    return 'setup';
  }

  private progress(): void {
    const o = this.o;
    o.onProgress?.({
      scenario: o.scenario.name, variant: o.variant.id, trial: o.trial, trials: o.trials, phase: this.phase,
      elapsedMs: this.elapsed(), totalMs: this.totalMs, rssBytes: this.observer?.lastRss ?? 0,
      ...(o.scenario.phases.some((p) => p.load?.mode === 'command' && p.load.until === 'exit') ? { totalIsLimit: true } : {}),
    });
  }

  private hookContext(): HookContext {
    return { subject: this.subject!, trace: this.trace, elapsed: () => this.elapsed(), event: (e) => this.event(e) };
  }

  /** Step 1: the subject, started and ready; its exit ends the trial from now on. */
  async startSubject(): Promise<void> {
    const o = this.o;
    this.subject = await o.subject.start({
      variant: o.variant, seed: o.seed, workDir: o.workDir ?? '.', signal: o.signal, launch: o.launch, onProcess: o.onProcess,
    }, o.facts);
    this.trace.allocator = this.subject.ready.allocator;
    o.onReady?.(this.subject.ready);
    void this.subject.exited.then((x) => this.failNow(x.message));
  }

  /** Step 2: the observer, reading RSS and the subject's counters. */
  async startObserver(): Promise<void> {
    const retain = this.o.retain ?? true;
    const options: SamplerOptions = {
      pid: this.subject!.pid, admin: this.subject!.control, t0: this.t0, monoT0Us: this.monoT0Us,
      phaseAt: (t) => this.phaseAt(t), statsPolling: this.o.statsPolling,
      onSample: (s) => {
        // statm rows (100 a second) are kept as columns; the rows go to disk either way.
        if (retain && s.source === 'statm') this.trace.rss!.push(s.tMs, s.rssBytes);
        else if (retain) this.trace.samples.push(s);
        this.o.onSample(s);
      },
    };
    this.observer = this.o.observer ? this.o.observer(options) : new Sampler(options);
    await this.observer.start();
  }

  /** Step 3: the phases, on the load generator's clock or the harness's own. Resolves with
   * 'aborted', a failure, or null when the phases ended. */
  async drivePhases(): Promise<string | null | 'aborted'> {
    const scenario = this.o.scenario;
    const onPhase = (name: string, index: number) => this.onPhase(name, index);
    let ended: Promise<string | null>;
    if (scenario.phases.some((p) => p.load && p.load.mode !== 'command')) {
      if (this.subject!.loadPort === null) throw new Error('the built-in load generator needs target.port to be a port the target listens on');
      const lg = runLoadgen(scenario, this.o.seed, this.subject!.loadPort, this.monoT0Us, () => this.elapsed(), {
        onPhase,
        onTick: (e) => { this.event(e); this.progress(); },
        onTotals: (phases) => { this.trace.phases = phases; },
      });
      this.loadgen = lg.proc;
      ended = lg.ended;
    } else {
      ended = runPhaseClock(scenario, onPhase, this.loads, () => this.progress(), () => this.o.signal.aborted || this.over);
    }
    // The trial ends when the phases do; a subject exit, a failed load command, or an
    // interruption ends it early.
    const outcome = await Promise.race([ended, this.failed, this.aborted]);
    this.over = true;
    return outcome;
  }

  /** At each phase start: hooks (a dump of the phase that ended), load commands, then the
   * phase's actions once the hooks are done. */
  private onPhase(name: string, index: number): void {
    const ended = index > 0 ? this.phase : null;
    // The phase that ends gets its last readings now: a short phase (a load command that
    // exits at once) may have had none since it started, and its end is where per-phase and
    // per-repetition levels are read (the counters poll runs every 100 ms otherwise).
    if (ended !== null) {
      this.progress();
      if (this.o.statsPolling !== false) void this.observer?.sampleStats();
      this.actions.push(this.ledger('phase-end', ended));
    }
    this.phase = name;
    const tMs = this.elapsed();
    this.phaseStarts.push({ tMs, name });
    this.event({ type: 'phase', tMs, name, index });
    this.progress();  // at once: load ticks arrive in batches, up to 500 ms late
    void this.loads.stop(false);
    this.loads.start(name);
    const releases = (this.o.scenario.phases.find((x) => x.name === name)?.actions ?? []).filter((a) => a === 'release');
    const ctx = this.hookContext();
    const hooked = this.hooks.reduce<Promise<void>>(
      (chain, h) => chain.then(() => h.phaseStart?.(ctx, ended, { name, index, releases: releases.length > 0 })), Promise.resolve());
    this.actions.push(hooked);
    // A failed release fails the trial: its releasedRss would measure nothing.
    for (const _ of releases) {
      this.actions.push(hooked.then(() => this.ledger('before-release', name))
        .then(() => this.subject!.release(() => this.elapsed(), (e) => this.event(e)))
        .then(async (e) => {
          await this.ledger('after-release', name);
          if (!e.ok) this.fail('failed', `release failed: ${e.error ?? 'no reason given'}`);
        }));
    }
  }

  /** Step 4: after the phases, the outcome recorded, loads and actions done, the end hooks
   * and a last counters sample, the end event, the observer stopped, VmHWM and CPU read. */
  async finish(outcome: string | null | 'aborted'): Promise<void> {
    if (outcome === 'aborted') this.fail('interrupted', 'interrupted');
    else if (outcome !== null) this.fail('failed', outcome);
    const loadProblem = loadFailure(this.trace.phases);
    if (loadProblem) this.fail('failed', loadProblem);
    await this.loads.stop(true);
    await Promise.all(this.actions);
    const ctx = this.hookContext();
    for (const h of this.hooks) await h.end?.(ctx, this.phase);
    if (this.trace.status === 'complete') {
      await this.observer!.sampleStats();
      await this.ledger('phase-end', this.phase);
    }
    this.phase = 'end';
    const endMs = this.elapsed();
    this.phaseStarts.push({ tMs: endMs, name: 'end' });
    this.event({ type: 'end', tMs: endMs });
    const lost = await this.observer!.stop();
    if (lost) this.fail('failed', lost);
    this.progress();
    this.trace.vmHwmBytes = readVmHwm(this.subject!.pid);
    this.trace.relayCpuMs = readCpuMs(this.subject!.pid);
  }

  /** Whatever happened: every process of the trial stopped. */
  async stopAll(): Promise<void> {
    this.o.signal.removeEventListener('abort', this.onAbort);
    await this.observer?.stop();
    await this.loads.stop(true);
    await this.loadgen?.stop();
    await this.subject?.stop();
  }

  result(): TrialResult {
    return { trace: this.trace, samplerIntervals: this.observer?.intervals ?? [], samplerCpuMs: this.observer?.nativeCpuMs ?? 0 };
  }
}
