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

export class NativeProcess {
  readonly pid: number;
  private readonly stderrTail: string[] = [];
  private readonly lineListeners: Array<(obj: Record<string, unknown>) => void> = [];
  private readonly queued: Record<string, unknown>[] = [];
  private readonly stderrListeners: Array<(line: string) => void> = [];
  readonly exited: Promise<Exit>;
  exit: Exit | undefined;

  constructor(readonly name: string, private readonly proc: Subprocess) {
    if (proc.pid === undefined) throw new Error(`${name}: failed to start`);
    this.pid = proc.pid;
    live.add(this);
    createInterface({ input: proc.stdout }).on('line', (line) => this.onLine(line));
    createInterface({ input: proc.stderr }).on('line', (line) => {
      this.stderrTail.push(line);
      if (this.stderrTail.length > 20) this.stderrTail.shift();
      for (const l of this.stderrListeners) l(line);
    });
    this.exited = proc.then((r) => {
      live.delete(this);
      this.exit = { code: r.exitCode ?? null, signal: r.signal ?? null };
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

  describeStderr(): string {
    return this.stderrTail.length ? `; last stderr:\n  ${this.stderrTail.join('\n  ')}` : '';
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  async stop(graceMs = 1500): Promise<Exit> {
    if (this.exit) return this.exit;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    const e = await this.exited;
    clearTimeout(timer);
    return e;
  }
}

export function describeExit(e: Exit): string {
  return e.signal ? `killed by ${e.signal}` : `exit code ${e.code}`;
}

export function spawnNative(name: string, file: string, args: string[], env: Record<string, string> = {}): NativeProcess {
  const proc = execa(file, args, {
    buffer: false,
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    reject: false,
    cleanup: true,
    env: { ...env },
    extendEnv: true,
  }) as Subprocess;
  return new NativeProcess(name, proc);
}

/** Stops every native process still running (on the end, failure or interruption of a run). */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop(500)));
}

/** Synchronous last resort for process 'exit' handlers. */
export function killAllNow(): void {
  for (const p of live) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

export function liveCount(): number {
  return live.size;
}
