// A user's target as a subject: placeholders filled with free ports, helpers started in
// order, the target started through leaklab-launch with the variant's allocator and the
// probe preloaded, readiness awaited, the probe's admin port as the control channel, and
// the scenario's release method. The label is checked: a preload variant whose allocator
// is not the one the probe finds serving malloc fails the trial.
import { mkdirSync, readFileSync } from 'node:fs';
import { BUILD_DIR } from '../../core/paths.js';
import { ALLOCATORS, type Allocator, type ReleaseEvent, type TraceEvent } from '../../core/types.js';
import { allocatorsNamedIn } from '../../allocators/registry.js';
import type { Scenario } from '../../scenario/scenario.js';
import { type Target, fillPlaceholders, isPortPlaceholder, placeholdersIn } from '../../scenario/target.js';
import { AdminClient } from '../protocol/client.js';
import { preloadEnv } from './preload.js';
import { connectProbe, waitForProbe } from './probe.js';
import { attachRelease } from './attach.js';
import { type NativeProcess, describeExit, spawnNative } from '../../core/procs.js';
import { readStatmRss } from '../../core/proc.js';
import type { ProcessRecord, Subject, SubjectExit, SubjectReady, SubjectStart } from '../subject.js';
import { adminRelease, numOrNull } from '../control.js';
import { TOKEN_VAR, freePorts, killToken, launch, newToken, waitReadiness } from './procs.js';


export interface TargetStart extends SubjectStart {
  scenario: Scenario & { target: Target };
  /** A statically linked program: nothing can be preloaded, so no probe (RSS only). */
  staticBinary?: boolean;
}

/** The target's environment: the scenario's, the variant's, then LD_PRELOAD with (in that
 * order) a tool's runtime, the probe, the variant's allocator and what the scenario
 * preloads itself. A tool's runtime comes first: the AddressSanitizer runtime must serve
 * malloc from the start (behind the probe's counting layer its init aborted with "CHECK
 * failed: asan_interceptors.cpp:466"); the probe then does not count. */
function targetEnv(o: TargetStart, fillEnv: (e: Record<string, string>) => Record<string, string>, withProbe: boolean, token: string): Record<string, string> {
  const t = o.scenario.target;
  const preload = o.staticBinary ? {} : preloadEnv(o.variant.allocator, withProbe ? o.workDir : null);
  const env: Record<string, string> = { ...fillEnv(t.env), ...o.variant.env, ...o.launch?.env, ...preload, [TOKEN_VAR]: token };
  const own = t.env.LD_PRELOAD ? fillEnv({ p: t.env.LD_PRELOAD }).p! : '';
  const libs = [...(o.launch?.preload ?? []), preload.LD_PRELOAD ?? '', own].filter(Boolean);
  if (libs.length) env.LD_PRELOAD = libs.join(':');
  return env;
}

/** Every placeholder name used by the target, its helpers, load and release commands. */
function allPlaceholderNames(s: Scenario & { target: Target }): string[] {
  const t = s.target;
  const texts = [
    ...t.command, ...Object.values(t.env), t.cwd ?? '', t.port,
    ...t.helpers.flatMap((h) => [...h.command, ...Object.values(h.env), h.cwd ?? '']),
    ...(t.release.command ?? []),
    ...(t.truth?.command ?? []),
    ...s.phases.flatMap((p) => (p.load?.mode === 'command' ? [...p.load.argv, ...Object.values(p.load.env)] : [])),
  ];
  if (t.ready.kind === 'tcp') texts.push(t.ready.port);
  for (const h of t.helpers) if (h.ready?.kind === 'tcp') texts.push(h.ready.port);
  return [...new Set(texts.flatMap((x) => placeholdersIn(x, true).names))];
}

/** Records a process's end in processes.jsonl once it exits. */
function record(proc: NativeProcess, role: ProcessRecord['role'], name: string, argv: string[], onProcess: TargetStart['onProcess']): void {
  const started = performance.now();
  void proc.exited.then((e) => onProcess?.({
    role, name, argv, exit: e, durationMs: Math.round(performance.now() - started),
    stdoutTail: proc.lastStdout(), stderrTail: proc.lastStderr(),
  }));
}

/** The probe's announcement, or an error as soon as the target exits first. */
async function waitProbe(dir: string, proc: NativeProcess, signal: AbortSignal): Promise<Record<string, unknown>> {
  const gone = proc.exited.then((e) => {
    throw new Error(`target exited (${describeExit(e)}) before its probe answered${proc.describeStderr(10)}`);
  });
  return await Promise.race([waitForProbe(dir, proc.pid, { timeoutMs: 10_000, signal, stderr: () => proc.describeStderr(10) }), gone]) as unknown as Record<string, unknown>;
}

/** The allocator libraries mapped into a process (from /proc/<pid>/maps). */
export function mappedAllocators(pid: number): Allocator[] {
  let maps = '';
  try {
    maps = readFileSync(`/proc/${pid}/maps`, 'latin1');
  } catch {
    return [];
  }
  const found = allocatorsNamedIn(maps);
  return found.length ? found : ['glibc'];
}

/** The placeholders' values of one trial: a free port for each port placeholder, the
 * trial's folder, the lab's build; {pid} once the target runs. */
async function placeholderValues(o: TargetStart): Promise<Record<string, string>> {
  const portNames = allPlaceholderNames(o.scenario).filter(isPortPlaceholder);
  const ports = await freePorts(portNames.length);
  const values: Record<string, string> = { run_dir: o.workDir, lab_build: BUILD_DIR, repetition: '0' };
  portNames.forEach((n, i) => { values[n] = String(ports[i]); });
  return values;
}

/** What serves malloc in the target: the probe's report, checked against the variant
 * (a preload that did not take fails the trial: the label would lie). */
function identify(o: TargetStart, pid: number, probe: Record<string, unknown> | null): SubjectReady {
  const mapped = mappedAllocators(pid);
  const reported = String(probe?.allocator ?? 'unknown');
  const name = (ALLOCATORS as readonly string[]).includes(reported) ? reported as Allocator : 'unknown';
  if (o.variant.allocator !== null && name !== o.variant.allocator) {
    throw new Error(`variant '${o.variant.id}' did not take: ${o.variant.allocator} was preloaded but the probe found ${reported} serving malloc (mapped allocator libraries: ${mapped.join(', ')}); run this target with --variants as-built`);
  }
  return { allocator: name, version: probe?.version === undefined ? null : String(probe.version), mapped, probe };
}

export async function startTarget(o: TargetStart): Promise<Subject> {
  const t = o.scenario.target;
  mkdirSync(o.workDir, { recursive: true });  // {run_dir}: the probe writes its announcement there
  const values = await placeholderValues(o);
  const fill = (x: string) => fillPlaceholders(x, values);
  const fillEnv = (e: Record<string, string>) => Object.fromEntries(Object.entries(e).map(([k, v]) => [k, fill(v)]));
  const token = newToken();
  const procs: NativeProcess[] = [];
  let admin: AdminClient | undefined;
  const stop = async () => {
    admin?.close();
    // The target first (it may still talk to its helpers), then the helpers in reverse.
    const [target, ...helpers] = [...procs].reverse();
    await target?.stop(t.stopGrace);
    for (const h of helpers) await h.stop(t.stopGrace);
    killToken(token);
  };
  try {
    for (const h of t.helpers) {
      const argv = h.command.map(fill);
      const proc = launch(`helper ${h.name}`, argv, { ...fillEnv(h.env), [TOKEN_VAR]: token }, h.cwd ? fill(h.cwd) : undefined);
      procs.push(proc);
      record(proc, 'helper', h.name, argv, o.onProcess);
      if (h.ready) await waitReadiness(proc, h.ready, h.ready.kind === 'tcp' ? Number(fill(h.ready.port)) : null, `helper '${h.name}' (${argv[0]})`, o.signal);
    }
    const l = o.launch ?? {};
    const program = t.command.map(fill);
    const argv = l.wrapper ? [l.wrapper.command, ...l.wrapper.args, ...program] : program;
    const withProbe = !o.staticBinary && !l.noProbe;
    const proc = launch('target', argv, targetEnv(o, fillEnv, withProbe, token), t.cwd ? fill(t.cwd) : undefined);
    procs.push(proc);
    l.onSpawn?.(proc);
    record(proc, 'target', argv[0]!, argv, o.onProcess);
    const what = `target ${argv[0]}`;
    const readyPort = t.ready.kind === 'tcp' ? Number(fill(t.ready.port)) : null;
    await waitReadiness(proc, t.ready, readyPort, what, o.signal, l.readyTimeoutMs);
    values.pid = String(proc.pid);
    const probe = withProbe ? await waitProbe(o.workDir, proc, o.signal) : null;
    if (probe) admin = await connectProbe({ pid: proc.pid, port: Number(probe.port) }, () => proc.describeStderr(10));
    const ready = identify(o, proc.pid, probe);
    const control = admin ?? null;
    const exited = Promise.race(procs.map((p) => p.exited.then((e): SubjectExit => {
      const daemon = p === proc && e.code === 0 ? ' while the trial ran (if it forked a server and exited, it daemonizes: run it in the foreground)' : '';
      return { exit: e, message: `${p === proc ? what : p.name} ${describeExit(e)}${daemon}${p.describeStderr(10)}` };
    })));
    return {
      pid: proc.pid, loadPort: /^\d+$/.test(fill(t.port)) ? Number(fill(t.port)) : null, control, ready, exited, placeholders: values,
      release: (elapsed, event) => targetRelease(t, control, proc.pid, fill, elapsed, event, o.onProcess, readyPort),
      leakedBytes: () => (t.truth ? truthOf(t.truth, fill, t.cwd ? fill(t.cwd) : undefined) : Promise.resolve(null)),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A target's own count of what it leaked: its `truth` command's last JSON line, `field`. */
async function truthOf(truth: NonNullable<Target['truth']>, fill: (x: string) => string, cwd: string | undefined): Promise<number | null> {
  const argv = truth.command.map(fill);
  const proc = spawnNative('truth command', argv[0]!, argv.slice(1), {}, { text: true, ...(cwd ? { cwd } : {}) });
  const timer = setTimeout(() => proc.signal('SIGKILL'), 30_000);
  const e = await proc.exited;
  clearTimeout(timer);
  if (e.code !== 0) throw new Error(`target.truth.command ${argv.join(' ')} ${describeExit(e)}${proc.describeStderr(5)}`);
  for (const line of [...proc.lastStdout()].reverse()) {
    try {
      const v = (JSON.parse(line) as Record<string, unknown>)[truth.field];
      if (typeof v === 'number') return v;
    } catch {
      // not a JSON line
    }
  }
  throw new Error(`target.truth.command ${argv.join(' ')} printed no JSON line with a number in '${truth.field}'`);
}

/** The scenario's release method: the probe's `release`, or a command (its exit and
 * duration recorded; RSS read around it), or a debugger attach. */
async function targetRelease(t: Target, control: AdminClient | null, pid: number, fill: (x: string) => string,
  elapsed: () => number, event: (e: TraceEvent) => void, onProcess: TargetStart['onProcess'], readyPort: number | null): Promise<ReleaseEvent> {
  const tMs = elapsed();
  const record = (e: ReleaseEvent): ReleaseEvent => {
    event(e);
    return e;
  };
  if (t.release.method === 'probe') {
    if (control) return adminRelease(control, elapsed, event, t.release.timeout);
    return record({ type: 'release', tMs, ok: false, releaseMs: null, rssBeforeBytes: null, rssAfterBytes: null, call: 'probe', error: 'no probe in this target (statically linked, or started without it)' });
  }
  if (t.release.method === 'attach') {
    // gdb calls the allocator's release in the stopped target, then the target must still
    // answer; an attach that damaged it throws, and the trial fails with that message.
    try {
      const r = await attachRelease(pid, { ...(readyPort !== null ? { port: readyPort } : {}), timeoutMs: t.release.timeout });
      return record({ type: 'release', tMs, ok: r.ok, releaseMs: r.callMs, rssBeforeBytes: r.rssBeforeBytes, rssAfterBytes: r.rssAfterBytes, call: `gdb attach: ${r.call} (target stopped ${Math.round(r.totalMs)} ms)`, ...(r.ok ? {} : { error: `returned ${r.rc}` }) });
    } catch (err) {
      record({ type: 'release', tMs, ok: false, releaseMs: null, rssBeforeBytes: null, rssAfterBytes: null, call: 'gdb attach', error: (err as Error).message });
      throw err;
    }
  }
  const argv = t.release.command!.map(fill);
  const before = readStatmRss(pid);
  const started = performance.now();
  let proc: NativeProcess;
  try {
    proc = spawnNative('release command', argv[0]!, argv.slice(1), {}, { text: true, ...(t.cwd ? { cwd: fill(t.cwd) } : {}) });
  } catch (err) {
    return record({ type: 'release', tMs, ok: false, releaseMs: null, rssBeforeBytes: null, rssAfterBytes: null, call: argv.join(' '), error: (err as Error).message });
  }
  const timer = setTimeout(() => proc.signal('SIGKILL'), t.release.timeout);
  const e = await proc.exited;
  clearTimeout(timer);
  const ms = Math.round((performance.now() - started) * 10) / 10;
  const after = readStatmRss(pid);
  onProcess?.({ role: 'release', name: argv[0]!, argv, exit: e, durationMs: ms, stdoutTail: proc.lastStdout(), stderrTail: proc.lastStderr() });
  const ok = e.code === 0;
  return record({
    type: 'release', tMs, ok, releaseMs: ms, rssBeforeBytes: numOrNull(before), rssAfterBytes: numOrNull(after), call: argv.join(' '),
    ...(ok ? {} : { error: `release command ${describeExit(e)}${proc.describeStderr(5)}` }),
  });
}
