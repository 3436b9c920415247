// The built-in subject: the upstream and relay-<allocator> of a variant, the relay's admin
// port as the control channel, its `release` command as the release.
import { AdminClient } from './protocol/client.js';
import { binaryPath } from '../core/paths.js';
import type { Scenario } from '../scenario/scenario.js';
import { relayArgs, upstreamArgs } from '../scenario/schedule.js';
import { ALLOCATORS, type Allocator } from '../core/types.js';
import { VARIANTS, findVariant, relayBinary, variantStatus } from '../allocators/variants.js';
import { type NativeProcess, describeExit, spawnNative } from '../core/procs.js';
import { adminRelease, numOrNull } from './control.js';
import type { Subject, SubjectExit, SubjectKind, SubjectStart } from './subject.js';

/** The built-in relay as the subject of `scenario`: every variant but as-built, each a
 * relay-<allocator> binary that must be built. */
export function relaySubject(scenario: Scenario): SubjectKind {
  return {
    description: 'the built-in relay',
    command: null,
    needsRelayBinaries: true,
    defaultVariantIds: () => scenario.variants ?? VARIANTS.filter((v) => v.isDefault).map((v) => v.id),
    plainVariant: () => findVariant('glibc')!,
    variantApplies: (id) => VARIANTS.some((v) => v.id === id),
    variantStatuses: (variants) => variants.map(variantStatus),
    check: () => ({ program: null, staticBinary: false }),
    programFor: (variant, _facts) => relayBinary(variant),
    trialHooks: () => [],
    start: (o) => startRelay(scenario, o),
  };
}

/** The relay started as `wrapper.command ...wrapper.args <binary> <relay args> ...extraArgs`
 * (or without a wrapper), with the launch's env added to the variant's. A tool slows the
 * start and reports at exit, so the ready wait and the grace before SIGKILL are longer, and
 * the relay is stopped (and its report awaited) before the upstream goes. */
export async function startRelay(scenario: Scenario, o: SubjectStart): Promise<Subject> {
  const { variant, seed } = o;
  const given = o.launch;
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
    const preload: Record<string, string> = launch.preload?.length ? { LD_PRELOAD: launch.preload.join(':') } : {};
    relay = spawnNative(`relay-${variant.allocator ?? 'glibc'}`, launch.wrapper?.command ?? rArgs.shift()!,
      [...(launch.wrapper?.args ?? []), ...rArgs], { ...variant.env, ...launch.env, ...preload });
    procs.push(relay);
    launch.onSpawn?.(relay);
    const ready = await relay.waitReady(launch.readyTimeoutMs);
    admin = await AdminClient.open(Number(ready.admin_port));
    const control = admin;
    const exitOf = (p: NativeProcess) => p.exited.then((e): SubjectExit => ({ exit: e, message: `${p.name} ${describeExit(e)}${p.describeStderr()}` }));
    const reported = String(ready.allocator ?? variant.allocator);
    return {
      pid: relay.pid,
      loadPort: Number(ready.port),
      control,
      ready: { allocator: (ALLOCATORS as readonly string[]).includes(reported) ? reported as Allocator : variant.allocator ?? 'unknown', version: ready.version === undefined ? null : String(ready.version) },
      exited: Promise.race([exitOf(relay), exitOf(upstream)]),
      placeholders: { port: String(ready.port), pid: String(relay.pid) },
      release: (elapsed, event) => adminRelease(control, elapsed, event),
      // Leak mode's never-erased requests, as the relay counts them (native/PROTOCOL.md).
      leakedBytes: async () => numOrNull((await control.command<Record<string, unknown>>('stats-counters', 5_000)).leaked_request_bytes),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

