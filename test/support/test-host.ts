// test_host (native/test/test_host.cc) with `commands`: its workloads (hold=NxSIZE, sparse,
// free, churn=N) sent on stdin, and its probe as control channel. Shared by
// test/subjects/probe-count.test.ts and `npm run bench -- probe --poll`.
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import { binaryPath } from '../../harness/core/paths.js';
import { freePorts } from '../../harness/subjects/target/procs.js';
import type { AdminClient } from '../../harness/subjects/protocol/client.js';
import { openProbe } from '../../harness/subjects/target/probe.js';

type Json = Record<string, any>;  // eslint-disable-line @typescript-eslint/no-explicit-any

export interface TestHost {
  pid: number;
  admin: AdminClient;
  /** Runs one workload line; resolves when test_host says it is done. */
  run(command: string): Promise<void>;
  counters(): Promise<Json>;
  stop(): Promise<void>;
}

/** test_host with `env` (LD_PRELOAD and LEAKLAB_PROBE_DIR=`dir`), once main() has started
 * (its "uid=N listening" line: the probe answers before main() runs). */
export async function startTestHost(env: Record<string, string>, dir: string): Promise<TestHost> {
  const [port] = await freePorts(1);
  const proc = execa(binaryPath('test_host'), [String(port), 'commands'], { env, stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', reject: false, buffer: false });
  const waiting = new Map<string, () => void>();
  const listening = new Promise<void>((resolve) => waiting.set('listening', resolve));
  createInterface({ input: proc.stdout! }).on('line', (line) => waiting.get(line.endsWith(' listening') ? 'listening' : line)?.());
  const { admin } = await openProbe(dir, proc.pid!, { timeoutMs: 10_000 });
  await listening;
  return {
    pid: proc.pid!,
    admin,
    run: (command) => new Promise<void>((resolve) => {
      waiting.set(`done ${command}`, resolve);
      proc.stdin!.write(`${command}\n`);
    }),
    counters: () => admin.command<Json>('stats-counters'),
    stop: async () => {
      admin.close();
      proc.kill('SIGKILL');
      await proc;
    },
  };
}
