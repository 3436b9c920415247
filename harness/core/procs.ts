// Starting and stopping the native programs. Arguments are arrays (never a shell string);
// every child is tracked so that a run that ends, fails or is interrupted stops them all.
import { createInterface } from 'node:readline';
import { execa, type ResultPromise } from 'execa';

type Subprocess = ResultPromise<{ buffer: false; stdin: 'pipe'; stdout: 'pipe'; stderr: 'pipe'; reject: false }>;

const live = new Set<NativeProcess>();

export interface Exit {
  code: number | null;
  signal: string | null;
}

export interface SpawnOptions {
  cwd?: string;
  /** Output is plain text, not JSON lines: every line is kept (tails of both streams) and
   * passed to onText listeners. */
  text?: boolean;
  /** The process leads its own process group (leaklab-launch makes it so): stop() and the
   * last-resort kill signal the whole group. */
  group?: boolean;
}

const TAIL_LINES = 40;

export class NativeProcess {
  readonly pid: number;
  private readonly stderrTail: string[] = [];
  private readonly stdoutTail: string[] = [];
  private readonly textListeners: Array<(stream: 'stdout' | 'stderr', line: string) => void> = [];
  private readonly lineListeners: Array<(obj: Record<string, unknown>) => void> = [];
  private readonly queued: Record<string, unknown>[] = [];
  private readonly stderrListeners: Array<(line: string) => void> = [];
  readonly exited: Promise<Exit>;
  exit: Exit | undefined;

  constructor(readonly name: string, private readonly proc: Subprocess, readonly options: SpawnOptions = {}) {
    if (proc.pid === undefined) throw new Error(`${name}: failed to start`);
    this.pid = proc.pid;
    live.add(this);
    const tail = options.text ? TAIL_LINES : 20;
    createInterface({ input: proc.stdout }).on('line', (line) => {
      if (!options.text) return this.onLine(line);
      this.stdoutTail.push(line);
      if (this.stdoutTail.length > tail) this.stdoutTail.shift();
      for (const l of this.textListeners) l('stdout', line);
    });
    createInterface({ input: proc.stderr }).on('line', (line) => {
      this.stderrTail.push(line);
      if (this.stderrTail.length > tail) this.stderrTail.shift();
      for (const l of this.stderrListeners) l(line);
      for (const l of this.textListeners) l('stderr', line);
    });
    const closed = proc.then((r) => ({ code: r.exitCode ?? null, signal: r.signal ?? null }));
    // A text process (a target, its helpers, load commands) may leave a child holding its
    // output pipes (a daemon's fork): its exit counts when the process exits, with 200 ms
    // for the last lines to arrive, not when the pipes close.
    const ended = options.text
      ? Promise.race([closed, new Promise<Exit>((resolve) => proc.once('exit', (code, signal) => {
        const e = { code, signal };
        setTimeout(() => resolve(e), 200).unref();
      }))])
      : closed;
    this.exited = ended.then((e) => {
      if (!this.exit) {
        live.delete(this);
        this.exit = e;
      }
      return this.exit;
    });
  }

  private onLine(line: string): void {
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(line) as Record<string, unknown>;
    } catch {
      this.stderrTail.push(`(stdout, not JSON) ${line}`);
      return;
    }
    if (this.lineListeners.length === 0) this.queued.push(obj);
    for (const l of this.lineListeners) l(obj);
  }

  /** Receives every JSON line from stdout, including those that came before. */
  onJson(listener: (obj: Record<string, unknown>) => void): void {
    this.lineListeners.push(listener);
    for (const q of this.queued.splice(0)) listener(q);
  }

  /** Resolves with the first line whose `event` is "ready"; rejects if the process exits first. */
  waitReady(timeoutMs = 15_000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: no ready line within ${timeoutMs} ms${this.describeStderr()}`)), timeoutMs);
      this.onJson((obj) => {
        if (obj.event === 'ready') {
          clearTimeout(timer);
          resolve(obj);
        }
      });
      void this.exited.then((e) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited before it was ready (${describeExit(e)})${this.describeStderr()}`));
      });
    });
  }

  /** Receives every stderr line from now on (lab detect keeps a leak checker's whole report). */
  onStderr(listener: (line: string) => void): void {
    this.stderrListeners.push(listener);
  }

  writeStdin(text: string): void {
    this.proc.stdin.end(text);
  }

  lastStderr(): string[] {
    return [...this.stderrTail];
  }

  lastStdout(): string[] {
    return [...this.stdoutTail];
  }

  /** Receives every line of both streams from now on (text processes only). */
  onText(listener: (stream: 'stdout' | 'stderr', line: string) => void): void {
    this.textListeners.push(listener);
  }

  describeStderr(lines = 20): string {
    const tail = this.stderrTail.slice(-lines);
    return tail.length ? `; last stderr:\n  ${tail.join('\n  ')}` : '';
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  async stop(graceMs = 1500): Promise<Exit> {
    if (this.exit) {
      this.signal('SIGKILL');  // a group may outlive its leader
      return this.exit;
    }
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    const e = await this.exited;
    clearTimeout(timer);
    if (this.options.group) this.signal('SIGKILL');
    return e;
  }

  /** Sends `sig` to the process, or to its whole group when it leads one. */
  signal(sig: NodeJS.Signals): void {
    try {
      if (this.options.group) process.kill(-this.pid, sig);
      else if (!this.exit) this.proc.kill(sig);
    } catch {
      /* already gone */
    }
  }
}

export function describeExit(e: Exit): string {
  return e.signal ? `killed by ${e.signal}` : `exit code ${e.code}`;
}

export function spawnNative(name: string, file: string, args: string[], env: Record<string, string> = {}, options: SpawnOptions = {}): NativeProcess {
  const proc = execa(file, args, {
    ...(options.cwd ? { cwd: options.cwd } : {}),
    buffer: false,
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    reject: false,
    cleanup: true,
    env: { ...env },
    extendEnv: true,
  }) as Subprocess;
  return new NativeProcess(name, proc, options);
}

/** Stops every native process still running (on the end, failure or interruption of a run). */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop(500)));
}

/** Synchronous last resort for process 'exit' handlers. */
export function killAllNow(): void {
  for (const p of live) {
    try {
      process.kill(p.options.group ? -p.pid : p.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

export function liveCount(): number {
  return live.size;
}
