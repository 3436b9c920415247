// Starting the real native programs for integration tests (no mocks: real processes,
// real sockets on 127.0.0.1).
import { execa } from 'execa';
import { binaryPath } from '../../harness/core/paths.js';
export { type Lab, startLab, startUpstream } from '../support/relay-lab.js';
import { ALLOCATORS, VARIANTS, variantStatus } from '../../harness/allocators/variants.js';

/** Every allocator must be built here: CI installs them all, so a missing one is a failure, not a skip. */
export function requireAllAllocators(): void {
  const missing = VARIANTS.filter((v) => v.isDefault).map(variantStatus).filter((s) => !s.available);
  if (missing.length) throw new Error(`allocators missing: ${missing.map((m) => `${m.id} (${m.reason})`).join('; ')}`);
}

export { ALLOCATORS };

/** Runs the load generator to completion with a schedule; returns its JSON lines. */
export async function runLoadgen(port: number, schedule: unknown, extra: string[] = []): Promise<Record<string, unknown>[]> {
  const r = await execa(binaryPath('loadgen'), ['--port', String(port), '--schedule', '-', ...extra], { input: JSON.stringify(schedule), reject: false, timeout: 120_000 });
  if (r.exitCode !== 0) throw new Error(`loadgen exit ${r.exitCode}: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

export function listeningSockets(pid: number): Promise<string[]> {
  return execa('ss', ['-Hltnp'], { reject: false }).then((r) =>
    r.stdout.split('\n').filter((l) => l.includes(`pid=${pid},`)).map((l) => l.trim().split(/\s+/)[3] ?? ''));
}
