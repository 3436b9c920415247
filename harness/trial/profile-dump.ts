// Heap dumps during a trial (--profile): at each phase end the subject is asked for a dump
// through its control channel (`profile-dump <path>`: the relay's admin port, or a
// target's probe); the dump before a release waits until nothing is in flight.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DumpEvent, Quiet } from '../core/types.js';
import type { HookContext, TrialHook } from '../subjects/subject.js';

/** Sends one control command and resolves with its JSON reply (an AdminClient, a probe). */
export type SendCommand = (command: string) => Promise<Record<string, unknown>>;

/** How long the pre-release dump waits for the subject's in-flight requests to finish. */
export const QUIET_TIMEOUT_MS = 15_000;
const QUIET_POLL_MS = 25;


/** Waits until the subject reports nothing in flight (its `stats-counters` reply), for at
 * most `timeoutMs`: a dump taken while requests are in flight counts their buffers as
 * growth. A subject that does not report in-flight counts is not waited for. */
export async function waitQuiet(send: SendCommand, timeoutMs = QUIET_TIMEOUT_MS): Promise<Quiet> {
  const t0 = performance.now();
  for (;;) {
    const r = await send('stats-counters');
    const req = r.live_request_count;
    if (typeof req !== 'number') return { inFlight: null, waitedMs: 0, timedOut: false };
    const inFlight = req + (typeof r.live_response_count === 'number' ? r.live_response_count : 0);
    const waitedMs = Math.round(performance.now() - t0);
    if (inFlight === 0 || waitedMs >= timeoutMs) return { inFlight, waitedMs, timedOut: inFlight > 0 };
    await new Promise((resolve) => setTimeout(resolve, QUIET_POLL_MS));
  }
}

/** Asks the process for a heap dump at `path` (absolute): `profile-dump <path>`. The dump
 * before a release is taken once nothing is in flight (waitQuiet); the event records the wait. */
export async function dumpProfile(send: SendCommand, path: string, phase: string, tMs: number, beforeRelease: boolean): Promise<DumpEvent> {
  let quiet: Quiet | undefined;
  let t0 = performance.now();
  try {
    if (beforeRelease) {
      quiet = await waitQuiet(send);
      t0 = performance.now();
    }
    const r = await send(`profile-dump ${path}`);
    const ms = Math.round((performance.now() - t0) * 10) / 10;
    const q = quiet ? { quiet } : {};
    if (r.ok === true && existsSync(path)) return { type: 'profile', tMs, phase, path, ok: true, ms, beforeRelease, ...q };
    return { type: 'profile', tMs, phase, path, ok: false, ms, beforeRelease, ...q, error: r.ok === true ? `${path} was not written` : String(r.error) };
  } catch (err) {
    return { type: 'profile', tMs, phase, path, ok: false, ms: null, beforeRelease, ...(quiet ? { quiet } : {}), error: (err as Error).message };
  }
}

/** Growth profiles as a trial hook: the subject runs with its heap profiler on (the
 * profiler's environment is in the trial's launch) and is asked for a dump into `dir` at
 * the end of every phase, the one before a release ahead of the release; dumps are taken
 * one after another, numbered, named by the phase that ended. */
export function profileHook(dir: string): TrialHook {
  let dumps: Promise<void> = Promise.resolve();
  let n = 0;
  const dump = (ctx: HookContext, ended: string, beforeRelease: boolean): Promise<void> => {
    const control = ctx.subject.control;
    if (!control) return Promise.resolve();
    const file = join(dir, `${String(++n).padStart(2, '0')}-${ended}.heap`);
    const tMs = ctx.elapsed();
    dumps = dumps.then(async () => {
      const send = (c: string) => control.command<Record<string, unknown>>(c, 60_000);
      ctx.event(await dumpProfile(send, file, ended, tMs, beforeRelease));
    });
    return dumps;
  };
  return {
    phaseStart: (ctx, ended, started) => (ended === null ? undefined : dump(ctx, ended, started.releases)),
    end: (ctx, lastPhase) => (ctx.trace.status === 'complete' ? dump(ctx, lastPhase, false) : undefined),
  };
}
