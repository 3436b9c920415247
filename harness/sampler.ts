// Samples the relay from outside: RSS from /proc/<pid>/statm every 10 ms, and every
// 100 ms /proc/<pid>/smaps_rollup plus the relay's admin `stats`. Each sample goes to
// `onSample` as it is taken (the runner streams it to disk).
import { readFileSync } from 'node:fs';
import type { AdminClient } from './native/client.js';
import type { Sample } from './types.js';

export const RSS_INTERVAL_MS = 10;
export const STATS_INTERVAL_MS = 100;
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

/** VmHWM (the kernel's RSS high-water mark) from /proc/<pid>/status. */
export function readVmHwm(pid: number): number | null {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

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

  start(): void {
    const start = performance.now();
    const loop = () => {
      if (this.stopped) return;
      this.sampleRss();
      if (this.tick % (STATS_INTERVAL_MS / RSS_INTERVAL_MS) === 0) void this.sampleStats();
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
    const rss = readStatmRss(this.o.pid);
    if (rss === null) return;
    const t = this.now();
    if (this.lastRssT !== null) this.intervals.push(t - this.lastRssT);
    this.lastRssT = t;
    this.lastRss = rss;
    this.o.onSample({
      tMs: round(t), phase: this.o.phase(), source: 'statm', rssBytes: rss,
      smapsRssBytes: null, privateDirtyBytes: null, lazyfreeBytes: null,
      liveRequestBytes: null, liveRequestCount: null, liveResponseBytes: null, liveResponseCount: null,
      allocAllocatedBytes: null, allocFreeBytes: null, allocUnmappedBytes: null, statsUs: null,
    });
  }

  /** One smaps_rollup + admin stats sample; skipped while the previous one is in flight. */
  async sampleStats(): Promise<void> {
    if (this.statsInFlight) return;
    this.statsInFlight = true;
    try {
      const t = this.now();
      const phase = this.o.phase();
      const smaps = readSmapsRollup(this.o.pid);
      const st = await this.o.admin.command<Record<string, unknown>>('stats', 5_000);
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
  }
}

function round(t: number): number {
  return Math.round(t * 10) / 10;
}
