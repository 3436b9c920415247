// The harness's side of the probe (native/src/probe/): waits for the announcement file a
// preloaded target writes (<dir>/probe-<pid>.json, written atomically) and opens the
// admin channel to it. The probe speaks the relay's admin protocol, so the result is an
// AdminClient like the relay's.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from '../core/errors.js';
import type { Allocator } from '../core/types.js';
import { AdminClient } from './client.js';

/** What a probe writes when it is listening. */
export interface ProbeAnnouncement {
  pid: number;
  port: number;
  allocator: Allocator | 'unknown';
  malloc_library: string;
  version: string;
}

export interface WaitOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** How often the folder is looked at (the file appears in one rename). */
  pollMs?: number;
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

/** Resolves with the announcement of `pid`'s probe; LabError probeTimeout naming the file
 * and what was seen instead when it does not appear in time. */
export async function waitForProbe(dir: string, pid: number, o: WaitOptions = {}): Promise<ProbeAnnouncement> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const deadline = performance.now() + timeoutMs;
  const file = probeFile(dir, pid);
  for (;;) {
    o.signal?.throwIfAborted();
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as ProbeAnnouncement;
    } catch {
      // not there yet
    }
    if (performance.now() >= deadline) {
      const others = listProbes(dir).map((p) => p.pid);
      const seen = others.length ? `probes seen for pids ${others.join(', ')}` : 'no probe file at all';
      throw new LabError('probeTimeout', { dir, pid, timeoutMs, seen });
    }
    await new Promise((r) => setTimeout(r, o.pollMs ?? 20));
  }
}

/** Waits for `pid`'s probe and opens its admin channel. */
export async function openProbe(dir: string, pid: number, o: WaitOptions = {}): Promise<{ admin: AdminClient; probe: ProbeAnnouncement }> {
  const probe = await waitForProbe(dir, pid, o);
  return { admin: await AdminClient.open(probe.port), probe };
}
