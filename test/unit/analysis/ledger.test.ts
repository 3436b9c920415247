// The allocator's side of the ledger (harness/analysis/ledger.ts) on hand-built counters, in
// each allocator's own key names (gperftools' numeric properties, jemalloc's mallctl names,
// glibc's mallinfo2 fields) and a hand-built RSS split.
import { describe, expect, it } from 'vitest';
import { allocatorLedger, arenasOfReply, dominantPool } from '../../../harness/analysis/ledger.js';

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

  it('mimalloc: the in-use count only (the probe\'s), no pools; committed and reset apart; unknown allocators and missing counters give nothing', () => {
    const l = allocatorLedger('mimalloc', { allocated_bytes: 30 * MiB, 'process.current_commit': 450 * MiB, 'stats.reset_approx': 0 }, split(0, 100))!;
    expect([l.inUse, l.pools, l.unexplained]).toEqual([30 * MiB, [], 70 * MiB]);
    // committed is virtual (450 MiB against a 100 MiB resident heap): shown, never subtracted.
    expect(l.apart.map((p) => [p.id, p.bytes / MiB, p.resident])).toEqual([['committed', 450, false], ['reset', 0, false]]);
    expect(allocatorLedger('mimalloc', { allocated_bytes: null }, split(0, 100))!.unexplained).toBeNull();
    expect(allocatorLedger('unknown', { allocated_bytes: 1 }, split(0, 1))).toBeNull();
    expect(allocatorLedger('glibc', null, split(0, 1))).toBeNull();
  });

  it('glibc by arena (the `ledger` reply): main and thread arenas, top, bins and fastbins, each subtracted', () => {
    const arena = (index: number, main: boolean, top: number, bins: number, fast: number, system: number) => ({
      index, main, top_bytes: top * MiB, bins_bytes: bins * MiB, bins_chunks: 10, fast_bytes: fast * MiB, fast_chunks: 3, system_bytes: system * MiB,
    });
    // In use: the main arena's 41.5 MiB of system memory less its 21.5 free, the thread
    // arenas' nothing, plus 4 MiB of mmapped chunks: 24 MiB, as mallinfo2's uordblks + hblkhd.
    const arenas = { arenas: [arena(0, true, 1, 20, 0.5, 41.5), arena(1, false, 30, 2, 0.25, 32.25), arena(2, false, 50, 3, 0.25, 53.25)], mmapped_bytes: 4 * MiB, mmapped_chunks: 1, truncated: false };
    const l = allocatorLedger('glibc', { uordblks: 20 * MiB, hblkhd: 4 * MiB, fordblks: 107 * MiB, keepcost: 1 * MiB }, split(0, 140), arenas)!;
    expect(l.inUse).toBe(24 * MiB);
    // The runner asks only for the `ledger` reply when it has arenas: the same ledger without counters.
    expect(allocatorLedger('glibc', null, split(0, 140), arenas)).toEqual(l);
    expect(l.pools.map((p) => [p.id, p.bytes / MiB, p.resident])).toEqual([
      ['mainTop', 1, true], ['mainBins', 20, true], ['mainFastbins', 0.5, true], ['threadTops', 80, true], ['threadBins', 5, true], ['threadFastbins', 0.5, true]]);
    // 140 - 24 in use - 107 in the arenas.
    expect(l.unexplained).toBe(9 * MiB);
    expect(l.notes[0]).toBe('3 arenas (the main one and 2 thread arenas) by malloc_info()');
    expect(dominantPool(l)!.id).toBe('threadTops');
  });

  it('reads the `ledger` reply: arenas only from a well-formed list; anything else is no arenas', () => {
    const a = { index: 0, main: true, fast_bytes: 1, fast_chunks: 1, bins_bytes: 2, bins_chunks: 1, top_bytes: 3, system_bytes: 4 };
    expect(arenasOfReply({ ok: true, allocator: 'glibc', ledger_us: 12, arenas: [a], mmapped_bytes: 5, mmapped_chunks: 1, truncated: true }))
      .toEqual({ arenas: [a], mmapped_bytes: 5, mmapped_chunks: 1, truncated: true });
    // Past the reply's limit, one entry (index null) sums the rest: 100 more thread arenas.
    const rest = { ...a, index: null, arenas: 100, main: false };
    const cut = arenasOfReply({ arenas: [a, rest], mmapped_bytes: 0, mmapped_chunks: 0, truncated: true })!;
    expect(cut.arenas[1]).toEqual(rest);
    expect(allocatorLedger('glibc', { uordblks: 0, hblkhd: 0 }, split(0, 1), cut)!.notes[0])
      .toBe('101 arenas (the main one and 100 thread arenas) by malloc_info(); those past the reply\'s limit are summed in one entry');
    expect(arenasOfReply({ arenas: [{ ...a, index: null }] })).toBeNull();
    expect(arenasOfReply({ ok: true, allocator: 'tcmalloc', arenas: null })).toBeNull();
    expect(arenasOfReply({ ok: false, error: 'unknown command' })).toBeNull();
    expect(arenasOfReply(null)).toBeNull();
    expect(arenasOfReply({ arenas: [{ ...a, top_bytes: '3' }] })).toBeNull();
    expect(arenasOfReply({ arenas: [{ ...a, main: 1 }] })).toBeNull();
  });
});
