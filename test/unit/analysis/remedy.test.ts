// A remedy measured against its row (harness/analysis/remedy.ts), on hand-built summary rows:
// the conclusion's figures, what "fixes" means (kept at most half, at most 2% of the
// throughput lost), and the ranking (within the cost first, then by RSS kept).
import { describe, expect, it } from 'vitest';
import { compareRemedy, keptBytes, loadFigures, mainLoadPhase, rankRemedies } from '../../../harness/analysis/remedy.js';
import type { SummaryRow } from '../../../harness/core/types.js';

const MiB = 1024 * 1024;
const s = (x: number | null) => ({ median: x, min: x, max: x });
function row(variant: string, baselineMiB: number, retainedMiB: number, load?: { rps: number; p99: number }, trials = 3): SummaryRow {
  return {
    scenario: 'burst', variant, allocator: 'tcmalloc', trials, failedTrials: 0,
    metrics: {
      baselineRss: s(baselineMiB * MiB), retainedRss: s(retainedMiB * MiB),
      ...(load ? { 'throughput.burst': s(load.rps), 'throughput.idle': s(0), 'p99.burst': s(load.p99) } : {}),
    },
  };
}
const PERIODIC = { id: 'release-5s', kind: 'release-every' as const, label: 'a periodic ReleaseFreeMemory() every 5 s' };

describe('compareRemedy', () => {
  it('kept at most half the original at 98% of its throughput: it fixes this', () => {
    const o = compareRemedy(row('tcmalloc', 8, 208, { rps: 1000, p99: 20 }), row('t+r', 8, 108, { rps: 980, p99: 21.5 }), PERIODIC);
    expect(o.keptBytes).toBe(100 * MiB);
    expect(o.baseKeptBytes).toBe(200 * MiB);
    expect(o.keptChange).toBe(-0.5);
    expect(o.throughputRatio).toBe(0.98);
    expect(o.p99DeltaMs).toBe(1.5);
    expect(o.fixes).toBe(true);
    expect(o.conclusion).toBe('a periodic ReleaseFreeMemory() every 5 s kept 100.0 MiB instead of 200.0 MiB (-50%) at 98% of the throughput, p99 +1.5 ms: it fixes this');
  });

  it('a little more kept, or a little more throughput lost, does not', () => {
    expect(compareRemedy(row('tcmalloc', 8, 208), row('x', 8, 108.1), PERIODIC).fixes).toBe(false);
    const slow = compareRemedy(row('tcmalloc', 8, 208, { rps: 1000, p99: 20 }), row('x', 8, 9, { rps: 979, p99: 20 }), PERIODIC);
    expect(slow.fixes).toBe(false);
    expect(slow.conclusion).toMatch(/at 98% of the throughput, p99 \+0\.0 ms: it fixes the RSS but costs 2% of the throughput$/);
    const worse = compareRemedy(row('tcmalloc', 8, 208), row('x', 8, 218), PERIODIC);
    expect(worse.conclusion).toBe('a periodic ReleaseFreeMemory() every 5 s kept 210.0 MiB instead of 200.0 MiB (+5%): it does not fix this');
  });

  it('with fewer than 3 trials the throughput is shown but not judged', () => {
    const one = compareRemedy(row('tcmalloc', 8, 208, { rps: 1000, p99: 20 }, 1), row('x', 8, 9, { rps: 670, p99: 20 }, 1), PERIODIC);
    expect(one.fixes).toBe(true);
    expect(one.conclusion).toBe('a periodic ReleaseFreeMemory() every 5 s kept 1.0 MiB instead of 200.0 MiB (-99%) at 67% of the throughput, p99 +0.0 ms (cost not judged: 1 trial, run --trials 3): it fixes this');
    const two = compareRemedy(row('tcmalloc', 8, 208, { rps: 1000, p99: 20 }, 3), row('x', 8, 9, { rps: 670, p99: 20 }, 2), PERIODIC);
    expect(two.fixes).toBe(true);
  });

  it('without RSS levels it says so and fixes nothing', () => {
    const bare = { ...row('x', 8, 9), metrics: {} };
    const o = compareRemedy(row('tcmalloc', 8, 208), bare, PERIODIC);
    expect([o.keptBytes, o.fixes]).toEqual([null, false]);
    expect(o.conclusion).toBe('a periodic ReleaseFreeMemory() every 5 s: RSS kept not measured: it does not fix this');
  });
});

describe('the figures it reads', () => {
  it('kept is retained minus baseline, never below 0; the load figures are those of the busiest loaded phase', () => {
    expect(keptBytes(row('x', 10, 4))).toBe(0);
    const r = { ...row('x', 1, 2), metrics: { 'throughput.warm': s(6), 'throughput.burst': s(517), 'throughput.drain': s(384), 'p99.warm': s(500), 'p99.burst': s(735), 'p99.drain': s(507) } };
    expect(mainLoadPhase(r)).toBe('burst');
    expect(loadFigures(r, 'burst')).toEqual({ throughput: 517, p99: 735 });
    expect(mainLoadPhase(row('x', 1, 2))).toBeNull();
    expect(loadFigures(row('x', 1, 2), null)).toEqual({ throughput: null, p99: null });
  });

  it('a warm-up phase of a few requests does not move the ratio: the busiest phase of the original is compared', () => {
    const base = { ...row('tcmalloc', 8, 208), metrics: { ...row('tcmalloc', 8, 208).metrics, 'throughput.warm': s(6), 'throughput.burst': s(517), 'p99.burst': s(735) } };
    const rem = { ...row('x', 8, 9), metrics: { ...row('x', 8, 9).metrics, 'throughput.warm': s(0.5), 'throughput.burst': s(516), 'p99.burst': s(731) } };
    const o = compareRemedy(base, rem, PERIODIC);
    expect(o.throughputRatio).toBeCloseTo(516 / 517, 6);
    expect(o.p99DeltaMs).toBe(-4);
  });
});

describe('rankRemedies', () => {
  it('puts the remedies that fix the row first (kept at most half, within the throughput cost), each group by RSS kept', () => {
    const base = row('tcmalloc', 8, 208, { rps: 1000, p99: 20 });
    const r = (id: string, kept: number, rps: number) => {
      const x = row(id, 8, 8 + kept, { rps, p99: 20 });
      return { ...x, remedy: compareRemedy(base, x, { ...PERIODIC, id }) };
    };
    // a, c fix it; b, d cost too much; e keeps too much.
    const ranked = rankRemedies([r('a', 50, 990), r('b', 1, 900), r('c', 20, 1000), r('d', 5, 950), r('e', 150, 1000)]);
    expect(ranked.map((x) => x.variant)).toEqual(['c', 'a', 'b', 'd', 'e']);
  });
});
