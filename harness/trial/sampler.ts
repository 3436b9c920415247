// Samples the subject from outside. The native `sampler` (native/src/sampler_main.cc)
// does all the periodic work, off the harness's event loop: RSS from /proc/<pid>/statm
// every 10 ms on an absolute clock, the admin port's `stats-counters` every 100 ms, and
// /proc/<pid>/smaps_rollup every 500 ms on a thread of its own; it prints them in one
// write every 500 ms. Node wakes twice a second for all of it: a Node timer loop and a
// round trip per poll cost 5-10% of a core (npm run bench -- harness, docs/benches.md).
// Each sample goes to `onSample` as its batch arrives (the runner streams it to disk).
//
// The counters poll is the one part of sampling that runs inside the relay. Its reply is
// built without allocating (native/src/admin.cc), because allocator activity drives
// jemalloc's decay and tcmalloc's release: an idle phase must be idle. `statsPolling:
// false` (lab run --no-stats-poll) leaves only the outside reads and one counters sample
// at the end; `npm run bench -- observer` compares the two (docs/native.md).
//
// Why smaps_rollup is read less often, and on its own thread: the kernel walks every
// page table of the relay to answer it, under the relay's mmap lock. At the burst's peak
// (~450 MiB) one read takes 5-20 ms (npm run bench -- harness); every 100 ms that would
// block the relay's mmap/munmap 5-20% of the time, and stall the 10 ms statm samples.
import { closeSync, openSync, readSync } from 'node:fs';
import { PAGE_SIZE, type SmapsRollup, readSmapsRollup, readStatmRss, readThreadsCpuMs } from '../core/proc.js';
import type { AdminClient } from '../subjects/protocol/client.js';
import { binaryPath } from '../core/paths.js';
import { type NativeProcess, describeExit, spawnNative } from '../core/procs.js';
import type { Sample } from '../core/types.js';

export const RSS_INTERVAL_MS = 10;
export const STATS_INTERVAL_MS = 100;
export const SMAPS_INTERVAL_MS = 500;
/** How often the native sampler hands its samples over (one wake-up of Node each). */
export const BATCH_MS = 1000;
const INTERVALS_KEPT = 20_000;
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export interface SamplerOptions {
  pid: number;
  /** The admin channel (the relay's, or a probe's): the native sampler polls its port for
   * stats-counters; null: RSS and smaps_rollup only (a target without probe). */
  admin: AdminClient | null;
  t0: number;  // performance.now() at the trial's start
  monoT0Us: number;  // CLOCK_MONOTONIC (process.hrtime) in µs at the same moment
  /** The phase the trial was in at `tMs` (samples arrive in batches, up to BATCH_MS late). */
  phaseAt: (tMs: number) => string;
  onSample: (s: Sample) => void;
  /** Ask for stats-counters every STATS_INTERVAL_MS (default true). */
  statsPolling?: boolean;
}

/** A statm row: RSS only, every counter null. The runner keeps these as columns
 * (core/rss-series.ts), so the row lives only until it is written. */
function statmSample(tMs: number, phase: string, rssBytes: number): Sample {
  return {
    tMs, phase, source: 'statm', rssBytes,
    smapsRssBytes: null, privateDirtyBytes: null, lazyfreeBytes: null,
    liveRequestBytes: null, liveRequestCount: null, liveResponseBytes: null, liveResponseCount: null,
    allocAllocatedBytes: null, allocFreeBytes: null, allocUnmappedBytes: null,
    leakedRequestBytes: null, liveLogBytes: null, policyReleases: null, statsUs: null,
  };
}

/** A stats row of smaps_rollup alone (no relay counters). */
function smapsSample(tMs: number, phase: string, smaps: SmapsRollup): Sample {
  return { ...statmSample(round(tMs), phase, smaps.rssBytes), source: 'stats', smapsRssBytes: smaps.rssBytes, privateDirtyBytes: smaps.privateDirtyBytes, lazyfreeBytes: smaps.lazyfreeBytes };
}


/** A stats row from one stats-counters reply (and smaps_rollup, when read with it). */
export function statsSample(tMs: number, phase: string, st: Record<string, unknown>, smaps: SmapsRollup | null): Sample {
  const alloc = (st.alloc ?? {}) as Record<string, unknown>;
  return {
    tMs: round(tMs), phase, source: 'stats',
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
  };
}

/** What the runner needs of an observer: the native Sampler, or a fake in unit tests. */
export interface Observer {
  start(): Promise<void>;
  /** The subject's RSS now. */
  readonly lastRss: number;
  /** One counters sample taken now (the trial's last). */
  sampleStats(): Promise<void>;
  /** Stops observing; resolves with what was lost, or null. */
  stop(): Promise<string | null>;
  readonly intervals: number[];
  readonly nativeCpuMs: number;
}

export class Sampler implements Observer {
  private statsInFlight = false;
  private stopped = false;
  private lastRssT: number | null = null;
  private native: NativeProcess | undefined;
  /** Actual gaps between consecutive statm samples, for the harness bench: a uniform
   * random sample of at most INTERVALS_KEPT of them (reservoir), so an hour-long trial
   * does not grow the harness by 360,000 numbers. */
  readonly intervals: number[] = [];
  private intervalsSeen = 0;
  /** Why the native sampler stopped polling the admin port, if it did. */
  adminError: string | null = null;

  constructor(private readonly o: SamplerOptions) {}

  /** Starts the native sampler; resolves once it is reading. */
  async start(): Promise<void> {
    const polling = (this.o.statsPolling ?? true) && this.o.admin !== null;
    this.native = spawnNative('sampler', binaryPath('sampler'), [
      '--pid', String(this.o.pid), '--interval-ms', String(RSS_INTERVAL_MS), '--batch-ms', String(BATCH_MS),
      '--smaps-ms', String(SMAPS_INTERVAL_MS),
      ...(polling ? ['--admin-port', String(this.o.admin!.port), '--stats-ms', String(STATS_INTERVAL_MS)] : []),
    ]);
    const ms = (tUs: unknown) => (Number(tUs) - this.o.monoT0Us) / 1000;
    this.native.onJson((line) => {
      if (line.type === 'rss' && Array.isArray(line.samples)) {
        for (const [tUs, rss] of line.samples as Array<[number, number]>) this.onRss(ms(tUs), rss);
      } else if (line.type === 'stats' && line.reply && typeof line.reply === 'object') {
        const t = ms(line.t_us);
        this.o.onSample(statsSample(t, this.o.phaseAt(t), line.reply as Record<string, unknown>, null));
      } else if (line.type === 'smaps') {
        const t = ms(line.t_us);
        this.o.onSample(smapsSample(t, this.o.phaseAt(t), { rssBytes: Number(line.rss), privateDirtyBytes: Number(line.private_dirty), lazyfreeBytes: Number(line.lazyfree) }));
      } else if (line.type === 'admin-error') {
        this.adminError ??= String(line.message);
      }
    });
    await this.native.waitReady();
  }

  private now(): number {
    return performance.now() - this.o.t0;
  }

  /** The subject's RSS now, read directly (the batches arrive up to BATCH_MS late): one
   * pread on a descriptor kept open, as the progress view asks ten times a second. */
  get lastRss(): number {
    if (this.stopped) return readStatmRss(this.o.pid) ?? 0;
    try {
      this.statmFd ??= openSync(`/proc/${this.o.pid}/statm`, 'r');
      const n = readSync(this.statmFd, this.statmBuf, 0, this.statmBuf.length, 0);
      const text = this.statmBuf.toString('latin1', 0, n);
      return Number(text.slice(text.indexOf(' ') + 1, text.indexOf(' ', text.indexOf(' ') + 1))) * PAGE_SIZE || 0;
    } catch {
      return 0;
    }
  }

  private statmFd: number | undefined;
  private readonly statmBuf = Buffer.alloc(128);

  private onRss(t: number, rss: number): void {
    if (this.lastRssT !== null) {
      const gap = t - this.lastRssT;
      const seen = this.intervalsSeen++;
      if (seen < INTERVALS_KEPT) this.intervals.push(gap);
      else {
        const slot = Math.floor(Math.random() * (seen + 1));
        if (slot < INTERVALS_KEPT) this.intervals[slot] = gap;
      }
    }
    this.lastRssT = t;
    this.o.onSample(statmSample(round(t), this.o.phaseAt(t), rss));
  }

  /** One stats sample taken now by the harness itself, with smaps_rollup (the trial's
   * last); skipped while another is in flight. */
  async sampleStats(): Promise<void> {
    if (this.statsInFlight || !this.o.admin) return;
    this.statsInFlight = true;
    try {
      const t = this.now();
      const phase = this.o.phaseAt(t);
      const st = await this.o.admin.command<Record<string, unknown>>('stats-counters', 5_000);
      this.o.onSample(statsSample(t, phase, st, readSmapsRollup(this.o.pid)));
    } catch {
      // The relay is going away (end of trial) or busy; the runner notices real failures.
    } finally {
      this.statsInFlight = false;
    }
  }

  /** CPU time the native sampler used (it is part of the harness's cost). */
  nativeCpuMs = 0;

  /** Stops the native sampler, which prints what it still holds before it exits. Resolves
   * null when it did, else what was lost: a sampler that had already exited stopped
   * sampling early, and one killed after the stop's grace period took its last batch
   * (up to --batch-ms of samples) with it. */
  async stop(): Promise<string | null> {
    if (this.stopped) return null;
    this.stopped = true;
    if (this.statmFd !== undefined) closeSync(this.statmFd);
    this.statmFd = undefined;
    if (!this.native) return null;
    const early = this.native.exit;
    if (!early) this.nativeCpuMs = readThreadsCpuMs(this.native.pid) ?? 0;
    const e = await this.native.stop();
    if (early) return `the sampler stopped before the trial ended (${describeExit(early)}): the RSS samples after it are missing`;
    if (e.code !== 0) return `the sampler did not stop cleanly (${describeExit(e)}): its last batch of RSS samples is lost`;
    return null;
  }
}

function round(t: number): number {
  return Math.round(t * 10) / 10;
}
