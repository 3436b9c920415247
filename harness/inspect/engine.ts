// The native inspector (build/native/leaklab-inspect, native/src/inspect/): one command per
// call against a live process, one JSON line back. It stops one thread parked in a system
// call for a fraction of a millisecond to call the allocator's own functions
// (docs/inspect.md). Its refusals (exit 3: ptrace not allowed, already traced, not dumpable,
// ...) and time limits (exit 4) become the lab's errors with the inspector's own reason.
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { LabError } from '../core/errors.js';
import { binaryPath } from '../core/paths.js';

export type EngineCommand = 'threads' | 'resolve' | 'counters' | 'release' | 'malloc-info';

/** Every reply carries these; the rest depends on the command (docs/inspect.md). */
export interface EngineReply {
  ok: boolean;
  command: string;
  pid: number;
  wall_ms: number;
  error?: string;
  reason?: string;
  [key: string]: unknown;
}

export interface EngineOptions {
  /** Refuse a call whose stop overhead would exceed this (the inspector's --max-stop). */
  maxStopMs?: number;
}

export const INSPECTOR = 'leaklab-inspect';

/** Runs one inspector command; throws a LabError naming the cause when it cannot. */
export async function engine(command: EngineCommand, pid: number, o: EngineOptions = {}): Promise<EngineReply> {
  const path = binaryPath(INSPECTOR);
  if (!existsSync(path)) throw new LabError('inspectorMissing', { path });
  const args = [command, String(pid), ...(o.maxStopMs !== undefined ? ['--max-stop', String(o.maxStopMs)] : [])];
  const r = await execa(path, args, { reject: false, timeout: 60_000 });
  const line = r.stdout.split('\n').filter((l) => l.startsWith('{')).pop();
  let reply: EngineReply | null = null;
  try {
    reply = line ? (JSON.parse(line) as EngineReply) : null;
  } catch {
    reply = null;
  }
  if (!reply) {
    throw new LabError('inspectFailed', { pid, command, error: 'no reply', reason: `${INSPECTOR} exited ${r.exitCode ?? r.signal} with no JSON line${r.stderr ? `; stderr: ${r.stderr.split('\n').slice(-3).join(' | ')}` : ''}` });
  }
  if (r.exitCode === 3) throw new LabError('inspectRefused', { pid, reason: reply.reason ?? 'refused' });
  if (r.exitCode !== 0 || !reply.ok) {
    const why = reply.error === 'max-stop' ? `${reply.reason ?? ''} (raise --max-stop to allow a longer stop)` : reply.reason ?? '';
    throw new LabError('inspectFailed', { pid, command, error: reply.error ?? `exit ${r.exitCode}`, reason: why });
  }
  return reply;
}
