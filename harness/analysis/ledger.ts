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
//   glibc with the subject's `ledger` reply (malloc_info() by arena): each arena's top,
//     bins and fastbins, main arena apart from the thread arenas;
//   mimalloc 2.0.9: no in-use count of its own (the probe's count where there is one) and
//     no pools: the free part is the resident heap minus that count; its committed and
//     reset counts are shown apart (committed is virtual).
// Pure.
import type { RssSplit } from '../core/smaps.js';
import type { GlibcArena, GlibcArenas } from '../core/types.js';

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

interface PoolInfo {
  label: string;
  /** What the allocator's documentation offers for memory in this pool (none: metadata, or a figure shown apart). */
  remedy?: string;
  /** False for a figure outside the resident heap (returned or reserved) or a part of another pool: not subtracted. */
  resident: boolean;
}

const MALLOC_TRIM_BINS = 'malloc_trim(0) returns the whole free pages inside these chunks (MADV_DONTNEED), in every arena; what stays sits in chunks smaller than a page between live ones: fragmentation, which only the program\'s allocation pattern changes';

const MALLOC_FASTBINS = 'small chunks kept unmerged: malloc_trim(0) merges them first; glibc.malloc.mxfast (M_MXFAST) bounds their size';

/** Every pool the ledger names, by its metric-safe id (summary.json's `pool.<id>`). */
export const POOLS: Readonly<Record<string, PoolInfo>> = {
  pageheapFree: {
    label: 'tcmalloc page heap free', resident: true,
    remedy: 'MallocExtension::instance()->ReleaseFreeMemory() returns it; TCMALLOC_RELEASE_RATE releases it while the program allocates',
  },
  centralCache: {
    label: 'tcmalloc central cache', resident: true,
    remedy: 'objects in the central cache go back to the page heap as spans empty; ReleaseFreeMemory() returns only the page heap',
  },
  transferCache: {
    label: 'tcmalloc transfer cache', resident: true,
    remedy: 'objects in the transfer cache go back to the central cache as it drains; ReleaseFreeMemory() returns only the page heap',
  },
  threadCaches: {
    label: 'tcmalloc thread caches', resident: true,
    remedy: 'TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES bounds the thread caches; MarkThreadIdle() on a thread empties its own',
  },
  activeMinusAllocated: {
    label: 'jemalloc active - allocated (size classes, thread caches)', resident: true,
    remedy: 'size-class rounding and regions in thread caches: mallctl("thread.tcache.flush") on each thread, or opt.tcache_max',
  },
  dirtyMuzzy: {
    label: 'jemalloc dirty and muzzy pages (resident - active - metadata)', resident: true,
    remedy: 'lower dirty_decay_ms/muzzy_decay_ms (0 = at once), background_thread:true, or mallctl("arena.<MALLCTL_ARENAS_ALL>.purge")',
  },
  metadata: { label: 'allocator metadata', resident: true },
  fordblks: {
    label: 'glibc free chunks and arena tops (fordblks)', resident: true,
    remedy: 'malloc_trim(0) returns whole free pages inside chunks and the main heap\'s top; thread-arena tops shrink only on free() past M_TRIM_THRESHOLD: MALLOC_ARENA_MAX, glibc.malloc.trim_threshold',
  },
  keepcost: { label: 'of which the main heap top (keepcost)', resident: false },
  // glibc by arena and place, from malloc_info() (the subject's `ledger` command).
  mainTop: {
    label: 'glibc main arena top', resident: true,
    remedy: 'malloc_trim(0) returns the main heap\'s top down to its pad; glibc.malloc.trim_threshold (M_TRIM_THRESHOLD) lowers the size at which free() does it by itself',
  },
  mainBins: { label: 'glibc main arena free chunks (bins)', resident: true, remedy: MALLOC_TRIM_BINS },
  mainFastbins: {
    label: 'glibc main arena fastbins', resident: true,
    remedy: MALLOC_FASTBINS,
  },
  threadTops: {
    label: 'glibc thread arena tops', resident: true,
    remedy: 'malloc_trim does not trim thread-arena tops (only the main heap\'s); they shrink only when free() leaves more than the trim threshold on top: MALLOC_ARENA_MAX bounds the arenas, glibc.malloc.trim_threshold (M_TRIM_THRESHOLD) the top they keep',
  },
  threadBins: { label: 'glibc thread arena free chunks (bins)', resident: true, remedy: MALLOC_TRIM_BINS },
  threadFastbins: {
    label: 'glibc thread arena fastbins', resident: true,
    remedy: MALLOC_FASTBINS,
  },
  unmapped: { label: 'tcmalloc unmapped (returned, not resident)', resident: false },
  retained: { label: 'jemalloc retained (not resident)', resident: false },
  committed: { label: 'mimalloc committed (virtual: segments are committed before their pages are touched)', resident: false },
  reset: { label: 'mimalloc reset (committed pages given back with madvise)', resident: false },
};

/** How reports name each pool. */
export const POOL_LABELS: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(POOLS).map(([id, p]) => [id, p.label]));
/** What the allocator's documentation offers for memory in each pool. */
export const POOL_REMEDIES: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(POOLS).flatMap(([id, p]) => (p.remedy ? [[id, p.remedy]] : [])));

export const TOLERANCE = { fraction: 0.05, floorBytes: 8 * MiB } as const;

type Alloc = Readonly<Record<string, unknown>>;
const n = (a: Alloc, k: string): number | null => (typeof a[k] === 'number' && Number.isFinite(a[k]) ? a[k] as number : null);
const pool = (id: string, bytes: number | null): Pool[] => (bytes === null ? [] : [{ id, name: POOLS[id]?.label ?? id, bytes, resident: POOLS[id]?.resident ?? true }]);

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
    apart: pool('unmapped', unmapped),
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
    apart: pool('retained', n(a, 'stats.retained')),
    notes: ['jemalloc documents stats.resident as a maximum, not a precise figure'],
  };
}

const GLIBC_NOTES = [
  'glibc counts its thread caches (tcache) as in use: they cannot be told apart',
  'glibc\'s free count also counts pages malloc_trim returned (MADV_DONTNEED) inside free chunks: before a trim they are resident; after one the remainder goes below zero by what it returned',
];

function glibcPools(a: Alloc, arenas: GlibcArenas | null): Pick<AllocatorLedger, 'inUse' | 'pools' | 'apart' | 'notes'> {
  if (!arenas) {
    const uord = n(a, 'uordblks');
    const hblkhd = n(a, 'hblkhd');
    const inUse = uord !== null && hblkhd !== null ? uord + hblkhd : null;
    // fordblks includes the top chunks, keepcost is the main heap's: a part, not subtracted.
    return { inUse, pools: [...pool('fordblks', n(a, 'fordblks')), ...pool('keepcost', n(a, 'keepcost'))], apart: [], notes: GLIBC_NOTES };
  }
  const sum = (main: boolean, k: 'top_bytes' | 'bins_bytes' | 'fast_bytes') => arenas.arenas.filter((x) => x.main === main).reduce((t, x) => t + x[k], 0);
  // In use as mallinfo2 counts it (uordblks + hblkhd), from the same reading as the pools:
  // each arena's system memory less its free bytes, plus the mmapped chunks.
  const inUse = arenas.arenas.reduce((t, x) => t + x.system_bytes - x.top_bytes - x.bins_bytes - x.fast_bytes, 0) + arenas.mmapped_bytes;
  const threads = arenas.arenas.filter((x) => !x.main).reduce((t, x) => t + (x.arenas ?? 1), 0);
  return {
    inUse,
    pools: [
      ...pool('mainTop', sum(true, 'top_bytes')), ...pool('mainBins', sum(true, 'bins_bytes')), ...pool('mainFastbins', sum(true, 'fast_bytes')),
      ...pool('threadTops', sum(false, 'top_bytes')), ...pool('threadBins', sum(false, 'bins_bytes')), ...pool('threadFastbins', sum(false, 'fast_bytes')),
    ],
    apart: [],
    notes: [
      `${threads + 1} arena${threads === 0 ? '' : 's'} (the main one and ${threads} thread arena${threads === 1 ? '' : 's'}) by malloc_info()`
        + (arenas.truncated ? '; those past the reply\'s limit are summed in one entry' : ''),
      ...GLIBC_NOTES,
    ],
  };
}

function mimallocPools(a: Alloc): Pick<AllocatorLedger, 'inUse' | 'pools' | 'apart' | 'notes'> {
  return {
    inUse: n(a, 'allocated_bytes'),
    pools: [],
    // mi_process_info's committed bytes, and the reset bytes of mi_stats_print_out's text
    // (printed to 0.1 of a unit, so approximate).
    apart: [...pool('committed', n(a, 'process.current_commit')), ...pool('reset', n(a, 'stats.reset_approx'))],
    notes: [
      'mimalloc 2.0.9 (a release build) has no in-use count of its own (the probe counts it) and no pools: the free part is the resident heap minus that count',
      'its committed count is virtual (segments are committed before their pages are touched), so it cannot split the resident heap',
    ],
  };
}

/** The allocator's ledger at one point; null for an allocator the lab cannot read. `arenas`:
 * glibc's free memory by arena (the subject's `ledger` reply), where the subject gave it. */
export function allocatorLedger(allocator: string, alloc: Alloc | null | undefined, split: RssSplit, arenas: GlibcArenas | null = null): AllocatorLedger | null {
  if (!alloc && !(allocator === 'glibc' && arenas)) return null;
  const by = { tcmalloc: tcmallocPools, jemalloc: jemallocPools, glibc: (a: Alloc) => glibcPools(a, arenas), mimalloc: mimallocPools }[allocator as 'glibc'];
  if (!by) return null;
  const heapResident = split.brkHeap + split.anonymous;
  const p = by(alloc ?? {});
  // Pools the allocator counts apart from the resident heap (jemalloc's retained,
  // tcmalloc's unmapped, mimalloc's committed) or as a part of another (keepcost) are not subtracted.
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

const ARENA_KEYS = ['fast_bytes', 'fast_chunks', 'bins_bytes', 'bins_chunks', 'top_bytes', 'system_bytes'] as const;

/** glibc's arenas from a subject's `ledger` reply (native/PROTOCOL.md); null when the reply
 * has none (another allocator, or a subject without the command) or is malformed. */
export function arenasOfReply(reply: unknown): GlibcArenas | null {
  const r = reply as Record<string, unknown> | null;
  if (!r || !Array.isArray(r.arenas)) return null;
  const arenas: GlibcArena[] = [];
  for (const x of r.arenas as Array<Record<string, unknown>>) {
    if (!x || typeof x.main !== 'boolean' || !ARENA_KEYS.every((k) => typeof x[k] === 'number')) return null;
    // index null: the entry that sums the arenas past the reply's limit, `arenas` of them.
    const rest = x.index === null && typeof x.arenas === 'number';
    if (typeof x.index !== 'number' && !rest) return null;
    arenas.push({ index: rest ? null : x.index as number, ...(rest ? { arenas: x.arenas as number } : {}), main: x.main,
      ...Object.fromEntries(ARENA_KEYS.map((k) => [k, x[k] as number])) } as GlibcArena);
  }
  const num = (k: string) => (typeof r[k] === 'number' ? r[k] as number : 0);
  return { arenas, mmapped_bytes: num('mmapped_bytes'), mmapped_chunks: num('mmapped_chunks'), truncated: r.truncated === true };
}
