// The `attach` release: for a target without the probe, gdb (batch mode) attaches to the
// running process, asks which object serves `malloc` there (`info symbol malloc`: gdb
// searches objects in link-map order, as the dynamic linker does), calls that allocator's
// release function, and detaches. Then the target must still be alive and answering, or
// the run fails loudly: an attach that kills the user's server is worse than none.
//
// Known hazard (issue 10): on a CPU with AMX, gdb 13 runs the call but cannot write the
// extended register state back ("Couldn't write extended state status: Bad address"); the
// thread then returns -ERESTARTSYS (512) from the syscall gdb interrupted, and a server
// that treats a failed accept() as fatal dies. The attach is refused on such CPUs.
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { LabError } from '../../core/errors.js';
import { ALLOCATOR, ALLOCATORS, type Allocator } from '../../allocators/registry.js';


export interface AttachRelease {
  pid: number;
  allocator: Allocator;
  /** `info symbol malloc` in the target, e.g. "tc_malloc in section ... of .../libtcmalloc.so.4". */
  mallocSymbol: string;
  call: string;
  /** The call's return value as gdb prints it ("0", "void"). */
  rc: string;
  ok: boolean;
  /** The call alone, measured inside gdb. */
  callMs: number;
  /** gdb from start to detach: how long the target was stopped, at most. */
  totalMs: number;
  rssBeforeBytes: number | null;
  rssAfterBytes: number | null;
}

export interface AttachOptions {
  /** A TCP port of the target that must accept a connection after the attach. */
  port?: number;
  /** Or any readiness check of the target (true = answers). */
  answers?: () => Promise<boolean>;
  timeoutMs?: number;
  /** Time given to the target to fail after the detach before it is checked. */
  graceMs?: number;
  /** The gdb to run (default: gdb on PATH). */
  gdb?: string;
}

/** Which allocator an `info symbol malloc` answer names. */
export function allocatorOfSymbol(info: string): Allocator | null {
  const file = /\bof (\S+)\s*$/.exec(info.trim())?.[1] ?? '';
  if (/libtcmalloc/.test(file)) return 'tcmalloc';
  if (/libjemalloc/.test(file)) return 'jemalloc';
  if (/libmimalloc/.test(file)) return 'mimalloc';
  if (/\/libc\.so/.test(file)) return 'glibc';
  return null;
}

/** Why this machine cannot attach safely, or null. */
export function attachHazard(cpuinfo = readText('/proc/cpuinfo')): string | null {
  if (/^flags\s*:.*\bamx_tile\b/m.test(cpuinfo)) {
    return 'this CPU has AMX (amx_tile in /proc/cpuinfo): gdb cannot write its extended register state back after a call, and the interrupted syscall then fails with ERESTARTSYS (512), which kills servers that treat a failed accept() as fatal';
  }
  return null;
}

/** What stops ptrace here, or null (read before gdb is started). */
export function ptraceObstacle(): string | null {
  const scope = readText('/proc/sys/kernel/yama/ptrace_scope').trim();
  if (scope === '3') return 'kernel.yama.ptrace_scope is 3 (no attach at all)';
  const capEff = /^CapEff:\s*([0-9a-f]+)/m.exec(readText('/proc/self/status'))?.[1];
  const hasCap = capEff !== undefined && (BigInt(`0x${capEff}`) & (1n << 19n)) !== 0n;  // CAP_SYS_PTRACE
  if ((scope === '1' || scope === '2') && !hasCap) {
    return `kernel.yama.ptrace_scope is ${scope} and the harness lacks CAP_SYS_PTRACE`;
  }
  return null;
}

const SCRIPT = `
import gdb, json, time
def out(d): print("LEAKLAB " + json.dumps(d), flush=True)
info = gdb.execute("info symbol malloc", to_string=True).strip()
out({"malloc": info})
calls = json.loads(CALLS)
expr = None
for key, e in calls:
    if key in info: expr = e
if expr is None and "/libc.so" in info: expr = calls_glibc
if expr is None:
    out({"error": "no release known for the allocator that serves malloc: " + info})
else:
    t = time.perf_counter()
    v = gdb.parse_and_eval(expr)
    out({"call": expr, "rc": str(v), "ms": (time.perf_counter() - t) * 1000})
`;

function gdbScript(): string {
  // gdb names the object that serves malloc; an allocator with a library of its own is
  // recognized by lib<name> in it, glibc by libc.so (calls_glibc).
  const calls = ALLOCATORS.filter((a) => ALLOCATOR[a].library !== null).map((a): [string, string] => [`lib${a}`, ALLOCATOR[a].attachCall]);
  return `CALLS = ${JSON.stringify(JSON.stringify(calls))}\ncalls_glibc = ${JSON.stringify(ALLOCATOR.glibc.attachCall)}\n${SCRIPT}`;
}

/** Releases free memory in `pid` through gdb; checks afterwards that it still answers. */
export async function attachRelease(pid: number, o: AttachOptions = {}): Promise<AttachRelease> {
  const hazard = attachHazard();
  if (hazard) throw new LabError('attachRefused', { pid, reason: hazard });
  const obstacle = ptraceObstacle();
  if (obstacle) throw new LabError('ptraceDenied', { pid, detail: obstacle });
  if (!isAlive(pid)) throw new LabError('attachFailed', { pid, reason: 'no such process' });
  const gdb = o.gdb ?? 'gdb';
  const version = await execa(gdb, ['--version'], { reject: false });
  if (version.exitCode !== 0) throw new LabError('missingTool', { tool: `gdb (${gdb})`, install: 'apt-get install gdb' });

  const dir = mkdtempSync(join(tmpdir(), 'leaklab-attach-'));
  const script = join(dir, 'release.py');
  writeFileSync(script, gdbScript());
  const rssBefore = rssBytes(pid);
  const t0 = performance.now();
  let r;
  try {
    r = await execa(gdb, ['-batch', '-nx', '-p', String(pid), '-x', script], { reject: false, timeout: o.timeoutMs ?? 60_000, all: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const totalMs = performance.now() - t0;
  const output = r.all ?? '';
  if (/ptrace: Operation not permitted/.test(output)) {
    throw new LabError('ptraceDenied', { pid, detail: 'ptrace: Operation not permitted' });
  }
  const lines = output.split('\n').filter((l) => l.startsWith('LEAKLAB ')).map((l) => JSON.parse(l.slice(8)) as Record<string, unknown>);
  const mallocSymbol = String(lines.find((l) => 'malloc' in l)?.malloc ?? '');
  const result = lines.find((l) => 'call' in l);
  const damage = /Couldn't write|Couldn't get registers|Bad address|The program being debugged was signaled/.exec(output);

  await alive(pid, o);  // throws targetLostAfterAttach
  if (damage) throw new LabError('attachFailed', { pid, reason: `gdb reported '${damage[0]}' (the target still answers, but its state is suspect): ${tail(output)}` });
  if (!result) {
    const error = lines.find((l) => 'error' in l)?.error;
    throw new LabError('attachFailed', { pid, reason: error ? String(error) : `gdb exit ${r.exitCode}: ${tail(output)}` });
  }
  const allocator = allocatorOfSymbol(mallocSymbol)!;
  const rc = String(result.rc);
  return {
    pid, allocator, mallocSymbol, call: String(result.call), rc,
    // mallctl returns 0 on success; malloc_trim returns 1 or 0, both fine; void calls print "void".
    ok: allocator !== 'jemalloc' || rc === '0',
    callMs: Number(result.ms), totalMs, rssBeforeBytes: rssBefore, rssAfterBytes: rssBytes(pid),
  };
}

/** Throws targetLostAfterAttach unless `pid` lives and answers after `graceMs`. */
async function alive(pid: number, o: AttachOptions): Promise<void> {
  await new Promise((res) => setTimeout(res, o.graceMs ?? 300));
  if (!isAlive(pid)) throw new LabError('targetLostAfterAttach', { pid, what: 'is gone' });
  if (o.port !== undefined && !(await accepts(o.port))) {
    throw new LabError('targetLostAfterAttach', { pid, what: `no longer accepts connections on port ${o.port}` });
  }
  if (o.answers && !(await o.answers())) throw new LabError('targetLostAfterAttach', { pid, what: 'no longer passes its readiness check' });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (dead, not yet reaped by its parent) answers kill(0) too.
  return !/^State:\s*Z/m.test(readText(`/proc/${pid}/status`));
}

function accepts(port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true); });
    s.setTimeout(timeoutMs, () => { s.destroy(); resolve(false); });
    s.once('error', () => resolve(false));
  });
}

function rssBytes(pid: number): number | null {
  const resident = Number(readText(`/proc/${pid}/statm`).split(' ')[1]);
  return Number.isFinite(resident) && resident > 0 ? resident * 4096 : null;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return '';
  }
}

function tail(text: string, n = 6): string {
  return text.trim().split('\n').slice(-n).join(' | ');
}
