// Samples the relay from outside: RSS from /proc/<pid>/statm every 10 ms (by the native
// `sampler`, on an absolute clock, in batches every 100 ms: a Node timer loop cost 2% of
// a core by itself and stalled behind garbage collection); the relay's admin
// `stats-counters` every 100 ms; /proc/<pid>/smaps_rollup every 500 ms. Each sample
// goes to `onSample` as it is taken (the runner streams it to disk).
//
// The counters poll is the one part of sampling that runs inside the relay. Its reply is
// built without allocating (native/src/admin.cc), because allocator activity drives
// jemalloc's decay and tcmalloc's release: an idle phase must be idle. `statsPolling:
// false` (lab run --no-stats-poll) leaves only the outside reads and one counters sample
// at the end; `npm run bench -- observer` compares the two (docs/native.md).
//
// Why smaps_rollup is read less often, and off the main thread: the kernel walks every
// page table of the relay to answer it, under the relay's mmap lock. At the burst's peak
// (~450 MiB) one read takes ~5 ms (npm run bench -- harness); every 100 ms that is 5% of
// the time with the relay's mmap/munmap blocked, and a 5 ms stall of the 10 ms sampler.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { AdminClient } from '../subject/client.js';
import { binaryPath } from '../core/paths.js';
import { type NativeProcess, spawnNative } from './procs.js';
import type { Sample } from '../core/types.js';

export const RSS_INTERVAL_MS = 10;
export const STATS_INTERVAL_MS = 100;
export const SMAPS_INTERVAL_MS = 500;
export const PAGE_SIZE = 4096;

export function readStatmRss(pid: number): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/statm`, 'latin1').split(' ');
    return Number(fields[1]) * PAGE_SIZE;
  } catch {
    return null;
  }
}

export interface SmapsRollup {
  rssBytes: number;
  privateDirtyBytes: number;
  lazyfreeBytes: number;
}

export function parseSmapsRollup(text: string): SmapsRollup {
  const kb = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : 0;
  };
  return { rssBytes: kb('Rss'), privateDirtyBytes: kb('Private_Dirty'), lazyfreeBytes: kb('LazyFree') };
}

export function readSmapsRollup(pid: number): SmapsRollup | null {
  try {
    return parseSmapsRollup(readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1'));
  } catch {
    return null;
  }
}

/** The same on libuv's thread pool, so the 10 ms statm loop is not held up. */
export async function readSmapsRollupAsync(pid: number): Promise<SmapsRollup | null> {
  try {
    return parseSmapsRollup(await readFile(`/proc/${pid}/smaps_rollup`, 'latin1'));
  } catch {
    return null;
  }
}

/** VmHWM (the kernel's RSS high-water mark) from /proc/<pid>/status. */
export function readVmHwm(pid: number): number | null {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** CPU time (user + system, ms) a process has used, from /proc/<pid>/stat. */
export function readCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/** USER_HZ: 100 on every Linux architecture leak-lab runs on. */
const CLOCK_TICKS = 100;

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export interface SamplerOptions {
  pid: number;
  /** The admin channel for stats-counters; null: RSS and smaps_rollup only (a target without probe). */
  admin: AdminClient | null;
  t0: number;  // performance.now() at the trial's start
  monoT0Us: number;  // CLOCK_MONOTONIC (process.hrtime) in µs at the same moment
  /** The phase the trial was in at `tMs` (samples arrive in batches, up to 100 ms late). */
  phaseAt: (tMs: number) => string;
  onSample: (s: Sample) => void;
  /** Ask the relay for stats-counters every STATS_INTERVAL_MS (default true). */
  statsPolling?: boolean;
}

export class Sampler {
  private timer: NodeJS.Timeout | undefined;
  private tick = 0;
  private statsInFlight = false;
  private stopped = false;
  private lastRssT: number | null = null;
  private native: NativeProcess | undefined;
  /** Actual gaps between consecutive statm samples, for the harness bench. */
  readonly intervals: number[] = [];
  lastRss = 0;

  constructor(private readonly o: SamplerOptions) {}

  /** Starts the native 10 ms statm sampler (native/src/sampler_main.cc) and the 100 ms
   * stats loop; resolves once the sampler is reading. */
  async start(): Promise<void> {
    this.native = spawnNative('sampler', binaryPath('sampler'), ['--pid', String(this.o.pid), '--interval-ms', String(RSS_INTERVAL_MS), '--batch-ms', String(STATS_INTERVAL_MS)]);
    this.native.onJson((line) => {
      if (line.type === 'rss' && Array.isArray(line.samples)) {
        for (const [tUs, rss] of line.samples as Array<[number, number]>) this.onRss((tUs - this.o.monoT0Us) / 1000, rss);
      }
    });
    await this.native.waitReady();
    const polling = this.o.statsPolling ?? true;
    this.timer = setInterval(() => {
      if (this.stopped) return;
      this.tick += 1;
      const smapsDue = this.tick % (SMAPS_INTERVAL_MS / STATS_INTERVAL_MS) === 0;
      if (polling) void this.sampleStats(smapsDue);
      else if (smapsDue) void this.sampleSmaps();
    }, STATS_INTERVAL_MS);
  }

  private now(): number {
    return performance.now() - this.o.t0;
  }

  private onRss(t: number, rss: number): void {
    if (this.lastRssT !== null) this.intervals.push(t - this.lastRssT);
    this.lastRssT = t;
    this.lastRss = rss;
    this.o.onSample({
      tMs: round(t), phase: this.o.phaseAt(t), source: 'statm', rssBytes: rss,
      smapsRssBytes: null, privateDirtyBytes: null, lazyfreeBytes: null,
      liveRequestBytes: null, liveRequestCount: null, liveResponseBytes: null, liveResponseCount: null,
      allocAllocatedBytes: null, allocFreeBytes: null, allocUnmappedBytes: null,
      leakedRequestBytes: null, liveLogBytes: null, policyReleases: null, statsUs: null,
    });
  }

  /** One admin stats sample (with smaps_rollup when `withSmaps`); skipped while the
   * previous one is in flight. */
  async sampleStats(withSmaps = true): Promise<void> {
    if (this.statsInFlight) return;
    this.statsInFlight = true;
    try {
      const t = this.now();
      const phase = this.o.phaseAt(t);
      const [smaps, st] = await Promise.all([
        withSmaps ? readSmapsRollupAsync(this.o.pid) : Promise.resolve(null),
        this.o.admin ? this.o.admin.command<Record<string, unknown>>('stats-counters', 5_000) : Promise.resolve({} as Record<string, unknown>),
      ]);
      const alloc = (st.alloc ?? {}) as Record<string, unknown>;
      this.o.onSample({
        tMs: round(t), phase, source: 'stats',
        rssBytes: num(st.rss_bytes) ?? smaps?.rssBytes ?? 0,
        smapsRssBytes: smaps?.rssBytes ?? null,
        privateDirtyBytes: smaps?.privateDirtyBytes ?? null,
        lazyfreeBytes: smaps?.lazyfreeBytes ?? null,
        liveRequestBytes: num(st.live_request_bytes),
        liveRequestCount: num(st.live_request_count),
        liveResponseBytes: num(st.live_response_bytes),
        liveResponseCount: num(st.live_response_count),
        allocAllocatedBytes: num(alloc.allocated_bytes),
        allocFreeBytes: num(alloc.free_bytes),
        allocUnmappedBytes: num(alloc.unmapped_bytes),
        leakedRequestBytes: num(st.leaked_request_bytes),
        liveLogBytes: num(st.live_log_bytes),
        policyReleases: num(st.policy_releases),
        statsUs: num(st.stats_us),
      });
    } catch {
      // The relay is going away (end of trial) or busy; the runner notices real failures.
    } finally {
      this.statsInFlight = false;
    }
  }

  /** smaps_rollup alone (counters polling off): a stats row with no relay counters. */
  private async sampleSmaps(): Promise<void> {
    const t = this.now();
    const smaps = await readSmapsRollupAsync(this.o.pid);
    if (!smaps || this.stopped) return;
    this.o.onSample({
      tMs: round(t), phase: this.o.phaseAt(t), source: 'stats', rssBytes: smaps.rssBytes,
      smapsRssBytes: smaps.rssBytes, privateDirtyBytes: smaps.privateDirtyBytes, lazyfreeBytes: smaps.lazyfreeBytes,
      liveRequestBytes: null, liveRequestCount: null, liveResponseBytes: null, liveResponseCount: null,
      allocAllocatedBytes: null, allocFreeBytes: null, allocUnmappedBytes: null,
      leakedRequestBytes: null, liveLogBytes: null, policyReleases: null, statsUs: null,
    });
  }

  /** CPU time the native sampler used (it is part of the harness's cost). */
  nativeCpuMs = 0;

  /** Stops both loops; the native sampler prints what it still holds before it exits. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.native && !this.native.exit) this.nativeCpuMs = readCpuMs(this.native.pid) ?? 0;
    await this.native?.stop();
  }
}

function round(t: number): number {
  return Math.round(t * 10) / 10;
}
