// `lab inspect <pid>`: a live process the lab did not start, looked at without a preload
// or a restart. Which allocator serves malloc (the inspector's resolve, with each library's
// build id); where its RSS sits (the kernel's split, core/smaps.ts); the allocator's own
// counters, read by calling its functions inside the process (inspect/engine.ts); with
// --release, the allocator's release and RSS before and after; with --watch, snapshots
// over time. The verdict is analysis/snapshot.ts's.
import { readFileSync, readlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { type RssSplit, readRssSplit } from '../core/smaps.js';
import { readStatmRss } from '../core/proc.js';
import { LabError } from '../core/errors.js';
import type { GlibcArenas } from '../core/types.js';
import { profilerFor } from '../allocators/registry.js';
import { type AllocatorLedger, allocatorLedger, arenasOfReply } from '../analysis/ledger.js';
import { type Snapshot, type SnapshotVerdict, snapshotVerdict } from '../analysis/snapshot.js';
import { type EngineReply, engine } from './engine.js';

export interface InspectOptions {
  pid: number;
  release: boolean;
  /** --watch: how long to keep taking snapshots, and how often; null: one snapshot. */
  watchMs: number | null;
  everyMs: number;
  maxStopMs?: number;
  signal: AbortSignal;
  progress?: (line: string) => void;
}

export interface InspectSnapshot {
  tMs: number;
  rss: number;
  split: RssSplit;
  /** The allocator's own counters (the inspector's `counters`), null when it has none. */
  counters: Record<string, unknown> | null;
  /** How long the inspector kept one thread stopped, and the allocator calls' own time. */
  stopMs: number | null;
  callMs: number | null;
  /** glibc's free memory by arena (the inspector's malloc-info, parsed as a run's `ledger`); null otherwise. */
  arenas: GlibcArenas | null;
  /** The allocator's side of the ledger (analysis/ledger.ts), as in a run; null when unknown. */
  ledger: AllocatorLedger | null;
}

export interface InspectRelease {
  call: string;
  calls: unknown;
  thread: { tid: number; name: string } | null;
  rssBefore: number;
  rssAfter: number;
  splitAfter: RssSplit | null;
  stopMs: number | null;
  callMs: number | null;
  /** What the release could not reach (mimalloc: other threads' heaps). */
  reach: string | null;
}

export interface InspectResult {
  pid: number;
  program: string | null;
  cmdline: string;
  allocator: string;
  mallocObject: string | null;
  objects: Array<{ path: string; buildId: string | null }>;
  staticBinary: boolean;
  snapshots: InspectSnapshot[];
  release: InspectRelease | null;
  verdict: SnapshotVerdict;
  /** Set when the watch ended early (interrupted, the process ended). */
  partial: string | null;
  notes: string[];
}

const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);

function timing(r: EngineReply): { stopMs: number | null; callMs: number | null } {
  const t = (r.timing ?? {}) as Record<string, unknown>;
  return { stopMs: num(t.stop_ms), callMs: num(t.target_call_ms) ?? num(t.call_ms) };
}

function processFacts(pid: number): { program: string | null; cmdline: string } {
  let program: string | null = null;
  let cmdline = '';
  try {
    program = readlinkSync(`/proc/${pid}/exe`);
  } catch {
    // another user's process without the right to read its exe link
  }
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').filter(Boolean).join(' ');
  } catch {
    throw new LabError('noProcess', { pid: String(pid) });
  }
  return { program, cmdline };
}

async function snapshot(pid: number, t0: number, counted: boolean, allocator: string, maxStopMs?: number): Promise<InspectSnapshot> {
  const reply = counted ? await engine('counters', pid, { maxStopMs }) : null;
  const split = readRssSplit(pid);
  const rss = readStatmRss(pid);
  if (!split || rss === null) throw new LabError('noProcess', { pid: String(pid) });
  const counters = reply && typeof reply.counters === 'object' ? reply.counters as Record<string, unknown> : null;
  // glibc: where the free memory sits by arena, from one more call (malloc_info walks every
  // arena's free chunks under its lock, as mallinfo2 does).
  const info = counted && allocator === 'glibc' ? await engine('malloc-info', pid, { maxStopMs }) : null;
  const arenas = arenasOfReply((info?.malloc_info as { ledger?: unknown } | undefined)?.ledger ?? null);
  const ledger = allocatorLedger(allocator, counters as Record<string, unknown> | null, split, arenas);
  return { tMs: performance.now() - t0, rss, split, counters, ...(reply ? timing(reply) : { stopMs: null, callMs: null }), arenas, ledger };
}

function threadName(pid: number, tid: number): string {
  try {
    return readFileSync(`/proc/${pid}/task/${tid}/comm`, 'latin1').trim();
  } catch {
    return '?';
  }
}

async function release(pid: number, allocator: string, maxStopMs?: number): Promise<InspectRelease> {
  const rssBefore = readStatmRss(pid) ?? 0;
  const r = await engine('release', pid, { maxStopMs });
  const rssAfter = readStatmRss(pid) ?? 0;
  const th = (r.thread ?? null) as { tid?: number } | null;
  const thread = th?.tid ? { tid: th.tid, name: threadName(pid, th.tid) } : null;
  const reach = allocator === 'mimalloc'
    ? `mi_collect(true) ran on one thread (${thread ? `${thread.tid} ${thread.name}` : 'unknown'}): it collects that thread's heap and the heaps abandoned by exited threads, not the heaps of the process's other live threads`
    : null;
  return { call: String(r.release_call ?? ''), calls: r.calls ?? null, thread, rssBefore, rssAfter, splitAfter: readRssSplit(pid), ...timing(r), reach };
}

/** The snapshot's view for the verdict: the resident anonymous memory (brk heap and other
 * anonymous mappings) and the allocator's in-use bytes. */
export function verdictView(s: InspectSnapshot): Snapshot {
  return { tMs: s.tMs, rss: s.rss, heapResident: s.split.brkHeap + s.split.anonymous, inUse: s.counters ? num(s.counters.allocated_bytes) : null };
}

function profileHint(allocator: string): string {
  const own = profilerFor(allocator);
  const p = 'tool' in own ? own : profilerFor('jemalloc');
  if (!('tool' in p)) return 'a heap profiler';
  const env = Object.entries(p.env('<dir>', {})).map(([k, v]) => `${k}=${v}`).join(' ');
  const preload = p.allocator === allocator ? '' : `LD_PRELOAD=libjemalloc.so.2 `;
  return `${preload}${env}, dumps through ${p.dumpCall}, compared with \`${p.tool} --base\``;
}

async function watch(o: InspectOptions, t0: number, counted: boolean, allocator: string, first: InspectSnapshot): Promise<{ snaps: InspectSnapshot[]; partial: string | null }> {
  const snaps = [first];
  const total = Math.max(1, Math.floor(o.watchMs! / o.everyMs));
  for (let k = 1; k <= total; k++) {
    try {
      await sleep(Math.max(0, t0 + k * o.everyMs - performance.now()), undefined, { signal: o.signal });
    } catch {
      return { snaps, partial: 'interrupted' };
    }
    try {
      const s = await snapshot(o.pid, t0, counted, allocator, o.maxStopMs);
      snaps.push(s);
      o.progress?.(`inspect: snapshot ${k + 1} of ${total + 1} at ${(s.tMs / 1000).toFixed(1)} s: RSS ${(s.rss / 2 ** 20).toFixed(1)} MiB`);
    } catch (err) {
      if (err instanceof LabError && err.id === 'noProcess') return { snaps, partial: `process ${o.pid} ended during the watch` };
      throw err;
    }
  }
  return { snaps, partial: null };
}

export async function inspect(o: InspectOptions): Promise<InspectResult> {
  const facts = processFacts(o.pid);
  const resolved = await engine('resolve', o.pid, { maxStopMs: o.maxStopMs });
  const allocator = String(resolved.allocator ?? 'unknown');
  const staticBinary = resolved.static === true;
  const counted = allocator !== 'unknown';
  const objects = ((resolved.objects ?? []) as Array<{ path: string; build_id?: string | null }>).map((x) => ({ path: x.path, buildId: x.build_id ?? null }));
  const mallocObject = (resolved.malloc as { object?: string } | undefined)?.object ?? null;
  const notes: string[] = [];
  if (!counted) notes.push(`allocator unknown${staticBinary ? ' (statically linked)' : ''}: smaps only, no allocator counters`);
  if (allocator === 'glibc') notes.push('glibc counts its thread caches (tcache) as in use: they cannot be told apart');
  if (allocator === 'mimalloc') notes.push('mimalloc 2.0.9 (Debian\'s release build) counts no in-use bytes: the program\'s share of the heap is not measured');
  const t0 = performance.now();
  o.progress?.(`inspect: pid ${o.pid} (${facts.cmdline.slice(0, 60)}), allocator ${allocator}`);
  const first = await snapshot(o.pid, t0, counted, allocator, o.maxStopMs);
  const { snaps, partial } = o.watchMs ? await watch(o, t0, counted, allocator, first) : { snaps: [first], partial: null };
  const rel = o.release && counted && !partial ? await release(o.pid, allocator, o.maxStopMs) : null;
  if (o.release && !counted) notes.push('no release: the allocator is unknown');
  const verdict = snapshotVerdict({
    allocator, first: verdictView(snaps[0]!), last: verdictView(snaps[snaps.length - 1]!),
    release: rel ? { before: rel.rssBefore, after: rel.rssAfter } : null, profileHint: profileHint(allocator),
  });
  return { pid: o.pid, ...facts, allocator, mallocObject, objects, staticBinary, snapshots: snaps, release: rel, verdict, partial, notes };
}
