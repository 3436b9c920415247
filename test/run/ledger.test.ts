// The ledger of real runs (the suite's shared `burst --quick` on the four allocators,
// test/support/shared-runs.ts): the kernel's split adds up to the RSS kept, the allocator's
// side accounts for the resident heap within the tolerance fixed in advance (5% of RSS or
// 8 MiB), and one known case per allocator: after the burst, what tcmalloc kept sits in its
// page heap, what jemalloc kept in its dirty and muzzy pages (measured 2026-12-03: 179.6 of
// 189 MiB, and 224.9 of 222 MiB), and glibc's free chunks are under half the burst. The
// verdicts name that pool.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SummaryRow } from '../../harness/core/types.js';
import { sharedRun } from '../support/shared-runs.js';

const MiB = 1024 * 1024;
let rows: SummaryRow[] = [];
let events: Array<Record<string, any>> = [];

beforeAll(async () => {
  const r = await sharedRun('burst');
  expect(r.exitCode, r.stderr).toBe(0);
  rows = JSON.parse(readFileSync(join(r.dir, 'summary.json'), 'utf8')) as SummaryRow[];
  events = readFileSync(join(r.dir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}, 600_000);

const m = (v: string, k: string) => rows.find((r) => r.variant === v)!.metrics[k]?.median ?? null;
const kept = (v: string) => m(v, 'retainedRss')! - m(v, 'baselineRss')!;

describe('the ledger of burst --quick', () => {
  it('is read at every phase end and right before and after the release, with the allocator\'s counters or glibc\'s arenas', () => {
    for (const v of ['glibc', 'tcmalloc', 'jemalloc', 'mimalloc']) {
      // In time order (a reading's counters arrive over the control channel, so lines may
      // land out of order); the phase end and the release of one moment, phase end first.
      const rank = { 'phase-end': 0, 'before-release': 1, 'after-release': 2 } as Record<string, number>;
      const points = events.filter((e) => e.type === 'ledger' && e.variant === v)
        .sort((a, b) => a.tMs - b.tMs || rank[a.point]! - rank[b.point]!).map((e) => `${e.point} ${e.phase}`);
      expect(points, v).toEqual(['phase-end baseline', 'phase-end burst', 'phase-end drain', 'phase-end idle', 'before-release after-release', 'after-release after-release', 'phase-end after-release']);
      const before = events.find((e) => e.type === 'ledger' && e.variant === v && e.point === 'before-release')!;
      // glibc: its `ledger` reply (arenas, and in use from them) stands for the counters,
      // which are then not read (one walk of the free chunks, not two); the others: the counters.
      if (v === 'glibc') {
        expect(before.arenas.arenas.length, v).toBeGreaterThanOrEqual(2);
        expect(before.alloc, v).toBeNull();
      } else {
        expect(before.alloc, v).toBeTruthy();
      }
    }
  });

  it('the kernel\'s split adds up to the RSS kept, within 5%', () => {
    for (const v of ['glibc', 'tcmalloc', 'jemalloc', 'mimalloc']) {
      const sum = ['ledgerBrkHeap', 'ledgerAnonymous', 'ledgerStacks', 'ledgerFile', 'ledgerOther'].reduce((s, k) => s + m(v, k)!, 0);
      expect(Math.abs(sum - m(v, 'retainedRss')!), v).toBeLessThan(0.05 * m(v, 'retainedRss')!);
    }
  });

  it('the allocator\'s side accounts for the resident heap within the tolerance (glibc, tcmalloc, jemalloc)', () => {
    for (const v of ['glibc', 'tcmalloc', 'jemalloc']) {
      const tolerance = Math.max(0.05 * m(v, 'retainedRss')!, 8 * MiB);
      expect(Math.abs(m(v, 'ledgerUnexplained')!), v).toBeLessThanOrEqual(tolerance);
    }
    // The relay on mimalloc has no in-use count (mimalloc 2.0.9 counts none, and the relay
    // does not preload the probe): no remainder, said by its absence.
    expect(m('mimalloc', 'ledgerUnexplained')).toBeNull();
  });

  it('one known case per allocator: where what it kept sits', () => {
    expect(m('tcmalloc', 'pool.pageheapFree')!).toBeGreaterThanOrEqual(0.9 * kept('tcmalloc'));
    expect(m('jemalloc', 'pool.dirtyMuzzy')!).toBeGreaterThanOrEqual(0.9 * kept('jemalloc'));
    expect(m('jemalloc', 'pool.retained')!).toBeGreaterThan(0);
    // glibc gives most of the burst back by itself; what it keeps sits in the free chunks of
    // the worker threads' arenas, not in the main arena (measured 20.3 and 10.4 MiB in thread
    // arena bins, 1.1 in their tops, 0.1 in the main arena, of about 185 MiB of growth).
    const glibcPools = ['mainTop', 'mainBins', 'mainFastbins', 'threadTops', 'threadBins', 'threadFastbins'].map((p) => m('glibc', `pool.${p}`)!);
    expect(glibcPools.reduce((a, b) => a + b, 0)).toBeLessThan(0.5 * (m('glibc', 'peakRss')! - m('glibc', 'baselineRss')!));
    expect(glibcPools[4]).toBe(Math.max(...glibcPools));
    expect(glibcPools[0]! + glibcPools[1]! + glibcPools[2]!).toBeLessThan(1 * MiB);
    const tc = rows.find((r) => r.variant === 'tcmalloc')!.verdict!;
    expect(tc.evidence.dominantPool).toBe('pageheapFree');
    expect(rows.find((r) => r.variant === 'jemalloc')!.verdict!.evidence.dominantPool).toBe('dirtyMuzzy');
  });
});
