// The allocator's side of the ledger: the resident heap (the kernel's count: brk heap and
// other anonymous memory, core/smaps.ts) split by the allocator's own introspection into
// what the program uses and the pools that hold free memory, and the remainder, always
// shown. Read from the subject's allocation-free `stats-counters` at the ledger's points. Each allocator names
// different pools and counts them differently (docs/metrics.md, "The ledger"):
//   tcmalloc: page heap free, central, transfer and thread caches (resident; unmapped spans
//     are not), metadata = total_physical - (heap_size - unmapped);
//   jemalloc: active - allocated (size-class rounding and regions in thread caches),
//     resident - active - metadata (dirty and muzzy pages), metadata; retained is not
//     resident (shown apart); stats.resident is documented as a maximum;
//   glibc: fordblks (free chunks and arena tops, keepcost the main heap's top among them);
//     it also counts pages malloc_trim returned with MADV_DONTNEED inside free chunks, so
//     it is exact only before a trim (the ledger's retention point is), and its tcache
//     is counted as in use;
//   mimalloc 2.0.9: no in-use count of its own (the probe's count where there is one) and
//     no pools: the free part is the resident heap minus that count.
// Pure.
import type { RssSplit } from '../core/smaps.js';

export interface Pool {
  /** Metric-safe id (summary.json's `pool.<id>`). */
  id: string;
  name: string;
  bytes: number;
  /** False for a figure the allocator counts virtually (it may include returned pages). */
  resident: boolean;
}

export interface AllocatorLedger {
  heapResident: number;
  inUse: number | null;
  pools: Pool[];
  /** heapResident - inUse - the resident pools; null without an in-use count. */
  unexplained: number | null;
  /** The tolerance fixed in advance: 5% of RSS or 8 MiB, whichever is larger. */
  tolerance: number;
  /** Pools the allocator reports that are not resident (jemalloc's retained, tcmalloc's unmapped). */
  apart: Pool[];
  /** What this allocator's figures cannot tell, said plainly. */
  notes: string[];
}

const MiB = 1024 * 1024;

/** How reports name each pool (summary.json's `pool.<id>`). */
export const POOL_LABELS: Readonly<Record<string, string>> = {
  pageheapFree: 'tcmalloc page heap free',
  centralCache: 'tcmalloc central cache',
  transferCache: 'tcmalloc transfer cache',
  threadCaches: 'tcmalloc thread caches',
  activeMinusAllocated: 'jemalloc active - allocated (size classes, thread caches)',
  dirtyMuzzy: 'jemalloc dirty and muzzy pages (resident - active - metadata)',
  metadata: 'allocator metadata',
  fordblks: 'glibc free chunks and arena tops (fordblks)',
  keepcost: 'of which the main heap top (keepcost)',
  unmapped: 'tcmalloc unmapped (returned, not resident)',
  retained: 'jemalloc retained (not resident)',
};

/** What the allocator's documentation offers for memory in each pool. */
export const POOL_REMEDIES: Readonly<Record<string, string>> = {
  pageheapFree: 'MallocExtension::instance()->ReleaseFreeMemory() returns it; TCMALLOC_RELEASE_RATE releases it while the program allocates',
  centralCache: 'objects in the central cache go back to the page heap as spans empty; ReleaseFreeMemory() returns only the page heap',
  transferCache: 'objects in the transfer cache go back to the central cache as it drains; ReleaseFreeMemory() returns only the page heap',
  threadCaches: 'TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES bounds the thread caches; MarkThreadIdle() on a thread empties its own',
  activeMinusAllocated: 'size-class rounding and regions in thread caches: mallctl("thread.tcache.flush") on each thread, or opt.tcache_max',
  dirtyMuzzy: 'lower dirty_decay_ms/muzzy_decay_ms (0 = at once), background_thread:true, or mallctl("arena.<MALLCTL_ARENAS_ALL>.purge")',
  fordblks: 'malloc_trim(0) returns whole free pages inside chunks and the main heap\'s top; thread-arena tops shrink only on free() past M_TRIM_THRESHOLD: MALLOC_ARENA_MAX, glibc.malloc.trim_threshold',
};

export const TOLERANCE = { fraction: 0.05, floorBytes: 8 * MiB } as const;

type Alloc = Readonly<Record<string, unknown>>;
const n = (a: Alloc, k: string): number | null => (typeof a[k] === 'number' && Number.isFinite(a[k]) ? a[k] as number : null);
const pool = (id: string, bytes: number | null, resident = true): Pool[] => (bytes === null ? [] : [{ id, name: POOL_LABELS[id] ?? id, bytes, resident }]);

function tcmallocPools(a: Alloc): Pick<AllocatorLedger, 'inUse' | 'pools' | 'apart' | 'notes'> {
  const heap = n(a, 'generic.heap_size');
  const unmapped = n(a, 'tcmalloc.pageheap_unmapped_bytes');
  const physical = n(a, 'generic.total_physical_bytes');
  const metadata = heap !== null && unmapped !== null && physical !== null ? physical - (heap - unmapped) : null;
  return {
    inUse: n(a, 'generic.current_allocated_bytes'),
    pools: [
      ...pool('pageheapFree', n(a, 'tcmalloc.pageheap_free_bytes')),
      ...pool('centralCache', n(a, 'tcmalloc.central_cache_free_bytes')),
      ...pool('transferCache', n(a, 'tcmalloc.transfer_cache_free_bytes')),
      ...pool('threadCaches', n(a, 'tcmalloc.thread_cache_free_bytes')),
      ...pool('metadata', metadata),
    ],
    apart: pool('unmapped', unmapped, false),
    notes: [],
  };
}

function jemallocPools(a: Alloc): Pick<AllocatorLedger, 'inUse' | 'pools' | 'apart' | 'notes'> {
  const allocated = n(a, 'stats.allocated');
  const active = n(a, 'stats.active');
  const resident = n(a, 'stats.resident');
  const metadata = n(a, 'stats.metadata');
  return {
    inUse: allocated,
    pools: [
      ...pool('activeMinusAllocated', active !== null && allocated !== null ? active - allocated : null),
      ...pool('dirtyMuzzy', resident !== null && active !== null && metadata !== null ? resident - active - metadata : null),
      ...pool('metadata', metadata),
    ],
    apart: pool('retained', n(a, 'stats.retained'), false),
    notes: ['jemalloc documents stats.resident as a maximum, not a precise figure'],
  };
}

function glibcPools(a: Alloc): Pick<AllocatorLedger, 'inUse' | 'pools' | 'apart' | 'notes'> {
  const uord = n(a, 'uordblks');
  const hblkhd = n(a, 'hblkhd');
  return {
    inUse: uord !== null && hblkhd !== null ? uord + hblkhd : null,
    // fordblks includes the top chunks, keepcost is the main heap's: a part, not subtracted.
    pools: [...pool('fordblks', n(a, 'fordblks')), ...pool('keepcost', n(a, 'keepcost'), false)],
    apart: [],
    notes: [
      'glibc counts its thread caches (tcache) as in use: they cannot be told apart',
      'glibc\'s free count also counts pages malloc_trim returned (MADV_DONTNEED) inside free chunks: before a trim they are resident; after one the remainder goes below zero by what it returned',
    ],
  };
}

function mimallocPools(a: Alloc): Pick<AllocatorLedger, 'inUse' | 'pools' | 'apart' | 'notes'> {
  return {
    inUse: n(a, 'allocated_bytes'),
    pools: [],
    apart: [],
    notes: ['mimalloc 2.0.9 (a release build) exposes no pools: the free part is the resident heap minus the in-use count'],
  };
}

/** The allocator's ledger at one point; null for an allocator the lab cannot read. */
export function allocatorLedger(allocator: string, alloc: Alloc | null | undefined, split: RssSplit): AllocatorLedger | null {
  if (!alloc) return null;
  const by = { tcmalloc: tcmallocPools, jemalloc: jemallocPools, glibc: glibcPools, mimalloc: mimallocPools }[allocator as 'glibc'];
  if (!by) return null;
  const heapResident = split.brkHeap + split.anonymous;
  const p = by(alloc);
  // Pools the allocator counts apart from the resident heap (jemalloc's retained,
  // tcmalloc's unmapped) or as a part of another (keepcost) are not subtracted.
  const residentPools = p.pools.filter((x) => x.resident).reduce((s, x) => s + x.bytes, 0);
  const unexplained = p.inUse === null ? null : heapResident - p.inUse - residentPools;
  return { heapResident, ...p, unexplained, tolerance: Math.max(TOLERANCE.fraction * split.rss, TOLERANCE.floorBytes) };
}

/** The pool that holds the most resident free memory, or the virtual one when none is resident. */
export function dominantPool(l: AllocatorLedger): Pool | null {
  const resident = l.pools.filter((p) => p.resident && p.id !== 'metadata');
  const from = resident.length ? resident : l.pools.filter((p) => p.id !== 'keepcost');
  return from.reduce<Pool | null>((best, p) => (best === null || p.bytes > best.bytes ? p : best), null);
}
