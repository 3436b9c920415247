// The live-process verdict (harness/analysis/snapshot.ts) on hand-built snapshots: each
// kind at and around its thresholds, written down from docs/metrics.md (floor 32 MiB,
// program share 0.5, a release that helps returns at least half, critical from 0.5).
import { describe, expect, it } from 'vitest';
import { type Snapshot, snapshotVerdict } from '../../../harness/analysis/snapshot.js';

const MiB = 1024 * 1024;
const snap = (tMs: number, heapMiB: number, inUseMiB: number | null): Snapshot =>
  ({ tMs, rss: (heapMiB + 10) * MiB, heapResident: heapMiB * MiB, inUse: inUseMiB === null ? null : inUseMiB * MiB });
const HINT = 'MALLOC_CONF=prof:true';

describe('snapshotVerdict', () => {
  it('a heap under 32 MiB is healthy', () => {
    const v = snapshotVerdict({ allocator: 'glibc', first: snap(0, 31.9, 1), last: snap(0, 31.9, 1), release: null, profileHint: HINT });
    expect(v.kind).toBe('healthy');
    expect(v.rule).toBe('resident heap 31.9 MiB < 32.0 MiB');
  });

  it('free memory the release returned is retention, critical from half the heap', () => {
    // 400 MiB resident, 100 in use: 300 not in use; the release returned 150 (= half of 300).
    const v = snapshotVerdict({ allocator: 'tcmalloc', first: snap(0, 400, 100), last: snap(0, 400, 100), release: { before: 410 * MiB, after: 260 * MiB }, profileHint: HINT });
    expect(v.kind).toBe('retention');
    expect(v.severity).toBe('critical');
    expect(v.rule).toBe('resident heap 400.0 MiB >= 32.0 MiB; in use by the program 100.0 MiB = 0.25 of the resident heap < 0.50; resident heap not in use 300.0 MiB; returned by the release 150.0 MiB >= 0.5 x 300.0 MiB');
    expect(v.advice).toContain('ReleaseFreeMemory');
  });

  it('free memory the release did not return is fragmentation (critical: below a 0.5 program share, over half the heap is free)', () => {
    // 400 MiB resident, 190 in use: 210 not in use; the release returned 104.9 MiB, under half of 210.
    const v = snapshotVerdict({ allocator: 'glibc', first: snap(0, 400, 190), last: snap(0, 400, 190), release: { before: 410 * MiB, after: 305.1 * MiB }, profileHint: HINT });
    expect(v.kind).toBe('fragmentation');
    expect(v.severity).toBe('critical');
    // 199 in use: 201 not in use, 0.50 of the heap; nothing returned.
    const w = snapshotVerdict({ allocator: 'glibc', first: snap(0, 400, 199), last: snap(0, 400, 199), release: { before: 410 * MiB, after: 400 * MiB }, profileHint: HINT });
    expect(w.kind).toBe('fragmentation');
    expect(w.severity).toBe('critical');
    const x = snapshotVerdict({ allocator: 'glibc', first: snap(0, 400, 199), last: snap(0, 400, 199), release: { before: 410 * MiB, after: 410 * MiB }, profileHint: HINT });
    expect(x.advice).toContain('MALLOC_ARENA_MAX');
    expect(x.advice).toContain('201.0 MiB of the heap is not in use');
  });

  it('without a release, free memory is inconclusive and names --release', () => {
    const v = snapshotVerdict({ allocator: 'jemalloc', first: snap(0, 400, 100), last: snap(0, 400, 100), release: null, profileHint: HINT });
    expect(v.kind).toBe('inconclusive');
    expect(v.rule).toMatch(/no release made$/);
    expect(v.advice).toContain('--release');
  });

  it('the program using half the heap: one snapshot cannot say whether it grows', () => {
    const v = snapshotVerdict({ allocator: 'jemalloc', first: snap(0, 400, 200), last: snap(0, 400, 200), release: null, profileHint: HINT });
    expect(v.kind).toBe('inconclusive');
    expect(v.rule).toBe('resident heap 400.0 MiB >= 32.0 MiB; in use by the program 200.0 MiB = 0.50 of the resident heap >= 0.50; one snapshot: growth not measured');
    expect(v.advice).toContain(HINT);
  });

  it('a watch: in-use growth of 32 MiB is a leak or a filling cache (inconclusive); less is held by the program', () => {
    const grew = snapshotVerdict({ allocator: 'tcmalloc', first: snap(0, 368, 268), last: snap(10_000, 400, 300), release: null, profileHint: HINT });
    expect(grew.kind).toBe('inconclusive');
    expect(grew.rule).toMatch(/in use grew 32\.0 MiB over 10\.0 s >= 32\.0 MiB$/);
    expect(grew.advice).toContain('a leak or a cache still filling');
    const flat = snapshotVerdict({ allocator: 'tcmalloc', first: snap(0, 368, 268.1), last: snap(10_000, 400, 300), release: null, profileHint: HINT });
    expect(flat.kind).toBe('held-by-program');
    expect(flat.rule).toMatch(/in use grew 31\.9 MiB over 10\.0 s < 32\.0 MiB$/);
  });

  it('no in-use count: a release that returned half the heap (and 32 MiB) is retention, else inconclusive', () => {
    const yes = snapshotVerdict({ allocator: 'mimalloc', first: snap(0, 200, null), last: snap(0, 200, null), release: { before: 210 * MiB, after: 110 * MiB }, profileHint: HINT });
    expect(yes.kind).toBe('retention');
    expect(yes.rule).toBe('resident heap 200.0 MiB >= 32.0 MiB; in-use bytes not measured; returned by the release 100.0 MiB >= 100.0 MiB');
    const no = snapshotVerdict({ allocator: 'mimalloc', first: snap(0, 200, null), last: snap(0, 200, null), release: { before: 210 * MiB, after: 110.1 * MiB }, profileHint: HINT });
    expect(no.kind).toBe('inconclusive');
    expect(no.advice).toContain('mimalloc reports no in-use bytes');
    const none = snapshotVerdict({ allocator: 'mimalloc', first: snap(0, 200, null), last: snap(0, 200, null), release: null, profileHint: HINT });
    expect(none.kind).toBe('inconclusive');
    expect(none.advice).toContain('--release');
  });
});
