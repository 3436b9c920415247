// An upstream and a relay started by hand, with the admin channel open: for tests and
// benches that talk to the relay directly instead of through a scenario.
import { binaryPath } from '../../harness/core/paths.js';
import { type NativeProcess, spawnNative } from '../../harness/core/procs.js';
import type { Allocator } from '../../harness/allocators/variants.js';
import { AdminClient } from '../../harness/subjects/protocol/client.js';

export interface Lab {
  upstream: NativeProcess;
  relay: NativeProcess;
  port: number;
  adminPort: number;
  admin: AdminClient;
  stop(): Promise<void>;
}

export async function startUpstream(args: string[] = []): Promise<{ proc: NativeProcess; port: number }> {
  const proc = spawnNative('upstream', binaryPath('upstream'), args);
  const ready = await proc.waitReady();
  return { proc, port: Number(ready.port) };
}

export async function startLab(allocator: Allocator, upstreamArgs: string[] = [], relayArgs: string[] = [], env: Record<string, string> = {}): Promise<Lab> {
  const up = await startUpstream(upstreamArgs);
  try {
    const relay = spawnNative(`relay-${allocator}`, binaryPath(`relay-${allocator}`), ['--upstream-port', String(up.port), ...relayArgs], env);
    const ready = await relay.waitReady();
    const admin = await AdminClient.open(Number(ready.admin_port));
    return {
      upstream: up.proc, relay, port: Number(ready.port), adminPort: Number(ready.admin_port), admin,
      async stop() {
        admin.close();
        await Promise.all([relay.stop(), up.proc.stop()]);
      },
    };
  } catch (err) {
    await up.proc.stop();
    throw err;
  }
}
