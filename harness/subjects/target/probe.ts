// The harness's side of the probe (native/src/probe/): waits for the announcement file a
// preloaded target writes (<dir>/probe-<pid>.json: created empty before the target's
// main(), then filled with one write; read until it parses) and opens the
// admin channel to it. The probe speaks the relay's admin protocol, so the result is an
// AdminClient like the relay's.
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from '../../core/errors.js';
import type { Allocator } from '../../core/types.js';
import { AdminClient } from '../protocol/client.js';

/** What a probe writes when it is listening. */
export interface ProbeAnnouncement {
  pid: number;
  port: number;
  allocator: Allocator | 'unknown';
  malloc_library: string;
  version: string;
  /** The program that wrote it (/proc/self/exe); absent from probes built before 2026-11-26. */
  exe?: string;
}

export interface WaitOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** How often the file is read (it is created empty, then filled in one write). */
  pollMs?: number;
  /** Appended to the timeout error: what the process said (its probe's complaint, say). */
  stderr?: () => string;
}

export function probeFile(dir: string, pid: number): string {
  return join(dir, `probe-${pid}.json`);
}

/** Every announcement in `dir` (children of the target that exec'd write theirs too). */
export function listProbes(dir: string): ProbeAnnouncement[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => /^probe-\d+\.json$/.test(n)).flatMap((n) => {
    try {
      return [JSON.parse(readFileSync(join(dir, n), 'utf8')) as ProbeAnnouncement];
    } catch {
      return [];
    }
  });
}

function exeOf(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return null;
  }
}

/** Resolves with the announcement of `pid`'s probe; LabError probeTimeout naming the file
 * and what was seen instead when it does not appear in time. */
export async function waitForProbe(dir: string, pid: number, o: WaitOptions = {}): Promise<ProbeAnnouncement> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const deadline = performance.now() + timeoutMs;
  const file = probeFile(dir, pid);
  let stale: string | null = null;
  for (;;) {
    o.signal?.throwIfAborted();
    let a: ProbeAnnouncement | null = null;
    try {
      a = JSON.parse(readFileSync(file, 'utf8')) as ProbeAnnouncement;
    } catch {
      // not there yet, or not filled yet
    }
    if (a) {
      // A wrapper (taskset, setpriv, env) that loaded the probe and exec'd the server
      // announced itself under the same pid: wait for the server's own announcement.
      const now = exeOf(pid);
      if (!a.exe || now === null || a.exe === now) return a;
      stale = `an announcement from ${a.exe}, which pid ${pid} has since replaced by exec of ${now} (whose probe did not write one)`;
    }
    if (performance.now() >= deadline) {
      const others = listProbes(dir).filter((p) => p.pid !== pid).map((p) => p.pid);
      const seen = stale ?? (others.length ? `probes seen for pids ${others.join(', ')}`
        : existsSync(file) ? 'the file is there but still empty' : 'no probe file at all');
      throw new LabError('probeTimeout', { dir, pid, timeoutMs, seen, stderr: o.stderr?.() });
    }
    await new Promise((r) => setTimeout(r, o.pollMs ?? 20));
  }
}

/** Opens the admin channel to an announced probe; an error that says what a refused
 * connection means when it fails. */
export async function connectProbe(probe: Pick<ProbeAnnouncement, 'pid' | 'port'>, stderr?: () => string): Promise<AdminClient> {
  try {
    return await AdminClient.open(probe.port);
  } catch (err) {
    throw new Error(`the probe of pid ${probe.pid} announced port ${probe.port} but does not answer (${(err as Error).message}): the target may have closed the probe's descriptors after it announced itself (a server that closes every inherited descriptor at start), or exec'd another program${stderr?.() ?? ''}`);
  }
}

/** Waits for `pid`'s probe and opens its admin channel. */
export async function openProbe(dir: string, pid: number, o: WaitOptions = {}): Promise<{ admin: AdminClient; probe: ProbeAnnouncement }> {
  const probe = await waitForProbe(dir, pid, o);
  return { admin: await connectProbe(probe, o.stderr), probe };
}
