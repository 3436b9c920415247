// A trial's rows written to a run folder and read back (harness/run/trial-back.ts): the
// run keeps no samples in memory while a trial runs and computes its metrics from this
// read-back, so the round trip must lose nothing. Fake traces (pure logic, no process).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { trialMetrics } from '../../../harness/analysis/metrics.js';
import { pointsOf } from '../../../harness/core/rss-series.js';
import type { Sample, Trace, TraceEvent } from '../../../harness/core/types.js';
import { RunStore } from '../../../harness/results/store.js';
import { readTrialBack } from '../../../harness/results/trial-back.js';

const MiB = 1024 * 1024;
const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

function sample(tMs: number, source: 'statm' | 'stats', rss: number, phase: string): Sample {
  const stat = source === 'stats';
  return {
    tMs, phase, source, rssBytes: rss, smapsRssBytes: stat ? rss + 4096 : null, privateDirtyBytes: stat ? rss - 8192 : null,
    lazyfreeBytes: stat ? 0 : null, liveRequestBytes: stat ? Math.round(rss / 3) : null, liveRequestCount: stat ? 17 : null,
    liveResponseBytes: stat ? 12345 : null, liveResponseCount: stat ? 3 : null, allocAllocatedBytes: stat ? rss / 2 : null,
    allocFreeBytes: stat ? rss / 4 : null, allocUnmappedBytes: null, leakedRequestBytes: stat ? 0 : null,
    liveLogBytes: null, policyReleases: stat ? 2 : null, statsUs: stat ? 87.5 : null,
  };
}

/** A burst-shaped trial; `shift` makes each trial's numbers its own. */
function fakeTrial(trial: number, shift: number): Trace {
  const samples: Sample[] = [];
  const phaseOf = (t: number) => (t < 1000 ? 'baseline' : t < 2000 ? 'burst, "big"' : t < 3000 ? 'idle' : 'after-release');
  for (let t = 0; t < 4000; t += 10.1) {
    const tMs = Math.round(t * 10) / 10;
    const rss = (t < 1000 ? 10 : t < 2000 ? 10 + (490 * (t - 1000)) / 1000 : t < 3000 ? 410 : 20) * MiB + shift;
    samples.push(sample(tMs, 'statm', Math.round(rss), phaseOf(t)));
    if (Math.round(t / 10.1) % 10 === 0) samples.push(sample(tMs + 0.3, 'stats', Math.round(rss), phaseOf(t)));
  }
  const events: TraceEvent[] = [
    { type: 'phase', tMs: 0, name: 'baseline', index: 0 },
    { type: 'phase', tMs: 1000, name: 'burst, "big"', index: 1 },
    { type: 'load', tMs: 1500.5, phase: 'burst, "big"', sent: 900 + shift, completed: 880, errors: 0, inFlight: 20, intervalCompleted: 440, p50Us: 250, p99Us: null },
    { type: 'load', tMs: 2000, phase: 'burst, "big"', sent: 1800 + shift, completed: 1800, errors: 0, inFlight: 0, intervalCompleted: 920, p50Us: 260, p99Us: 900 },
    { type: 'phase', tMs: 2000, name: 'idle', index: 2 },
    { type: 'phase', tMs: 3000, name: 'after-release', index: 3 },
    { type: 'release', tMs: 3000, ok: true, releaseMs: 41.5, rssBeforeBytes: 410 * MiB, rssAfterBytes: 20 * MiB, call: 'ReleaseFreeMemory()', calls: [{ thread: 'admin', tid: 7, mainThread: false, call: 'x', rc: null, ok: true, ms: 1.25 } as never] },
    { type: 'end', tMs: 4000 },
  ];
  return {
    scenario: 'burst', variant: 'tcmalloc', allocator: 'tcmalloc', trial, status: 'complete', samples, events,
    phases: [{ name: 'burst, "big"', durationMs: 1000, sent: 1800, completed: 1800, errors: 0, throughputRps: 1800, p50Us: 250, p99Us: 900 }],
    vmHwmBytes: 501 * MiB,
    schedule: ['baseline', 'burst, "big"', 'idle', 'after-release'].map((name) => ({ name, durationMs: 1000, actions: name === 'after-release' ? ['release'] : [] })),
  };
}

function write(store: RunStore, t: Trace): void {
  const key = { scenario: t.scenario, variant: t.variant, trial: t.trial };
  for (const s of t.samples) store.sample(key, s);
  for (const e of t.events) store.event(key, e);
}

describe('readTrialBack', () => {
  const dir = mkdtempSync(join(tmpdir(), 'leaklab-trial-back-'));
  dirs.push(dir);
  const store = new RunStore(dir, 'run');
  const first = fakeTrial(1, 0);
  const second = fakeTrial(2, 4096);
  write(store, first);
  const from = store.offsets();
  write(store, second);

  it('gives back exactly the second trial\'s samples and events, none of the first\'s', async () => {
    const back = await readTrialBack(store, from, { scenario: 'burst', variant: 'tcmalloc', trial: 2 });
    const statm = second.samples.filter((s) => s.source === 'statm');
    expect(back.rss.length).toBe(statm.length);
    const points = pointsOf(statm);
    for (let i = 0; i < statm.length; i++) {
      expect(back.rss.tAt(i)).toBe(points.tAt(i));
      expect(back.rss.rssAt(i)).toBe(points.rssAt(i));
    }
    expect(back.samples).toEqual(second.samples.filter((s) => s.source === 'stats'));
    expect(back.events).toEqual(second.events);
  });

  it('the metrics of the read-back trace are those of the trace in memory', async () => {
    const back = await readTrialBack(store, from, { scenario: 'burst', variant: 'tcmalloc', trial: 2 });
    const fromDisk = trialMetrics({ ...second, ...back });
    expect(fromDisk).toEqual(trialMetrics(second));
    expect(fromDisk.retainedRss).toBe(410 * MiB + 4096);
    expect(fromDisk.requestsServed).toBe(1800);
  });

  it('from offset zero it still takes only the trial it is asked for', async () => {
    const back = await readTrialBack(store, { csv: 0, events: 0 }, { scenario: 'burst', variant: 'tcmalloc', trial: 1 });
    expect(back.samples).toEqual(first.samples.filter((s) => s.source === 'stats'));
    expect(back.events).toEqual(first.events);
  });
});
