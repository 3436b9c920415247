// Samples the relay from outside: RSS from /proc/<pid>/statm every 10 ms; the relay's
// admin `stats-counters` every 100 ms; /proc/<pid>/smaps_rollup every 500 ms. Each sample
// goes to `onSample` as it is taken (the runner streams it to disk).
//
// Why smaps_rollup is read less often, and off the main thread: the kernel walks every
// page table of the relay to answer it, under the relay's mmap lock. At the burst's peak
// (~450 MiB) one read takes ~5 ms (npm run bench -- harness); every 100 ms that is 5% of
// the time with the relay's mmap/munmap blocked, and a 5 ms stall of the 10 ms sampler.
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { AdminClient } from './native/client.js';
import type { Sample } from './types.js';

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

/** Keeps /proc/<pid>/statm open and re-reads it with one pread per sample (instead of
 * open + read + close): the 10 ms loop's cost is one syscall. */
export class StatmReader {
  private fd: number | null;
  private readonly buf = Buffer.alloc(256);
  constructor(pid: number) {
    try {
      this.fd = openSync(`/proc/${pid}/statm`, 'r');
    } catch {
      this.fd = null;
    }
  }
  rssBytes(): number | null {
    if (this.fd === null) return null;
    try {
      const n = readSync(this.fd, this.buf, 0, this.buf.length, 0);
      const text = this.buf.toString('latin1', 0, n);
      const resident = Number(text.split(' ')[1]);
      return n > 0 && Number.isFinite(resident) ? resident * PAGE_SIZE : null;
    } catch {
      return null;  // the process has exited
    }
  }
  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
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
  admin: AdminClient;
  t0: number;  // performance.now() at the trial's start
  phase: () => string;
  onSample: (s: Sample) => void;
}

export class Sampler {
  private timer: NodeJS.Timeout | undefined;
  private tick = 0;
  private statsInFlight = false;
  private stopped = false;
  private lastRssT: number | null = null;
  /** Actual gaps between consecutive statm samples, for the harness bench. */
  readonly intervals: number[] = [];
  lastRss = 0;

  constructor(private readonly o: SamplerOptions) {}

  private statm: StatmReader | undefined;

  start(): void {
    this.statm = new StatmReader(this.o.pid);
    const start = performance.now();
    const loop = () => {
      if (this.stopped) return;
      this.sampleRss();
      if (this.tick % (STATS_INTERVAL_MS / RSS_INTERVAL_MS) === 0) void this.sampleStats(this.tick % (SMAPS_INTERVAL_MS / RSS_INTERVAL_MS) === 0);
      this.tick += 1;
      const next = start + this.tick * RSS_INTERVAL_MS;
      this.timer = setTimeout(loop, Math.max(0, next - performance.now()));
    };
    loop();
  }

  private now(): number {
    return performance.now() - this.o.t0;
  }

  private sampleRss(): void {
    const rss = this.statm?.rssBytes() ?? null;
    if (rss === null) return;
    const t = this.now();
    if (this.lastRssT !== null) this.intervals.push(t - this.lastRssT);
    this.lastRssT = t;
    this.lastRss = rss;
    this.o.onSample({
      tMs: round(t), phase: this.o.phase(), source: 'statm', rssBytes: rss,
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
      const phase = this.o.phase();
      const [smaps, st] = await Promise.all([
        withSmaps ? readSmapsRollupAsync(this.o.pid) : Promise.resolve(null),
        this.o.admin.command<Record<string, unknown>>('stats-counters', 5_000),
      ]);
      const alloc = (st.alloc ?? {}) as Record<string, unknown>;
      this.o.onSample({
        tMs: round(t), phase, source: 'stats',
        rssBytes: num(st.rss_bytes) ?? 0,
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

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.statm?.close();
    this.statm = undefined;
  }
}

function round(t: number): number {
  return Math.round(t * 10) / 10;
}
