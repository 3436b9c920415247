// Metrics on a hand-built trace (a fake trace: pure logic, no process involved).
import { describe, expect, it } from 'vitest';
import { lateGrowthShare, phaseSpans, rssAt, summarize, trialMetrics } from '../../../harness/analysis/metrics.js';
import { cv, median, quantile } from '../../../harness/analysis/stats.js';
import type { Sample, Trace } from '../../../harness/core/types.js';

const MiB = 1024 * 1024;

function statm(tMs: number, rssMiB: number, phase = 'x'): Sample {
  return {
    tMs, phase, source: 'statm', rssBytes: rssMiB * MiB, smapsRssBytes: null, privateDirtyBytes: null, lazyfreeBytes: null,
    liveRequestBytes: null, liveRequestCount: null, liveResponseBytes: null, liveResponseCount: null,
    allocAllocatedBytes: null, allocFreeBytes: null, allocUnmappedBytes: null,
    leakedRequestBytes: null, liveLogBytes: null, policyReleases: null, statsUs: null,
  };
}

function stats(tMs: number, liveMiB: number, allocatedMiB: number | null): Sample {
  return { ...statm(tMs, 0), source: 'stats', liveRequestBytes: liveMiB * MiB, liveResponseBytes: 0, allocAllocatedBytes: allocatedMiB === null ? null : allocatedMiB * MiB };
}

/** baseline 0-1000 ms at 10 MiB; burst to 500 MiB; idle at 410 MiB; release at 3000 ms -> 20 MiB. */
function fakeTrace(overrides: Partial<Trace> = {}): Trace {
  const samples: Sample[] = [];
  for (let t = 0; t < 4000; t += 10) {
    const rss = t < 1000 ? 10 : t < 2000 ? 10 + (490 * (t - 1000)) / 1000 : t < 2100 ? 500 : t < 3000 ? 410 : t < 3050 ? 200 : 20;
    samples.push(statm(t, rss));
  }
  samples.push(stats(1500, 240, 250), stats(1990, 480, null), stats(2500, 0, 1));
  return {
    scenario: 'burst', variant: 'tcmalloc', allocator: 'tcmalloc', trial: 1, status: 'complete',
    samples,
    events: [
      { type: 'phase', tMs: 0, name: 'baseline', index: 0 },
      { type: 'phase', tMs: 1000, name: 'burst', index: 1 },
      { type: 'phase', tMs: 2000, name: 'idle', index: 2 },
      { type: 'phase', tMs: 3000, name: 'after-release', index: 3 },
      { type: 'release', tMs: 3000, ok: true, releaseMs: 41.5, rssBeforeBytes: 410 * MiB, rssAfterBytes: 20 * MiB, call: 'ReleaseFreeMemory()' },
      { type: 'end', tMs: 4000 },
    ],
    phases: [
      { name: 'baseline', durationMs: 1000, sent: 100, completed: 100, errors: 0, throughputRps: 100, p50Us: 250, p99Us: 900 },
      { name: 'idle', durationMs: 1000, sent: 0, completed: 0, errors: 0, throughputRps: 0, p50Us: null, p99Us: null },
    ],
    vmHwmBytes: 501 * MiB,
    schedule: [
      { name: 'baseline', durationMs: 1000, actions: [] },
      { name: 'burst', durationMs: 1000, actions: [] },
      { name: 'idle', durationMs: 1000, actions: [] },
      { name: 'after-release', durationMs: 1000, actions: ['release'] },
    ],
    ...overrides,
  };
}

describe('trialMetrics on a fake trace', () => {
  const m = trialMetrics(fakeTrace());
  it('reads the RSS levels at the ends of the right phases', () => {
    expect(m.baselineRss).toBe(10 * MiB);
    expect(m.peakRss).toBe(500 * MiB);
    expect(m.vmHwm).toBe(501 * MiB);
    expect(m.retainedRss).toBe(410 * MiB);
    expect(m.releasedRss).toBe(20 * MiB);
    expect(m.releaseMs).toBe(41.5);
    expect(m['rssEnd.baseline']).toBe(10 * MiB);
    expect(m['rssEnd.idle']).toBe(410 * MiB);
    expect(m['rssEnd.after-release']).toBe(20 * MiB);
  });
  it('computes the ratios of docs/metrics.md', () => {
    expect(m.retention).toBeCloseTo(400 / 490, 10);
    expect(m.releaseEfficiency).toBeCloseTo(390 / 400, 10);
  });
  it('takes peaks from the stats samples, ignoring unknown counters', () => {
    expect(m.peakLive).toBe(480 * MiB);
    expect(m.peakAllocated).toBe(250 * MiB);
  });
  it('adds per-phase load metrics only for phases that had load', () => {
    expect(m['throughput.baseline']).toBe(100);
    expect(m['p50.baseline']).toBe(0.25);
    expect(m['p99.baseline']).toBe(0.9);
    expect(m).not.toHaveProperty('throughput.idle');
  });
  it('has no release metrics without a release', () => {
    const t = fakeTrace();
    t.events = t.events.filter((e) => e.type !== 'release');
    const n = trialMetrics(t);
    expect(n.releasedRss).toBeNull();
    expect(n.releaseEfficiency).toBeNull();
    expect(n.releaseMs).toBeNull();
    expect(n.retainedRss).toBe(20 * MiB);  // the end of the trace
  });
  it('computes nothing from a failed release, but still ends the idle window at it', () => {
    const t = fakeTrace();
    t.events = t.events.map((e) => (e.type === 'release'
      ? { ...e, ok: false, releaseMs: 0.1, error: 'release failed: mallctl("arena.4095.purge") returned 2 (No such file or directory)' }
      : e));
    const n = trialMetrics(t);
    expect(n.releasedRss).toBeNull();
    expect(n.releaseEfficiency).toBeNull();
    expect(n.releaseMs).toBeNull();
    expect(n.retainedRss).toBe(410 * MiB);  // RSS before the attempt, as with a release that worked
    expect(n.retention).toBeCloseTo(400 / 490, 10);
  });
  it('gives null ratios when nothing grew', () => {
    const flat = fakeTrace({ samples: [statm(0, 10), statm(1500, 10), statm(3500, 10)] });
    const n = trialMetrics(flat);
    expect(n.retention).toBeNull();
    expect(n.releaseEfficiency).toBeNull();
  });
});

describe('rssAt and phaseSpans', () => {
  it('takes the median of the window before the end, or the last sample before it', () => {
    const s = [statm(0, 1), statm(100, 5), statm(110, 7), statm(120, 100)];
    expect(rssAt(s, 125, 30)).toBe(7 * MiB);
    expect(rssAt(s, 50, 20)).toBe(1 * MiB);
    expect(rssAt(s, 0, 20)).toBeNull();
  });
  it('ends each phase where the next starts, the last at the end of the trace', () => {
    const spans = phaseSpans(fakeTrace());
    expect(spans.get('burst')).toEqual({ start: 1000, end: 2000 });
    expect(spans.get('after-release')).toEqual({ start: 3000, end: 4000 });
  });
});

describe('summarize', () => {
  it('gives median, min and max across complete trials only', () => {
    const traces = [fakeTrace({ trial: 1 }), fakeTrace({ trial: 2 }), fakeTrace({ trial: 3, status: 'failed', error: 'relay crashed' })];
    const metrics = [{ peakRss: 100, releaseMs: 1 }, { peakRss: 300, releaseMs: null }, { peakRss: 999, releaseMs: 5 }];
    const row = summarize(traces, metrics);
    expect(row.trials).toBe(2);
    expect(row.failedTrials).toBe(1);
    expect(row.metrics.peakRss).toEqual({ median: 200, min: 100, max: 300 });
    expect(row.metrics.releaseMs).toEqual({ median: 1, min: 1, max: 1 });
    expect(Object.keys(row.metrics)).toEqual(['peakRss', 'releaseMs']);
  });
});

describe('stats', () => {
  it('median, quantile and cv on known values', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeNull();
    expect(quantile([1, 2, 3, 4, 5], 0.99)).toBeCloseTo(4.96);
    expect(cv([10, 10, 10])).toBe(0);
    expect(cv([9, 11])).toBeCloseTo(0.1);
  });
});

describe('leak metrics on a fake trace', () => {
  it('measures held-byte growth between quiet points and divides by the requests served', () => {
    const t = fakeTrace();
    const held = (tMs: number, inFlightMiB: number, leakedMiB: number): Sample => ({
      ...stats(tMs, inFlightMiB, null), leakedRequestBytes: leakedMiB * MiB, liveLogBytes: 0,
    });
    t.samples = t.samples.filter((s) => s.source === 'statm');
    t.samples.push(held(900, 1, 0), held(1500, 100, 10), held(2900, 0, 30));
    t.events.push(
      { type: 'load', tMs: 1000, phase: 'baseline', sent: 1000, completed: 1000, errors: 0, inFlight: 8, intervalCompleted: 10, p50Us: 1, p99Us: 1 },
      { type: 'load', tMs: 2950, phase: 'idle', sent: 11000, completed: 11000, errors: 0, inFlight: 0, intervalCompleted: 0, p50Us: null, p99Us: null },
    );
    const m = trialMetrics(t);
    expect(m.liveAfter).toBe(30 * MiB);
    expect(m.liveGrowth).toBe(29 * MiB);
    expect(m.requestsServed).toBe(10000);
    expect(m.leakSlope).toBeCloseTo((29 * MiB) / 10000, 6);
    expect(m.peakLive).toBe(110 * MiB);
  });
});

describe('lateGrowthShare', () => {
  const sample = (tMs: number, leaked: number, inFlight: number): Sample => ({
    tMs, phase: 'p', source: 'stats', rssBytes: 0, smapsRssBytes: null, privateDirtyBytes: null, lazyfreeBytes: null,
    liveRequestBytes: inFlight, liveRequestCount: null, liveResponseBytes: 0, liveResponseCount: null,
    allocAllocatedBytes: null, allocFreeBytes: null, allocUnmappedBytes: null, leakedRequestBytes: leaked, liveLogBytes: 0,
    policyReleases: null, statsUs: null,
  });
  const series = (f: (t: number) => number, inFlight: (t: number) => number = () => 0) =>
    Array.from({ length: 101 }, (_, i) => sample(i * 10, f(i * 10), inFlight(i * 10)));
  it('is about half for growth that goes on, near 0 for growth that levelled off, 0 for none', () => {
    expect(lateGrowthShare(series((t) => t * 1000), 0, 1000)).toBeCloseTo(0.5, 1);
    expect(lateGrowthShare(series((t) => Math.min(t, 200) * 1000), 0, 1000)).toBe(0);
    expect(lateGrowthShare(series(() => 5), 0, 1000)).toBe(0);
  });
  it('ignores requests in flight (a backlog that builds and drains)', () => {
    expect(lateGrowthShare(series((t) => t * 1000, (t) => (t < 600 ? t * 1e6 : 0)), 0, 1000)).toBeCloseTo(0.5, 1);
  });
});

describe('growth per repetition (a fake target trace: load commands, fill then clear, three times)', () => {
  /** The program's in-use bytes (allocator count) at the end of each 1 s phase: baseline,
   * then fill-k/clear-k for k = 1..3; `inUse` lists them in phase order. */
  function repeated(inUseMiB: number[]): Trace {
    const names = ['baseline', 'fill-1', 'clear-1', 'fill-2', 'clear-2', 'fill-3', 'clear-3'];
    const samples: Sample[] = [];
    names.forEach((_, i) => {
      samples.push(statm(i * 1000 + 500, 100));
      samples.push({ ...statm(i * 1000 + 900, 0), source: 'stats', allocAllocatedBytes: inUseMiB[i]! * MiB });
    });
    return fakeTrace({
      samples,
      events: [...names.map((name, index) => ({ type: 'phase' as const, tMs: index * 1000, name, index })), { type: 'end', tMs: 7000 }],
      phases: [],
      schedule: names.map((name, i) => ({ name, durationMs: 1000, actions: [], ...(i > 0 ? { repetition: Math.ceil(i / 2) } : {}) })),
    });
  }
  it('a leak keeps growing from one repetition to the next: two thirds of its growth after the first', () => {
    // 4 MiB at baseline; each fill adds 100 MiB of which clear keeps 50 (a reachable leak).
    const m = trialMetrics(repeated([4, 104, 54, 154, 104, 204, 154]));
    expect(m.repetitions).toBe(3);
    expect([m['inUseEnd.1'], m['inUseEnd.2'], m['inUseEnd.3']]).toEqual([54 * MiB, 104 * MiB, 154 * MiB]);
    expect(m.repeatGrowthShare).toBeCloseTo(100 / 150, 10);
  });
  it('a pool levels off after the first repetition: its second and third fills add a few MiB', () => {
    // The pool keeps 300 MiB after the first clear; later fills reuse it, adding 5 MiB each.
    const m = trialMetrics(repeated([4, 304, 304, 309, 309, 314, 314]));
    expect(m.repeatGrowthShare).toBeCloseTo(10 / 310, 10);
  });
  it('what was freed every time grew nothing: 0; one repetition or no count: null', () => {
    expect(trialMetrics(repeated([4, 304, 4, 304, 4, 304, 4])).repeatGrowthShare).toBe(0);
    const single = fakeTrace();
    expect([trialMetrics(single).repetitions, trialMetrics(single).repeatGrowthShare]).toEqual([null, null]);
  });
});

describe('phase-end levels never reach into the phase before', () => {
  it('a 60 ms phase after a long one reads its own samples only', () => {
    // The fill phase lasts 60 ms at 300 MiB; a 200 ms window would take 14 samples of the
    // 3 MiB baseline before it and 6 of its own, and read 3 MiB.
    const samples: Sample[] = [];
    for (let t = 0; t < 1000; t += 10) samples.push(statm(t, 3));
    for (let t = 1000; t < 1500; t += 10) samples.push(statm(t, 300));
    const m = trialMetrics(fakeTrace({
      samples,
      events: [{ type: 'phase', tMs: 0, name: 'baseline', index: 0 }, { type: 'phase', tMs: 1000, name: 'fill', index: 1 }, { type: 'phase', tMs: 1060, name: 'idle', index: 2 }, { type: 'end', tMs: 1500 }],
      phases: [],
      schedule: [{ name: 'baseline', durationMs: 1000, actions: [] }, { name: 'fill', durationMs: 60, actions: [] }, { name: 'idle', durationMs: 440, actions: [] }],
    }));
    expect(m['rssEnd.fill']).toBe(300 * MiB);
    expect(m['rssEnd.baseline']).toBe(3 * MiB);
  });
});
