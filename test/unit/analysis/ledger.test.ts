// The allocator's side of the ledger (harness/analysis/ledger.ts) on hand-built counters, in
// each allocator's own key names (gperftools' numeric properties, jemalloc's mallctl names,
// glibc's mallinfo2 fields) and a hand-built RSS split.
import { describe, expect, it } from 'vitest';
import { allocatorLedger, dominantPool } from '../../../harness/analysis/ledger.js';

const MiB = 1024 * 1024;
const split = (brkMiB: number, anonMiB: number, rssMiB = brkMiB + anonMiB + 10) => ({
  rss: rssMiB * MiB, brkHeap: brkMiB * MiB, anonymous: anonMiB * MiB, stacks: 0, file: 10 * MiB, other: 0, lazyFree: 0, threads: 1, threadsLocated: 1,
});

describe('allocatorLedger', () => {
  it('tcmalloc: the page heap, caches and metadata, resident; unmapped apart; the remainder', () => {
    const l = allocatorLedger('tcmalloc', {
      'generic.current_allocated_bytes': 2 * MiB, 'generic.heap_size': 400 * MiB, 'generic.total_physical_bytes': 392 * MiB,
      'tcmalloc.pageheap_free_bytes': 380 * MiB, 'tcmalloc.pageheap_unmapped_bytes': 10 * MiB, 'tcmalloc.central_cache_free_bytes': 3 * MiB,
      'tcmalloc.transfer_cache_free_bytes': 1 * MiB, 'tcmalloc.thread_cache_free_bytes': 2 * MiB,
    }, split(390, 2))!;
    expect(l.inUse).toBe(2 * MiB);
    // metadata = total_physical - (heap_size - unmapped) = 392 - 390 = 2 MiB.
    expect(l.pools.map((p) => [p.id, p.bytes / MiB, p.resident])).toEqual([
      ['pageheapFree', 380, true], ['centralCache', 3, true], ['transferCache', 1, true], ['threadCaches', 2, true], ['metadata', 2, true]]);
    expect(l.apart.map((p) => [p.id, p.bytes / MiB])).toEqual([['unmapped', 10]]);
    expect(l.unexplained).toBe((392 - 2 - 388) * MiB);
    // 5% of RSS (402 MiB) is 20.1 MiB, over the 8 MiB floor.
    expect(l.tolerance).toBeCloseTo(0.05 * 402 * MiB, 0);
    expect(dominantPool(l)!.id).toBe('pageheapFree');
  });

  it('jemalloc: active - allocated, dirty and muzzy, metadata; retained apart', () => {
    const l = allocatorLedger('jemalloc', {
      'stats.allocated': 100 * MiB, 'stats.active': 110 * MiB, 'stats.resident': 330 * MiB, 'stats.metadata': 6 * MiB, 'stats.retained': 50 * MiB,
    }, split(0, 331, 340))!;
    expect(l.pools.map((p) => [p.id, p.bytes / MiB])).toEqual([['activeMinusAllocated', 10], ['dirtyMuzzy', 214], ['metadata', 6]]);
    expect(l.apart.map((p) => [p.id, p.bytes / MiB])).toEqual([['retained', 50]]);
    expect(l.unexplained).toBe(1 * MiB);
    // 5% of 340 MiB = 17 MiB.
    expect(l.tolerance).toBe(17 * MiB);
    expect(dominantPool(l)!.id).toBe('dirtyMuzzy');
  });

  it('glibc: in use is uordblks + hblkhd; fordblks is subtracted, keepcost (a part of it) is not', () => {
    const l = allocatorLedger('glibc', { uordblks: 20 * MiB, hblkhd: 4 * MiB, fordblks: 170 * MiB, keepcost: 1 * MiB }, split(0, 200))!;
    expect(l.inUse).toBe(24 * MiB);
    expect(l.pools.map((p) => [p.id, p.resident])).toEqual([['fordblks', true], ['keepcost', false]]);
    expect(l.unexplained).toBe(6 * MiB);
    expect(l.notes.join(' ')).toContain('tcache');
    expect(dominantPool(l)!.id).toBe('fordblks');
    // A small process: the 8 MiB floor.
    expect(allocatorLedger('glibc', { uordblks: 1, hblkhd: 0, fordblks: 0, keepcost: 0 }, split(1, 1))!.tolerance).toBe(8 * MiB);
  });

  it('mimalloc: the in-use count only (the probe\'s), no pools; unknown allocators and missing counters give nothing', () => {
    const l = allocatorLedger('mimalloc', { allocated_bytes: 30 * MiB }, split(0, 100))!;
    expect([l.inUse, l.pools, l.unexplained]).toEqual([30 * MiB, [], 70 * MiB]);
    expect(allocatorLedger('mimalloc', { allocated_bytes: null }, split(0, 100))!.unexplained).toBeNull();
    expect(allocatorLedger('unknown', { allocated_bytes: 1 }, split(0, 1))).toBeNull();
    expect(allocatorLedger('glibc', null, split(0, 1))).toBeNull();
  });
});
