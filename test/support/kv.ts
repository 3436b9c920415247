// The lab's key-value server (build/native/leaklab-kv) started by hand for a test, as a
// user's server would be: `leaklab-kv --port 0 ...args`, ready once it prints its port.
// The caller kills it (SIGKILL) when done.
import { type ChildProcess, spawn } from 'node:child_process';
import { binaryPath } from '../../harness/core/paths.js';

export const KV = binaryPath('leaklab-kv');

export interface KvServer {
  pid: number;
  port: number;
  proc: ChildProcess;
}

export async function startKv(args: string[], env: Record<string, string> = {}): Promise<KvServer> {
  const proc = spawn(KV, ['--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    proc.on('exit', (code) => reject(new Error(`leaklab-kv exited (${code}) before listening: ${out}`)));
  });
  return { pid: proc.pid!, port, proc };
}
