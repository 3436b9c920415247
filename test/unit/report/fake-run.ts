// A hand-built run ("fake run"): what loadRun() would return for a small run of one
// scenario on two variants, three trials each. No process, no file.
import type { ChartTrace, RunData } from '../../../harness/results/reader.js';
import type { SummaryRow } from '../../../harness/core/types.js';
import { type Environment } from '../../../harness/results/schema.js';

const MiB = 1024 * 1024;

export const fakeEnvironment: Environment = {
  kernel: '6.1.0-test', glibc: 'glibc 2.36', cpuModel: 'Test CPU', cores: 2, memTotalBytes: 8 * 1024 * MiB, thp: 'madvise',
  node: 'v20.0.0', compiler: 'c++ 12.2.0', cmake: 'cmake version 3.25.1',
  allocators: { glibc: { debian: '2.36-9', reported: '2.36' }, tcmalloc: { debian: '2.10-1', reported: 'gperftools 2.10' } },
  git: { commit: '0123456789abcdef0123456789abcdef01234567', dirty: false },
};

export function fakeRow(variant: 'glibc' | 'tcmalloc', retainedMiB: number, verdict = true): SummaryRow {
  const s = (median: number, min = median, max = median) => ({ median, min, max });
  return {
    scenario: 'burst', variant, allocator: variant, trials: 3, failedTrials: variant === 'glibc' ? 1 : 0,
    metrics: {
      baselineRss: s(4 * MiB),
      peakRss: s(500 * MiB, 490 * MiB, 510 * MiB),
      peakLive: s(456 * MiB),
      retainedRss: s(retainedMiB * MiB, (retainedMiB - 2) * MiB, (retainedMiB + 3) * MiB),
      releasedRss: s(6 * MiB),
      releaseMs: s(41.25, 40, 43),
      retention: s((retainedMiB - 4) / 496, 0.2, 0.99),
      releaseEfficiency: s(0.99),
    },
    ...(verdict ? {
      // What the rules say of these numbers (test/report/snapshots.test.ts checks it): both
      // kept freed memory that the release returned; glibc 136 MiB (27%), tcmalloc 486 MiB (98%).
      verdict: variant === 'tcmalloc'
        ? { kind: 'retention' as const, severity: 'critical' as const, evidence: {}, remedy: 'call ReleaseFreeMemory() when idle' }
        : { kind: 'retention' as const, severity: 'warning' as const, evidence: {}, remedy: 'call malloc_trim(0) when idle' },
    } : {}),
  };
}

/** A burst-shaped RSS curve: 10 ms samples for 1 s, up to `peakMiB`, down to `keptMiB`,
 * released at 800 ms. */
function fakeChart(variant: string, peakMiB: number, keptMiB: number): ChartTrace {
  const rss = { t: [] as number[], v: [] as number[] };
  for (let t = 0; t <= 1000; t += 10) {
    const mib = t < 200 ? 4 : t < 400 ? 4 + ((t - 200) / 200) * (peakMiB - 4) : t < 500 ? peakMiB : t < 800 ? keptMiB : 6;
    rss.t.push(t);
    rss.v.push(mib * MiB);
  }
  const live = { t: [100, 300, 450, 600, 900], v: [0, 200 * MiB, 456 * MiB, 0, 0] };
  return {
    scenario: 'burst', variant, trial: 1, rss, live,
    allocated: variant === 'tcmalloc' ? { t: [100, 450, 900], v: [1 * MiB, 460 * MiB, 2 * MiB] } : { t: [], v: [] },
    free: { t: [], v: [] }, unmapped: { t: [], v: [] },
    phases: [{ name: 'baseline', tMs: 0 }, { name: 'burst', tMs: 200 }, { name: 'idle', tMs: 500 }, { name: 'after-release', tMs: 800 }],
    releases: [{ tMs: 800, ok: true, releaseMs: 41.25, rssBeforeBytes: keptMiB * MiB, rssAfterBytes: 6 * MiB }],
    ledgers: [],
    endMs: 1000,
  };
}

export function fakeRun(overrides: { description?: string; variants?: Array<'glibc' | 'tcmalloc'>; verdicts?: boolean } = {}): RunData {
  const variants = overrides.variants ?? ['glibc', 'tcmalloc'];
  return {
    info: {
      runId: '20260101-000000-burst',
      command: ['npm', 'run', 'lab', '--', '--scenario', 'burst', '--trials', '3', '--variants', variants.join(',')],
      status: 'complete', quick: false,
      scenarios: [{
        name: 'burst', file: 'scenarios/burst.ts', trials: 3, seed: 42,
        scenario: {
          name: 'burst', description: overrides.description ?? 'a burst, idle, then release',
          phases: [
            { name: 'baseline', duration: 200, load: { mode: 'closed', concurrency: 8, size: { dist: 'fixed', bytes: 4096 } }, actions: [] },
            { name: 'burst', duration: 300, load: { mode: 'closed', concurrency: 1024, size: { dist: 'uniform', min: 131072, max: 786432 } }, actions: [] },
            { name: 'idle', duration: 300, actions: [] },
            { name: 'after-release', duration: 200, actions: ['release'] },
          ],
        } as never,
      }],
      variants: variants.map((id) => ({ id, allocator: id, env: (id === 'tcmalloc' ? { TCMALLOC_RELEASE_RATE: '1' } : {}) as Record<string, string> })),
      startedAt: '2026-01-01T00:00:00.000Z', endedAt: '2026-01-01T00:00:30.000Z',
      environment: fakeEnvironment,
      errors: [],
      shard: null,
    },
    summary: variants.map((v) => fakeRow(v, v === 'glibc' ? 140 : 490, overrides.verdicts ?? true)),
    trials: [],
    charts: variants.map((v) => (v === 'glibc' ? fakeChart(v, 480, 140) : fakeChart(v, 500, 490))),
  };
}
