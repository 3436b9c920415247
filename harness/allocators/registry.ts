// One row per allocator: everything the harness knows of it, in one place. Its Debian
// packages, the shared object a target preloads and how to recognize it among a process's
// mappings, the release call (as the relay and probe name it, and as gdb calls it), its
// heap profiler, and the remedies its documentation gives. Adding an allocator is a row
// here and an adapter file in native/src/alloc/ (docs/architecture.md, "Adding an allocator").
import type { Allocator } from '../core/types.js';

export { ALLOCATORS, type Allocator } from '../core/types.js';

/** The heap profiler an allocator has, and how to turn it on. */
export interface Profiler {
  allocator: Allocator;
  /** The symbolizer: jeprof (jemalloc) or google-pprof (gperftools). */
  tool: string;
  /** The Debian package that ships the tool. */
  pkg: string;
  /** What the allocator does when asked for a dump. */
  dumpCall: string;
  /** Environment that turns the heap profiler on, merged over the variant's own. */
  env(dir: string, base: Record<string, string>): Record<string, string>;
}

export interface AllocatorRow {
  /** The Debian packages: the runtime library, and what builds against it. */
  packages: { runtime: string; dev: string };
  /** The shared object of the runtime package a target preloads (glibc's is libc itself:
   * preloading it puts glibc's malloc first even in a target that links another). */
  soname: string;
  /** Recognizes the allocator's library in a path (/proc/<pid>/maps, ldd); null for glibc,
   * which is what serves malloc when no other allocator is mapped. */
  library: RegExp | null;
  /** The process-wide release, as reports name it. */
  releaseCall: string;
  /** The same release as a gdb expression (the attach release). */
  attachCall: string;
  /** The heap profiler, or why there is none. */
  profiler: Profiler | { unsupported: string };
  /** What the allocator's documentation says returns freed memory to the OS. Measured
   * effects of tuning are findings (docs/findings.md), not advice. */
  releaseAdvice: string;
  /** What the documentation offers when the release call does not return the memory: the
   * knobs that change where free memory sits, not the call itself. */
  otherRemedies: string;
}

/** jemalloc samples one allocation per 2^LG_PROF_SAMPLE bytes on average (its default, 19 =
 * 512 KiB); `npm run bench -- profile` measures the cost (docs/profiles.md). */
export const LG_PROF_SAMPLE = 19;
/** tcmalloc's sampling interval in bytes, the same 512 KiB. */
export const TCMALLOC_SAMPLE = 2 ** LG_PROF_SAMPLE;

export const ALLOCATOR: Record<Allocator, AllocatorRow> = {
  glibc: {
    packages: { runtime: 'libc6', dev: 'libc6-dev' },
    soname: 'libc.so.6',
    library: null,
    releaseCall: 'malloc_trim(0)',
    attachCall: '(int)malloc_trim(0)',
    profiler: { unsupported: 'glibc malloc has no heap profiler (profile the jemalloc or tcmalloc variant)' },
    releaseAdvice: 'call malloc_trim(0) when idle (since glibc 2.8 it frees memory in all arenas and in every chunk with whole free pages), '
      + 'or lower M_TRIM_THRESHOLD (glibc.malloc.trim_threshold), the free space at the top of the heap above which free() trims it',
    otherRemedies: 'glibc\'s malloc_trim trims the top of the main heap but not the top chunk of a thread arena, which only free() trims, '
      + 'past M_TRIM_THRESHOLD (a threshold that rises with large frees unless it is set): set M_TRIM_THRESHOLD (glibc.malloc.trim_threshold, which also '
      + 'stops its rise), or fewer arenas with MALLOC_ARENA_MAX (glibc.malloc.arena_max)',
  },
  tcmalloc: {
    packages: { runtime: 'libgoogle-perftools4', dev: 'libgoogle-perftools-dev' },
    soname: 'libtcmalloc.so.4',
    library: /\blibtcmalloc(_minimal)?[^/]*\.so/,
    releaseCall: 'MallocExtension::instance()->ReleaseFreeMemory()',
    attachCall: '(void)MallocExtension_ReleaseFreeMemory()',
    // tcmalloc's own sampled heap (GetHeapSample), one allocation per TCMALLOC_SAMPLE_PARAMETER
    // bytes on average. Not gperftools' heap profiler (HEAPPROFILE): that one records every
    // allocation and cut the relay's throughput about tenfold (docs/profiles.md); the relay's
    // profile-dump still uses it when HEAPPROFILE is set by hand.
    profiler: {
      allocator: 'tcmalloc', tool: 'google-pprof', pkg: 'google-perftools', dumpCall: 'MallocExtension::GetHeapSample()',
      env: () => ({ TCMALLOC_SAMPLE_PARAMETER: String(TCMALLOC_SAMPLE) }),
    },
    releaseAdvice: 'call MallocExtension::instance()->ReleaseFreeMemory() (releases as much free memory as possible to the OS) when idle or periodically; '
      + 'TCMALLOC_RELEASE_RATE sets the rate at which unused memory is released (0 = never, higher = faster; documented range 0-10)',
    otherRemedies: 'memory in thread caches is bounded by TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES; the page heap is returned by ReleaseFreeMemory() '
      + 'or TCMALLOC_RELEASE_RATE',
  },
  jemalloc: {
    packages: { runtime: 'libjemalloc2', dev: 'libjemalloc-dev' },
    soname: 'libjemalloc.so.2',
    library: /\blibjemalloc[^/]*\.so/,
    releaseCall: 'mallctl("arena.<MALLCTL_ARENAS_ALL>.purge")',
    attachCall: '(int)mallctl("arena.4096.purge", 0, 0, 0, 0)',
    profiler: {
      allocator: 'jemalloc', tool: 'jeprof', pkg: 'libjemalloc-dev', dumpCall: 'mallctl("prof.dump")',
      env: (_dir, base) => ({
        MALLOC_CONF: [base.MALLOC_CONF, `prof:true,prof_active:true,lg_prof_sample:${LG_PROF_SAMPLE}`].filter(Boolean).join(','),
      }),
    },
    releaseAdvice: 'purge with mallctl("arena.<MALLCTL_ARENAS_ALL>.purge") when idle, or lower dirty_decay_ms/muzzy_decay_ms '
      + '(the approximate time before unused pages are purged; 0 = at once); background_thread:true hands purging to background threads',
    otherRemedies: 'lower dirty_decay_ms and muzzy_decay_ms, use fewer arenas (narenas), or flush thread caches (thread.tcache.flush) on every thread',
  },
  mimalloc: {
    packages: { runtime: 'libmimalloc2.0', dev: 'libmimalloc-dev' },
    soname: 'libmimalloc.so.2',
    library: /\blibmimalloc[^/]*\.so/,
    releaseCall: 'mi_collect(true)',
    attachCall: '(void)mi_collect(1)',
    profiler: { unsupported: 'mimalloc has no heap profiler (profile the jemalloc or tcmalloc variant)' },
    releaseAdvice: 'call mi_collect(true) (returns memory to the OS aggressively) when idle, or lower the delay after which unused pages are returned '
      + '(MIMALLOC_DECOMMIT_DELAY in 2.0, MIMALLOC_PURGE_DELAY from 2.1; 0 = at once)',
    otherRemedies: 'mi_collect(true) reaches only the calling thread\'s heap and the heaps abandoned by exited threads: lower MIMALLOC_DECOMMIT_DELAY '
      + '(MIMALLOC_PURGE_DELAY from 2.1) so that every thread returns pages itself',
  },
};

/** The row of a known allocator, or undefined for a label the lab could not name ('unknown'). */
export function allocatorRow(name: string | null): AllocatorRow | undefined {
  return name === null ? undefined : (ALLOCATOR as Record<string, AllocatorRow | undefined>)[name];
}

/** The allocator's profiler, or why it has none. */
export function profilerFor(allocator: string | null): Profiler | { unsupported: string } {
  if (allocator === null) return { unsupported: 'an as-built target: profiles come with a jemalloc or tcmalloc variant' };
  return allocatorRow(allocator)?.profiler ?? { unsupported: `${allocator} has no heap profiler` };
}

/** The allocators whose library appears in `text` (a process's maps, ldd's output). */
export function allocatorsNamedIn(text: string): Allocator[] {
  return (Object.keys(ALLOCATOR) as Allocator[]).filter((a) => ALLOCATOR[a].library?.test(text));
}
