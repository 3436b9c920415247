// Metrics on a hand-built trace (a fake trace: pure logic, no process involved).
import { describe, expect, it } from 'vitest';
import { heldBytes, lateGrowthShare, metricUnit, phaseSpans, rssAt, summarize, summarizeTrials, trialMetrics } from '../../../harness/analysis/metrics.js';
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
  // Computed in each test, not once for the file: a value computed while the file is
  // collected would not see a mutant (Stryker activates it per test).
  it('reads the RSS levels at the ends of the right phases', () => {
    const m = trialMetrics(fakeTrace());
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
    const m = trialMetrics(fakeTrace());
    expect(m.retention).toBeCloseTo(400 / 490, 10);
    expect(m.releaseEfficiency).toBeCloseTo(390 / 400, 10);
  });
  it('takes peaks from the stats samples, ignoring unknown counters', () => {
    const m = trialMetrics(fakeTrace());
    expect(m.peakLive).toBe(480 * MiB);
    expect(m.peakAllocated).toBe(250 * MiB);
  });
  it('adds per-phase load metrics only for phases that had load', () => {
    const m = trialMetrics(fakeTrace());
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

/** A stats sample (a fake) with the relay's counts in MiB; `null` leaves a counter out. */
function counts(tMs: number, c: { req?: number | null; resp?: number | null; leaked?: number | null; log?: number | null; alloc?: number | null; policy?: number | null }): Sample {
  const b = (x: number | null | undefined) => (x === null || x === undefined ? null : x * MiB);
  return {
    ...statm(tMs, 0), source: 'stats', rssBytes: null as unknown as number,
    liveRequestBytes: b(c.req), liveResponseBytes: b(c.resp), leakedRequestBytes: b(c.leaked), liveLogBytes: b(c.log),
    allocAllocatedBytes: b(c.alloc), policyReleases: c.policy ?? null,
  };
}

/** A fake trace for the edges of every window: RSS sampled every 100 ms, rising 1 MiB per
 * sample (t = 0: 1 MiB ... t = 4900: 50 MiB), so moving a window by one sample changes its
 * median. Phases: baseline 0, load 1000, idle 2000, after-release 3000 (release at 3000),
 * cooldown 4000; end at 5000. */
function steppedTrace(overrides: Partial<Trace> = {}): Trace {
  const samples: Sample[] = [];
  for (let t = 0; t < 5000; t += 100) samples.push(statm(t, 1 + t / 100));
  return {
    scenario: 's', variant: 'glibc', allocator: 'glibc', trial: 1, status: 'complete', samples,
    events: [
      { type: 'phase', tMs: 0, name: 'baseline', index: 0 },
      { type: 'phase', tMs: 1000, name: 'load', index: 1 },
      { type: 'phase', tMs: 2000, name: 'idle', index: 2 },
      { type: 'phase', tMs: 3000, name: 'after-release', index: 3 },
      { type: 'phase', tMs: 4000, name: 'cooldown', index: 4 },
      { type: 'release', tMs: 3000, ok: true, releaseMs: 2, rssBeforeBytes: null, rssAfterBytes: null, call: 'malloc_trim(0)' },
      { type: 'end', tMs: 5000 },
    ],
    phases: [],
    vmHwmBytes: null,
    schedule: ['baseline', 'load', 'idle', 'after-release', 'cooldown'].map((name) => ({ name, durationMs: 1000, actions: [] })),
    ...overrides,
  };
}

describe('metricUnit', () => {
  it('gives each metric of docs/metrics.md its unit, per-phase metrics included', () => {
    expect(['peakRss', 'rssEnd.idle', 'releaseMs', 'p50.burst', 'p99.burst', 'throughput.burst', 'retention', 'requestsServed', 'leakSlope', 'relayCpuMs', 'policyReleases']
      .map((n) => metricUnit(n))).toEqual(['bytes', 'bytes', 'ms', 'ms', 'ms', 'rps', 'ratio', 'count', 'bytes/request', 'ms', 'count']);
    // Not in the table (repeatGrowthShare, a share): a ratio.
    expect(metricUnit('repeatGrowthShare')).toBe('ratio');
  });
});

describe('heldBytes', () => {
  it('is every byte the relay holds: requests, responses, leaked requests, log records', () => {
    expect(heldBytes(counts(0, { req: 1, resp: 2, leaked: 4, log: 8, alloc: 100 }))).toBe(15 * MiB);
    expect(heldBytes(counts(0, { req: 1 }))).toBe(1 * MiB);
  });
  it('is the allocator\'s in-use bytes for a subject without the relay\'s counts (a target)', () => {
    expect(heldBytes(counts(0, { alloc: 100 }))).toBe(100 * MiB);
    expect(heldBytes(counts(0, {}))).toBeNull();
  });
});

describe('phaseSpans: where the last phase ends', () => {
  const phases = [{ type: 'phase' as const, tMs: 0, name: 'a', index: 0 }, { type: 'phase' as const, tMs: 500, name: 'b', index: 1 }];
  it('at the end event, when there is one', () => {
    const t = steppedTrace({ samples: [statm(0, 1), statm(900, 1)], events: [...phases, { type: 'end', tMs: 1200 }] });
    expect(phaseSpans(t).get('b')).toEqual({ start: 500, end: 1200 });
  });
  it('else at the last sample of any kind, whatever other events say', () => {
    // An interrupted trial (a fake): the sampler stopped at 900 ms, the last stats sample came at 950 ms,
    // a release was logged at 1100 ms, and there is no end event.
    const t = steppedTrace({
      samples: [statm(0, 1), statm(900, 1), counts(950, { req: 0 })],
      events: [...phases, { type: 'release', tMs: 1100, ok: false, releaseMs: null, rssBeforeBytes: null, rssAfterBytes: null, call: null }],
    });
    expect(phaseSpans(t).get('a')).toEqual({ start: 0, end: 500 });
    expect(phaseSpans(t).get('b')).toEqual({ start: 500, end: 950 });
  });
  it('at the end event of a trace without samples', () => {
    expect(phaseSpans(steppedTrace({ samples: [], events: [...phases, { type: 'end', tMs: 700 }] })).get('b')).toEqual({ start: 500, end: 700 });
  });
});

describe('trialMetrics at the edges of its windows (a fake stepped trace)', () => {
  it('reads each RSS level from the 200 ms before its point, points included at a phase end', () => {
    const m = trialMetrics(steppedTrace());
    expect(m.baselineRss).toBe(9.5 * MiB);  // samples at 800 and 900 ms: 9 and 10 MiB
    expect(m.retainedRss).toBe(29.5 * MiB);  // before the release at 3000 ms: 2800 and 2900 ms
    expect(m.releasedRss).toBe(40.5 * MiB);  // the release's phase ends at 4000 ms: 3900 and 4000 ms
    expect(m['rssEnd.baseline']).toBe(10.5 * MiB);  // 900 and 1000 ms
    expect(m['rssEnd.cooldown']).toBe(50 * MiB);  // the trace ends at 5000 ms: 4900 ms alone
    expect(m.peakRss).toBe(50 * MiB);
    expect(m.retention).toBeCloseTo(20 / 40.5, 12);  // (29.5 - 9.5) / (50 - 9.5)
    expect(m.releaseEfficiency).toBeCloseTo(-11 / 20, 12);  // (29.5 - 40.5) / (29.5 - 9.5): RSS rose after it
    expect(m.releaseMs).toBe(2);
  });

  it('without a release, holds RSS at the trace\'s last sample, included', () => {
    const t = steppedTrace();
    t.events = t.events.filter((e) => e.type !== 'release');
    const m = trialMetrics(t);
    expect(m.retainedRss).toBe(49.5 * MiB);  // 4800 and 4900 ms
    expect([m.releasedRss, m.releaseEfficiency, m.releaseMs]).toEqual([null, null, null]);
  });

  it('takes the release\'s phase as the one that started at or before it, not the last phase', () => {
    const t = steppedTrace();
    t.events = t.events.map((e) => (e.type === 'release' ? { ...e, tMs: 2500 } : e));
    const m = trialMetrics(t);
    expect(m.retainedRss).toBe(24.5 * MiB);  // 2300 and 2400 ms
    expect(m.releasedRss).toBe(30.5 * MiB);  // the idle phase ends at 3000 ms: 2900 and 3000 ms
  });

  it('reads the program\'s counts from the last stats sample before the release, and at or before the baseline\'s end', () => {
    const t = steppedTrace();
    t.samples.push(
      counts(900, { req: 1, resp: 0, leaked: 0, log: 0, alloc: 100 }),
      counts(1000, { req: 2, resp: 1, leaked: 1, log: 1, alloc: 110 }),  // exactly at the baseline's end: counts
      counts(2950, { req: 3, resp: 2, leaked: 10, log: 5, alloc: 150 }),
      counts(2990, {}),  // a stats sample without counts: skipped
      counts(3000, { req: 50, resp: 50, leaked: 50, log: 50, alloc: 999 }),  // exactly at the release: after it
    );
    const m = trialMetrics(t);
    expect(m.liveAfter).toBe(20 * MiB);  // 3 + 2 + 10 + 5
    expect(m.liveGrowth).toBe(15 * MiB);  // 20 - (2 + 1 + 1 + 1)
    expect(m.inFlightAfter).toBe(5 * MiB);  // 3 + 2
    expect(m.inUseAfter).toBe(150 * MiB);
    expect(m.inUseGrowth).toBe(40 * MiB);  // 150 - 110
    expect(m.peakLive).toBe(200 * MiB);
    expect(m.peakAllocated).toBe(999 * MiB);
  });

  it('reads the counts at the last sample, included, when there was no release', () => {
    const t = steppedTrace();
    t.events = t.events.filter((e) => e.type !== 'release');
    t.samples.push(counts(1000, { req: 0, alloc: 10 }), counts(4800, { req: 1, alloc: 20 }), counts(4900, { req: 7, resp: 1, alloc: 30 }));
    const m = trialMetrics(t);
    expect([m.liveAfter, m.inFlightAfter, m.inUseAfter, m.inUseGrowth]).toEqual([8 * MiB, 8 * MiB, 30 * MiB, 20 * MiB]);
  });

  it('has no growth where the baseline has no count, and no slope without growth or requests', () => {
    const t = steppedTrace();
    t.samples.push(counts(2000, { req: 1, leaked: 40, alloc: 80 }));
    t.events.push(
      { type: 'load', tMs: 1000, phase: 'baseline', sent: 100, completed: 100, errors: 0, inFlight: 0, intervalCompleted: 0, p50Us: null, p99Us: null },
      { type: 'load', tMs: 2900, phase: 'idle', sent: 1100, completed: 1100, errors: 0, inFlight: 0, intervalCompleted: 0, p50Us: null, p99Us: null },
    );
    const m = trialMetrics(t);
    expect(m.liveAfter).toBe(41 * MiB);
    expect(m.requestsServed).toBe(1000);  // 1100 at the release, 100 at the baseline's end
    expect([m.liveGrowth, m.leakSlope, m.inUseGrowth]).toEqual([null, null, null]);
    // Counts at the baseline too, but no request completed after it: growth, and no slope.
    t.samples = [counts(500, { req: 0, leaked: 0, alloc: 0 }), ...t.samples];
    t.events = t.events.map((e) => (e.type === 'load' ? { ...e, completed: 100 } : e));
    const n = trialMetrics(t);
    expect([n.liveGrowth, n.requestsServed, n.leakSlope, n.inUseGrowth]).toEqual([41 * MiB, 0, null, 80 * MiB]);
  });

  it('has no request count without the load generator\'s ticks', () => {
    const m = trialMetrics(steppedTrace());
    expect([m.requestsServed, m.leakSlope, m.liveAfter, m.inUseAfter, m.inFlightAfter, m.policyReleases]).toEqual([null, null, null, null, null, null]);
  });

  it('takes the highest count of each kind, a sample of 0 included and one without counts skipped', () => {
    const t = steppedTrace();
    t.samples.push(counts(100, {}), counts(200, { req: 0, resp: 0, leaked: 0, log: 0, alloc: 0, policy: 0 }));
    expect([trialMetrics(t).peakLive, trialMetrics(t).peakAllocated, trialMetrics(t).policyReleases]).toEqual([0, 0, 0]);
    t.samples.push(counts(300, { req: 1, policy: 3 }), counts(400, { req: 1, policy: 2 }));
    expect(trialMetrics(t).policyReleases).toBe(3);
  });

  it('passes the relay\'s CPU time through, null when not measured', () => {
    expect(trialMetrics(steppedTrace({ relayCpuMs: 1234 })).relayCpuMs).toBe(1234);
    expect(trialMetrics(steppedTrace()).relayCpuMs).toBeNull();
  });
});

describe('trialMetrics: the baseline and missing RSS', () => {
  it('takes the phase named baseline wherever it is, else the first phase', () => {
    const t = steppedTrace();
    t.schedule = [{ name: 'load', durationMs: 1000, actions: [] }, { name: 'baseline', durationMs: 1000, actions: [] }];
    expect(trialMetrics(t).baselineRss).toBe(9.5 * MiB);  // baseline ends at 1000 ms
    t.schedule = [{ name: 'load', durationMs: 1000, actions: [] }, { name: 'idle', durationMs: 1000, actions: [] }];
    expect(trialMetrics(t).baselineRss).toBe(19.5 * MiB);  // load ends at 2000 ms: 1800 and 1900 ms
  });

  it('without a schedule there is no baseline: no baseline level, no ratio, no growth', () => {
    const t = steppedTrace({ schedule: [], phases: [{ name: 'load', durationMs: 1000, sent: 10, completed: 10, errors: 0, throughputRps: 10, p50Us: null, p99Us: null }] });
    t.samples.push(counts(500, { req: 0, leaked: 0 }), counts(1500, { req: 0, leaked: 5 }));
    const m = trialMetrics(t);
    expect([m.baselineRss, m.retention, m.releaseEfficiency, m.liveGrowth, m.lateGrowthShare]).toEqual([null, null, null, null, null]);
    expect(m.retainedRss).toBe(29.5 * MiB);
  });

  it('a release before the first RSS sample leaves no retained level, and no ratio from it', () => {
    // A fake trial whose sampler started late: the release at 50 ms came before its first sample.
    const t = steppedTrace();
    t.samples = t.samples.filter((s) => s.tMs >= 100);
    t.events = t.events.map((e) => (e.type === 'release' ? { ...e, tMs: 50 } : e));
    const m = trialMetrics(t);
    expect(m.retainedRss).toBeNull();
    expect(m.baselineRss).toBe(9.5 * MiB);
    expect(m.releasedRss).toBe(10.5 * MiB);  // the baseline phase holds the release: it ends at 1000 ms
    expect([m.retention, m.releaseEfficiency]).toEqual([null, null]);
    // Counts taken after that release (at 700 ms) say nothing of what was held before it.
    t.samples.push(counts(700, { req: 1, alloc: 5 }));
    const n = trialMetrics(t);
    expect([n.liveAfter, n.liveGrowth, n.inUseAfter, n.inUseGrowth]).toEqual([null, null, null, null]);
  });

  it('takes a peak of 0 bytes as a peak', () => {
    const t = steppedTrace();
    t.samples = t.samples.map((x) => ({ ...x, rssBytes: 0 }));
    expect(trialMetrics(t).peakRss).toBe(0);
  });

  it('gives per-phase metrics to a phase that only completed requests, null latencies as null', () => {
    const t = steppedTrace({ phases: [
      { name: 'load', durationMs: 1000, sent: 1000, completed: 900, errors: 0, throughputRps: 900, p50Us: 1500, p99Us: null },
      { name: 'idle', durationMs: 1000, sent: 0, completed: 100, errors: 0, throughputRps: 100, p50Us: null, p99Us: 2500 },
      { name: 'cooldown', durationMs: 1000, sent: 0, completed: 0, errors: 0, throughputRps: 0, p50Us: null, p99Us: null },
      // Every request failed: sent, none completed.
      { name: 'after-release', durationMs: 1000, sent: 10, completed: 0, errors: 10, throughputRps: 0, p50Us: null, p99Us: null },
    ] });
    const m = trialMetrics(t);
    expect([m['throughput.load'], m['p50.load'], m['p99.load']]).toEqual([900, 1.5, null]);
    expect([m['throughput.idle'], m['p50.idle'], m['p99.idle']]).toEqual([100, null, 2.5]);
    expect(Object.keys(m).filter((k) => k.endsWith('.cooldown'))).toEqual(['rssEnd.cooldown']);
    expect([m['throughput.after-release'], m['p50.after-release'], m['p99.after-release']]).toEqual([0, null, null]);
  });
});

describe('lateGrowthShare over the load (a fake trace)', () => {
  // Leaked bytes (MiB) at the stats samples: 10 at 500 and 1000 ms, 20 at 1500, 50 at 2500, 110 at 3500.
  // Phases: baseline 0-1000, load1 1000-2000, load2 2000-3000, idle 3000-4000.
  function loadTrace(sent: [number, number, number, number]): Trace {
    const names = ['baseline', 'load1', 'load2', 'idle'];
    return steppedTrace({
      samples: [statm(0, 1), ...[[500, 10], [1000, 10], [1500, 20], [2500, 50], [3500, 110]].map(([t, leaked]) => counts(t!, { req: 0, leaked }))],
      events: [...names.map((name, index) => ({ type: 'phase' as const, tMs: index * 1000, name, index })), { type: 'end', tMs: 4000 }],
      schedule: names.map((name) => ({ name, durationMs: 1000, actions: [] })),
      phases: names.map((name, i) => ({ name, durationMs: 1000, sent: sent[i]!, completed: sent[i]!, errors: 0, throughputRps: 0, p50Us: null, p99Us: null })),
    });
  }
  it('runs from the baseline\'s end to the end of the last phase that sent requests', () => {
    // 1000-3000 ms: at the start 10 (the 1000 ms sample), at the middle 20 (1500), at the end 50 (2500): (50 - 20) / (50 - 10).
    expect(trialMetrics(loadTrace([100, 1000, 1000, 0])).lateGrowthShare).toBeCloseTo(0.75, 12);
    // load2 sent nothing: 1000-2000 ms: 10, 10 (1000), 20 (1500): (20 - 10) / (20 - 10).
    expect(trialMetrics(loadTrace([100, 1000, 0, 0])).lateGrowthShare).toBe(1);
  });
  it('is not measured when only the baseline sent requests', () => {
    expect(trialMetrics(loadTrace([100, 0, 0, 0])).lateGrowthShare).toBeNull();
    expect(trialMetrics(loadTrace([0, 0, 0, 0])).lateGrowthShare).toBeNull();
  });
  it('is not measured for a loaded phase that has no phase event', () => {
    const t = loadTrace([100, 0, 0, 0]);
    t.phases.push({ name: 'ghost', durationMs: 1000, sent: 5, completed: 5, errors: 0, throughputRps: 5, p50Us: null, p99Us: null });
    expect(trialMetrics(t).lateGrowthShare).toBeNull();
  });
});

describe('lateGrowthShare, exactly', () => {
  const sample = (tMs: number, c: Parameters<typeof counts>[1]) => counts(tMs, c);
  const every10 = (f: (t: number) => Parameters<typeof counts>[1], from = 0) =>
    Array.from({ length: 101 }, (_, i) => i * 10).filter((t) => t >= from).map((t) => sample(t, f(t)));
  // A linear growth of 1 MiB per 10 ms over 0-1000 ms: samples strictly before 1, 500 and 1000 ms
  // are those of 0, 490 and 990 ms, so the share is (990 - 490) / (990 - 0).
  const linear = 500 / 990;
  it('reads the samples strictly before the start, the middle and the end', () => {
    expect(lateGrowthShare(every10((t) => ({ req: 0, leaked: t / 10 })), 0, 1000)).toBeCloseTo(linear, 12);
    // From 100 MiB: (1090 - 590) / (1090 - 100).
    expect(lateGrowthShare(every10((t) => ({ req: 0, leaked: 100 + t / 10 })), 0, 1000)).toBeCloseTo(500 / 990, 12);
  });
  it('counts log records as kept bytes too', () => {
    expect(lateGrowthShare(every10((t) => ({ req: 0, leaked: 0, log: t / 10 })), 0, 1000)).toBeCloseTo(linear, 12);
  });
  it('falls back to the allocator\'s in-use bytes without the relay\'s counts', () => {
    expect(lateGrowthShare(every10((t) => ({ alloc: t / 10 })), 0, 1000)).toBeCloseTo(linear, 12);
  });
  it('skips samples without counts', () => {
    const s = [...every10((t) => ({ req: 0, leaked: t / 10 })), sample(995, {})];
    expect(lateGrowthShare(s, 0, 1000)).toBeCloseTo(linear, 12);
  });
  it('is null when no sample comes before the start', () => {
    expect(lateGrowthShare(every10((t) => ({ req: 0, leaked: t / 10 }), 300), 0, 1000)).toBeNull();
    expect(lateGrowthShare(every10((t) => ({ req: 0, leaked: t / 10 }), 600), 0, 1000)).toBeNull();
  });
});

describe('summarizeTrials', () => {
  const record = (metrics: Record<string, number | null>, status: Trace['status'] = 'complete') =>
    ({ scenario: 's', variant: 'glibc', allocator: 'glibc' as const, status, metrics });
  it('orders metrics as docs/metrics.md lists them, per-phase metrics after, in the order first seen', () => {
    const row = summarizeTrials([record({ 'p99.burst': 1, peakRss: 2, 'rssEnd.idle': 3, baselineRss: 4, relayCpuMs: 5 })]);
    expect(Object.keys(row.metrics)).toEqual(['baselineRss', 'peakRss', 'relayCpuMs', 'p99.burst', 'rssEnd.idle']);
  });
  it('summarizes a metric over the trials that have it', () => {
    const row = summarizeTrials([record({ peakRss: 100 }), record({ peakRss: 300, policyReleases: 4 })]);
    expect(row.metrics.policyReleases).toEqual({ median: 4, min: 4, max: 4 });
    expect(row.metrics.peakRss).toEqual({ median: 200, min: 100, max: 300 });
  });
  it('refuses to summarize no trials', () => {
    expect(() => summarizeTrials([])).toThrow('summarize: no traces');
  });
});

describe('ledgerMetrics: where RSS sat at the retention point', () => {
  const split = (heapMiB: number, anonMiB: number) => ({
    rss: (heapMiB + anonMiB + 7) * MiB, brkHeap: heapMiB * MiB, anonymous: anonMiB * MiB, stacks: 1 * MiB, file: 5 * MiB, other: 1 * MiB,
    lazyFree: 0.5 * MiB, threads: 3, threadsLocated: 3,
  });
  const ledger = (tMs: number, point: 'phase-end' | 'before-release' | 'after-release', phase: string, heapMiB: number, anonMiB: number, readMs: number) =>
    ({ type: 'ledger' as const, tMs, point, phase, split: split(heapMiB, anonMiB), readMs });

  it('reads the ledger right before the release, not a later phase end; the heap not in use by the allocator\'s count', () => {
    const base = fakeTrace();
    const events = [...base.events.slice(0, 4),
      ledger(2999, 'phase-end', 'idle', 300, 100, 0.5), ledger(3000, 'before-release', 'after-release', 250, 150, 0.7),
      base.events[4]!, ledger(3001, 'after-release', 'after-release', 5, 10, 0.9), ledger(3999, 'phase-end', 'after-release', 5, 10, 1.1), base.events[5]!];
    const m = trialMetrics({ ...base, events });
    expect([m.ledgerBrkHeap, m.ledgerAnonymous, m.ledgerStacks, m.ledgerFile, m.ledgerOther, m.ledgerLazyFree])
      .toEqual([250 * MiB, 150 * MiB, 1 * MiB, 5 * MiB, 1 * MiB, 0.5 * MiB]);
    // inUseAfter is the last allocated count before the release: 1 MiB at 2500 ms.
    expect(m.inUseAfter).toBe(1 * MiB);
    expect(m.ledgerHeapNotInUse).toBe(399 * MiB);
    // The median of the four reads (0.5, 0.7, 0.9, 1.1): the lower middle one.
    expect(m.ledgerReadMs).toBe(0.7);
  });

  it('without a release, the last phase end; without ledgers, nothing', () => {
    const base = fakeTrace();
    const noRelease = [...base.events.slice(0, 4), ledger(2999, 'phase-end', 'idle', 300, 100, 2), ledger(3999, 'phase-end', 'after-release', 40, 60, 3), base.events[5]!];
    const m = trialMetrics({ ...base, events: noRelease });
    expect([m.ledgerBrkHeap, m.ledgerAnonymous]).toEqual([40 * MiB, 60 * MiB]);
    const none = trialMetrics(base);
    expect([none.ledgerBrkHeap, none.ledgerHeapNotInUse, none.ledgerReadMs]).toEqual([null, null, null]);
  });
});
