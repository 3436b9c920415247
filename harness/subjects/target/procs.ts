// Process helpers for targets: free loopback ports for the placeholders, readiness (a TCP
// port that accepts, or a matching output line), the launcher that ties a target to the
// harness, and the sweep that kills whatever a target left behind (found by a token in
// the environment every process of the target inherits).
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { binaryPath } from '../../core/paths.js';
import type { Readiness } from '../../scenario/target.js';
import { type NativeProcess, describeExit, spawnNative } from '../../core/procs.js';

/** `count` distinct free ports on 127.0.0.1 (held open together, then released). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => new Promise<import('node:net').Server>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve(s));
  })));
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export const TOKEN_VAR = 'LEAKLAB_TARGET_TOKEN';

export function newToken(): string {
  return randomBytes(8).toString('hex');
}

/** Pids of every process of this user whose environment carries TOKEN_VAR=token. */
export function pidsWithToken(token: string): number[] {
  const needle = `${TOKEN_VAR}=${token}`;
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/environ`, 'latin1').split('\0').includes(needle)) pids.push(Number(name));
    } catch {
      // gone, or not ours
    }
  }
  return pids;
}

/** SIGKILLs every process carrying the token (a daemon's forked child, a stray child). */
export function killToken(token: string): number[] {
  const pids = pidsWithToken(token);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  return pids;
}

/** Starts `argv` through leaklab-launch: its own process group, SIGKILLed when the harness dies. */
export function launch(name: string, argv: readonly string[], env: Record<string, string>, cwd: string | undefined): NativeProcess {
  return spawnNative(name, binaryPath('leaklab-launch'), ['--parent-pid', String(process.pid), '--', ...argv], env, { cwd, text: true, group: true });
}

function tcpAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/** Resolves once `proc` is ready by `rule` (ports already filled in); rejects with what
 * was awaited when the time runs out, or with the exit when the process ends first (an
 * exit with code 0 before ready: it daemonized). */
/** `timeoutMs` replaces the rule's own (a tool such as valgrind slows the start). */
export function waitReadiness(proc: NativeProcess, rule: Readiness, port: number | null, what: string, signal: AbortSignal, timeoutMs = rule.timeoutMs): Promise<void> {
  const awaited = rule.kind === 'tcp' ? `a TCP connection to 127.0.0.1:${port} (ready.tcp '${rule.port}')` : `a ${rule.stream} line matching /${rule.pattern}/ (ready.line)`;
  return new Promise<void>((resolve, reject) => {
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearInterval(poll);
      signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    };
    const onAbort = () => finish(new Error('interrupted'));
    signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => finish(new Error(`${what} was not ready within ${timeoutMs} ms: waited for ${awaited}${proc.describeStderr(10)}`)), timeoutMs);
    let poll: NodeJS.Timeout | undefined;
    if (rule.kind === 'tcp') {
      let busy = false;
      poll = setInterval(() => {
        if (busy || proc.exit) return;
        busy = true;
        void tcpAccepts(port!).then((ok) => {
          busy = false;
          if (ok && !proc.exit) finish();
        });
      }, 20);
    } else {
      const re = new RegExp(rule.pattern);
      proc.onText((stream, line) => {
        if (stream === rule.stream && re.test(line)) finish();
      });
      for (const line of rule.stream === 'stdout' ? proc.lastStdout() : proc.lastStderr()) if (re.test(line)) finish();
    }
    void proc.exited.then((e) => {
      const daemon = e.code === 0 ? ': its first process exited with code 0 before it was ready, so it daemonizes (forks and exits); run it in the foreground (e.g. redis-server --daemonize no, nginx -g "daemon off;")' : '';
      finish(new Error(`${what} exited before it was ready (${describeExit(e)})${daemon}; it was awaited by ${awaited}${proc.describeStderr(10)}`));
    });
  });
}

/** The processes below `pid` (its children, theirs, ...), from
 * /proc/<pid>/task/<tid>/children of every thread; [] when it is gone. */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length && out.length < 10_000) {
    const p = queue.shift()!;
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      let text = '';
      try {
        text = readFileSync(`/proc/${p}/task/${tid}/children`, 'latin1');
      } catch {
        continue;
      }
      for (const c of text.split(' ')) {
        const n = Number(c);
        if (c.trim() && Number.isInteger(n) && !out.includes(n)) {
          out.push(n);
          queue.push(n);
        }
      }
    }
  }
  return out;
}
