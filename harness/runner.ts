// Runs scenario x variant x trial: starts upstream, relay and load generator for each
// trial, samples, acts at phase starts, stops everything, and hands back the trace.
// Variants run one after another, never in parallel: they would disturb each other.
import { AdminClient } from './native/client.js';
import { binaryPath } from './paths.js';
import { type NativeProcess, describeExit, spawnNative, stopAll } from './procs.js';
import { Sampler, readCpuMs, readVmHwm } from './sampler.js';
import type { Scenario } from './scenario.js';
import { relayArgs, scheduledMs, toSchedule, upstreamArgs } from './schedule.js';
import type { PhaseLoad, ReleaseCall, Trace, TraceEvent, TrialStatus } from './types.js';
import { type Variant, relayBinary } from './variants.js';

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
  onProgress?: (p: Progress) => void;
  /** Called with the relay's ready line (allocator name and version). */
  onRelayReady?: (ready: Record<string, unknown>) => void;
  /** How to start the relay when not plainly (lab detect runs it under leak checkers). */
  relayLaunch?: RelayLaunch;
  /** Poll the relay's counters every 100 ms (default true; see Sampler). */
  statsPolling?: boolean;
}

/** The relay started as `wrapper.command ...wrapper.args <binary> <relay args> ...extraArgs`
 * (or without a wrapper), with `env` added to the variant's. A tool slows the start and
 * reports at exit, so the ready wait and the grace before SIGKILL are longer, and the relay
 * is stopped (and its report awaited) before the upstream goes. */
export interface RelayLaunch {
  wrapper?: { command: string; args: string[] };
  binary?: string;
  env?: Record<string, string>;
  extraArgs?: string[];
  readyTimeoutMs?: number;
  stopGraceMs?: number;
  onSpawn?: (relay: NativeProcess) => void;
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
  const { scenario, variant } = o;
  const trace: Trace = {
    scenario: scenario.name, variant: variant.id, allocator: variant.allocator, trial: o.trial,
    status: 'complete', samples: [], events: [], phases: [], vmHwmBytes: null,
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
  let admin: AdminClient | undefined;
  let relay: NativeProcess | undefined;
  const procs: NativeProcess[] = [];
  const event = (e: TraceEvent) => {
    trace.events.push(e);
    o.onEvent(e);
  };
  const fail = (status: TrialStatus, message: string) => {
    if (trace.status === 'complete') {
      trace.status = status;
      trace.error = message;
    }
  };

  try {
    const upstream = spawnNative('upstream', binaryPath('upstream'), upstreamArgs(scenario, o.seed));
    procs.push(upstream);
    const upReady = await upstream.waitReady();
    const launch = o.relayLaunch ?? {};
    const rArgs = [launch.binary ?? relayBinary(variant), ...relayArgs(scenario, Number(upReady.port)), ...(launch.extraArgs ?? [])];
    relay = spawnNative(`relay-${variant.allocator}`, launch.wrapper?.command ?? rArgs.shift()!,
      [...(launch.wrapper?.args ?? []), ...rArgs], { ...variant.env, ...launch.env });
    procs.push(relay);
    launch.onSpawn?.(relay);
    const relayReady = await relay.waitReady(launch.readyTimeoutMs);
    o.onRelayReady?.(relayReady);
    admin = await AdminClient.open(Number(relayReady.admin_port));
    const relayPid = relay.pid;
    sampler = new Sampler({
      pid: relayPid, admin, t0, monoT0Us, phaseAt, statsPolling: o.statsPolling,
      onSample: (s) => {
        trace.samples.push(s);
        o.onSample(s);
      },
    });
    await sampler.start();

    const loadgen = spawnNative('loadgen', binaryPath('loadgen'), ['--port', String(relayReady.port), '--schedule', '-']);
    procs.push(loadgen);
    const adminRef = admin;
    const actions: Promise<void>[] = [];
    loadgen.onJson((line) => {
      if (line.type === 'phase') {
        phase = String(line.name);
        const tMs = elapsed();
        phaseStarts.push({ tMs, name: phase });
        event({ type: 'phase', tMs, name: phase, index: Number(line.index) });
        const p = scenario.phases.find((x) => x.name === phase);
        for (const action of p?.actions ?? []) {
          if (action === 'release') {
            // A failed release fails the trial: its releasedRss would measure nothing.
            actions.push(release(adminRef, elapsed, event).then((e) => {
              if (!e.ok) fail('failed', `release failed: ${e.error ?? 'no reason given'}`);
            }));
          }
        }
      } else if (line.type === 'tick') {
        event({
          type: 'load', tMs: elapsed(), phase: String(line.phase), sent: Number(line.sent), completed: Number(line.completed),
          errors: Number(line.errors), inFlight: Number(line.in_flight), intervalCompleted: Number(line.interval_completed),
          p50Us: numOrNull(line.p50_us), p99Us: numOrNull(line.p99_us),
        });
        o.onProgress?.({
          scenario: scenario.name, variant: variant.id, trial: o.trial, trials: o.trials, phase,
          elapsedMs: elapsed(), totalMs, rssBytes: sampler?.lastRss ?? 0,
        });
      } else if (line.type === 'totals') {
        trace.phases = parsePhases(line.phases);
      }
    });
    loadgen.writeStdin(JSON.stringify(toSchedule(scenario, o.seed)));

    // The trial ends when the load generator does; a relay or upstream exit, or an
    // interruption, ends it early.
    // The listener goes with the trial: the signal lives for the whole run.
    let onAbort = () => {};
    const aborted = new Promise<'aborted'>((resolve) => {
      onAbort = () => resolve('aborted');
      if (o.signal.aborted) resolve('aborted');
      o.signal.addEventListener('abort', onAbort, { once: true });
    });
    const outcome = await Promise.race([
      loadgen.exited.then((e) => ({ who: loadgen, e })),
      relay.exited.then((e) => ({ who: relay!, e })),
      upstream.exited.then((e) => ({ who: upstream, e })),
      aborted,
    ]);
    o.signal.removeEventListener('abort', onAbort);
    if (outcome === 'aborted') {
      fail('interrupted', 'interrupted');
    } else if (outcome.who !== loadgen || outcome.e.code !== 0) {
      fail('failed', `${outcome.who.name} ${describeExit(outcome.e)}${outcome.who.describeStderr()}`);
    }
    await Promise.all(actions);
    if (trace.status === 'complete') await sampler.sampleStats();
    phase = 'end';
    const endMs = elapsed();
    phaseStarts.push({ tMs: endMs, name: 'end' });
    event({ type: 'end', tMs: endMs });
    await sampler.stop();
    trace.vmHwmBytes = readVmHwm(relayPid);
    trace.relayCpuMs = readCpuMs(relayPid);
  } catch (err) {
    fail(o.signal.aborted ? 'interrupted' : 'failed', (err as Error).message);
  } finally {
    await sampler?.stop();
    admin?.close();
    if (relay && o.relayLaunch) await relay.stop(o.relayLaunch.stopGraceMs);
    await Promise.all(procs.map((p) => p.stop()));
  }
  return { trace, samplerIntervals: sampler?.intervals ?? [], samplerCpuMs: sampler?.nativeCpuMs ?? 0 };
}

/** Asks the relay to release; records (and returns) the release event. */
async function release(admin: AdminClient, elapsed: () => number, event: (e: TraceEvent) => void): Promise<Extract<TraceEvent, { type: 'release' }>> {
  const tMs = elapsed();
  let e: Extract<TraceEvent, { type: 'release' }>;
  try {
    const r = await admin.command<Record<string, unknown>>('release', 60_000);
    e = {
      type: 'release', tMs, ok: r.ok === true, releaseMs: numOrNull(r.release_ms),
      rssBeforeBytes: numOrNull(r.rss_before_bytes), rssAfterBytes: numOrNull(r.rss_after_bytes),
      call: typeof r.call === 'string' ? r.call : null, ...(r.ok === true ? {} : { error: String(r.error) }),
      ...(Array.isArray(r.calls) ? { calls: r.calls.map(parseReleaseCall) } : {}),
    };
  } catch (err) {
    e = { type: 'release', tMs, ok: false, releaseMs: null, rssBeforeBytes: null, rssAfterBytes: null, call: null, error: (err as Error).message };
  }
  event(e);
  return e;
}

function parseReleaseCall(raw: Record<string, unknown>): ReleaseCall {
  return {
    thread: String(raw.thread), ...(typeof raw.worker === 'number' ? { worker: raw.worker } : {}),
    tid: Number(raw.tid), mainThread: raw.main_thread === true, call: String(raw.call),
    rc: numOrNull(raw.rc), ok: raw.ok === true, ms: Number(raw.ms),
    ...(typeof raw.error === 'string' ? { error: raw.error } : {}),
  };
}

function numOrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
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
  }));
}

export { stopAll };
