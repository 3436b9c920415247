// A user's target as a subject: placeholders filled with free ports, helpers started in
// order, the target started through leaklab-launch with the variant's allocator and the
// probe preloaded, readiness awaited, the probe's admin port as the control channel, and
// the scenario's release method. The label is checked: a preload variant whose allocator
// is not the one the probe finds serving malloc fails the trial.
import { existsSync, readFileSync } from 'node:fs';
import { BUILD_DIR } from '../core/paths.js';
import { ALLOCATORS, type Allocator, type ReleaseEvent, type TraceEvent } from '../core/types.js';
import type { Scenario } from '../scenario/scenario.js';
import { type Target, fillPlaceholders, isPortPlaceholder, placeholdersIn } from '../scenario/target.js';
import { AdminClient } from '../subject/client.js';
import type { Variant } from '../subject/variants.js';
import { preloadEnv } from '../subject/preload.js';
import { connectProbe, waitForProbe } from '../subject/probe.js';
import { attachRelease } from '../subject/attach.js';
import { type NativeProcess, describeExit, spawnNative } from './procs.js';
import { readStatmRss } from './sampler.js';
import type { Subject, SubjectExit } from './subject.js';
import { adminRelease, numOrNull } from './subject-relay.js';
import { TOKEN_VAR, freePorts, killToken, launch, newToken, waitReadiness } from './target-procs.js';

/** What a finished helper, target, load or release command leaves in processes.jsonl. */
export interface ProcessRecord {
  role: 'target' | 'helper' | 'load' | 'release';
  name: string;
  argv: string[];
  exit: { code: number | null; signal: string | null } | null;
  durationMs: number;
  stdoutTail: string[];
  stderrTail: string[];
}

export interface TargetStart {
  scenario: Scenario & { target: Target };
  variant: Variant;
  /** The trial's own folder ({run_dir}; the probe writes its port file there). */
  workDir: string;
  signal: AbortSignal;
  onProcess: (r: ProcessRecord) => void;
  /** A statically linked program: nothing can be preloaded, so no probe (RSS only). */
  staticBinary?: boolean;
}

/** Every placeholder name used by the target, its helpers, load and release commands. */
function allPlaceholderNames(s: Scenario & { target: Target }): string[] {
  const t = s.target;
  const texts = [
    ...t.command, ...Object.values(t.env), t.cwd ?? '', t.port,
    ...t.helpers.flatMap((h) => [...h.command, ...Object.values(h.env), h.cwd ?? '']),
    ...(t.release.command ?? []),
    ...s.phases.flatMap((p) => (p.load?.mode === 'command' ? [...p.load.argv, ...Object.values(p.load.env)] : [])),
  ];
  if (t.ready.kind === 'tcp') texts.push(t.ready.port);
  for (const h of t.helpers) if (h.ready?.kind === 'tcp') texts.push(h.ready.port);
  return [...new Set(texts.flatMap((x) => placeholdersIn(x, true).names))];
}

/** Records a process's end in processes.jsonl once it exits. */
function record(proc: NativeProcess, role: ProcessRecord['role'], name: string, argv: string[], onProcess: TargetStart['onProcess']): void {
  const started = performance.now();
  void proc.exited.then((e) => onProcess({
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
  const found = ALLOCATORS.filter((a) => a !== 'glibc' && new RegExp(`/lib${a}[^/]*\\.so`).test(maps));
  return found.length ? found : ['glibc'];
}

export async function startTarget(o: TargetStart): Promise<Subject & { mapped: Allocator[]; probe: Record<string, unknown> | null }> {
  const { scenario, variant } = o;
  const t = scenario.target;
  const names = allPlaceholderNames(scenario);
  const portNames = names.filter(isPortPlaceholder);
  const ports = await freePorts(portNames.length);
  const values: Record<string, string> = { run_dir: o.workDir, lab_build: BUILD_DIR };
  portNames.forEach((n, i) => { values[n] = String(ports[i]); });
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
    const argv = t.command.map(fill);
    // The variant's allocator and the probe first, then whatever the scenario preloads itself.
    const preload = o.staticBinary ? {} : preloadEnv(variant.allocator, o.workDir);
    const env: Record<string, string> = { ...fillEnv(t.env), ...variant.env, ...preload, [TOKEN_VAR]: token };
    if (t.env.LD_PRELOAD && preload.LD_PRELOAD) env.LD_PRELOAD = `${preload.LD_PRELOAD}:${fill(t.env.LD_PRELOAD)}`;
    const proc = launch('target', argv, env, t.cwd ? fill(t.cwd) : undefined);
    procs.push(proc);
    record(proc, 'target', argv[0]!, argv, o.onProcess);
    const what = `target ${argv[0]}`;
    const readyPort = t.ready.kind === 'tcp' ? Number(fill(t.ready.port)) : null;
    await waitReadiness(proc, t.ready, readyPort, what, o.signal);
    values.pid = String(proc.pid);
    const probe = o.staticBinary ? null : await waitProbe(o.workDir, proc, o.signal);
    if (probe) admin = await connectProbe({ pid: proc.pid, port: Number(probe.port) }, () => proc.describeStderr(10));
    const mapped = mappedAllocators(proc.pid);
    const reported = String(probe?.allocator ?? 'unknown');
    const name = (ALLOCATORS as readonly string[]).includes(reported) ? reported as Allocator : 'unknown';
    if (variant.allocator !== null && name !== variant.allocator) {
      throw new Error(`variant '${variant.id}' did not take: ${variant.allocator} was preloaded but the probe found ${reported} serving malloc (mapped allocator libraries: ${mapped.join(', ')}); run this target with --variants as-built`);
    }
    const control = admin ?? null;
    const exited = Promise.race(procs.map((p) => p.exited.then((e): SubjectExit => {
      const daemon = p === proc && e.code === 0 ? ' while the trial ran (if it forked a server and exited, it daemonizes: run it in the foreground)' : '';
      return { exit: e, message: `${p === proc ? what : p.name} ${describeExit(e)}${daemon}${p.describeStderr(10)}` };
    })));
    return {
      pid: proc.pid,
      loadPort: /^\d+$/.test(fill(t.port)) ? Number(fill(t.port)) : null,
      control,
      allocator: { name, version: probe?.version === undefined ? null : String(probe.version) },
      exited,
      placeholders: values,
      mapped,
      probe,
      release: (elapsed, event) => targetRelease(t, control, proc.pid, fill, elapsed, event, o.onProcess, readyPort),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
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
    return record({ type: 'release', tMs, ok: false, releaseMs: null, rssBeforeBytes: null, rssAfterBytes: null, call: 'probe', error: 'no probe in this target (statically linked)' });
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
  onProcess({ role: 'release', name: argv[0]!, argv, exit: e, durationMs: ms, stdoutTail: proc.lastStdout(), stderrTail: proc.lastStderr() });
  const ok = e.code === 0;
  return record({
    type: 'release', tMs, ok, releaseMs: ms, rssBeforeBytes: numOrNull(before), rssAfterBytes: numOrNull(after), call: argv.join(' '),
    ...(ok ? {} : { error: `release command ${describeExit(e)}${proc.describeStderr(5)}` }),
  });
}
