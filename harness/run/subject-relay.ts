// The built-in subject: the upstream and relay-<allocator> of a variant, the relay's admin
// port as the control channel, its `release` command as the release.
import { AdminClient } from '../subject/client.js';
import { binaryPath } from '../core/paths.js';
import type { Scenario } from '../scenario/scenario.js';
import { relayArgs, upstreamArgs } from '../scenario/schedule.js';
import { ALLOCATORS, type Allocator, type ReleaseCall, type ReleaseEvent, type TraceEvent } from '../core/types.js';
import { type Variant, relayBinary } from '../subject/variants.js';
import { type NativeProcess, describeExit, spawnNative } from './procs.js';
import type { Subject, SubjectExit } from './subject.js';

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

export async function startRelay(scenario: Scenario, variant: Variant, seed: number, given: RelayLaunch | undefined,
  onReady?: (ready: Record<string, unknown>) => void): Promise<Subject> {
  const launch = given ?? {};
  const procs: NativeProcess[] = [];
  let relay: NativeProcess | undefined;
  let admin: AdminClient | undefined;
  const stop = async () => {
    admin?.close();
    if (relay && given) await relay.stop(launch.stopGraceMs);
    await Promise.all(procs.map((p) => p.stop()));
  };
  try {
    const upstream = spawnNative('upstream', binaryPath('upstream'), upstreamArgs(scenario, seed));
    procs.push(upstream);
    const upReady = await upstream.waitReady();
    const rArgs = [launch.binary ?? relayBinary(variant), ...relayArgs(scenario, Number(upReady.port)), ...(launch.extraArgs ?? [])];
    relay = spawnNative(`relay-${variant.allocator ?? 'glibc'}`, launch.wrapper?.command ?? rArgs.shift()!,
      [...(launch.wrapper?.args ?? []), ...rArgs], { ...variant.env, ...launch.env });
    procs.push(relay);
    launch.onSpawn?.(relay);
    const ready = await relay.waitReady(launch.readyTimeoutMs);
    onReady?.(ready);
    admin = await AdminClient.open(Number(ready.admin_port));
    const control = admin;
    const exitOf = (p: NativeProcess) => p.exited.then((e): SubjectExit => ({ exit: e, message: `${p.name} ${describeExit(e)}${p.describeStderr()}` }));
    const reported = String(ready.allocator ?? variant.allocator);
    return {
      pid: relay.pid,
      loadPort: Number(ready.port),
      control,
      allocator: { name: (ALLOCATORS as readonly string[]).includes(reported) ? reported as Allocator : variant.allocator ?? 'unknown', version: ready.version === undefined ? null : String(ready.version) },
      exited: Promise.race([exitOf(relay), exitOf(upstream)]),
      placeholders: { port: String(ready.port), pid: String(relay.pid) },
      release: (elapsed, event) => adminRelease(control, elapsed, event),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The admin channel's `release` (the relay's, or the probe's in a target), as an event. */
export async function adminRelease(admin: AdminClient, elapsed: () => number, event: (e: TraceEvent) => void, timeoutMs = 60_000): Promise<ReleaseEvent> {
  const tMs = elapsed();
  let e: ReleaseEvent;
  try {
    const r = await admin.command<Record<string, unknown>>('release', timeoutMs);
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

/** One entry of a release reply's `calls` (native/PROTOCOL.md). */
function parseReleaseCall(raw: Record<string, unknown>): ReleaseCall {
  return {
    thread: String(raw.thread), ...(typeof raw.worker === 'number' ? { worker: raw.worker } : {}),
    tid: Number(raw.tid), mainThread: raw.main_thread === true, call: String(raw.call),
    rc: numOrNull(raw.rc), ok: raw.ok === true, ms: Number(raw.ms),
    ...(typeof raw.error === 'string' ? { error: raw.error } : {}),
  };
}

export function numOrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}
