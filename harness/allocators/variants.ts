// Variants: an allocator (a relay binary) plus its run-time tuning. Data, not code.
import { existsSync } from 'node:fs';
import { execaSync } from 'execa';
import { binaryPath } from '../core/paths.js';

import { ALLOCATORS, type Allocator } from '../core/types.js';
import { ALLOCATOR } from './registry.js';

export { ALLOCATORS, type Allocator };


export interface Variant {
  id: string;
  /** null for `as-built` (a target run as it is: its allocator is what it reports). */
  allocator: Allocator | null;
  description: string;
  /** Environment set for the relay process only. */
  env: Record<string, string>;
  /** Part of a run when --variants is not given. */
  isDefault: boolean;
  /** Allocator counters (keys of the relay's stats `alloc` object) that must read these
   * values when the tuning took effect: allocators ignore unknown option names silently,
   * so every tuned variant says how to check it (test/native/variants.test.ts does). */
  expect?: Record<string, number>;
}

/** A variant of the built-in relay (and a preload variant of a target): it has an allocator. */
export type AllocatorVariant = Variant & { allocator: Allocator };

export const VARIANTS: readonly AllocatorVariant[] = [
  { id: 'glibc', allocator: 'glibc', description: 'glibc malloc (ptmalloc2), defaults; release = malloc_trim(0)', env: {}, isDefault: true },
  { id: 'tcmalloc', allocator: 'tcmalloc', description: 'gperftools tcmalloc, defaults (TCMALLOC_RELEASE_RATE=1); release = ReleaseFreeMemory()', env: {}, isDefault: true },
  { id: 'jemalloc', allocator: 'jemalloc', description: 'jemalloc, defaults (10 s dirty decay); release = arena.<all>.purge', env: {}, isDefault: true },
  { id: 'mimalloc', allocator: 'mimalloc', description: 'mimalloc, defaults; release = mi_collect(true)', env: {}, isDefault: true },
  // Tuned variants: run them with --variants (the `tuning` scenario lists them all).
  {
    id: 'tcmalloc-rate0', allocator: 'tcmalloc', isDefault: false,
    description: 'tcmalloc, TCMALLOC_RELEASE_RATE=0: never returns free pages by itself (the story\'s setting)',
    env: { TCMALLOC_RELEASE_RATE: '0' }, expect: { 'opt.release_rate': 0 },
  },
  {
    id: 'tcmalloc-rate10', allocator: 'tcmalloc', isDefault: false,
    description: 'tcmalloc, TCMALLOC_RELEASE_RATE=10: returns free pages 10x faster while allocating',
    env: { TCMALLOC_RELEASE_RATE: '10' }, expect: { 'opt.release_rate': 10 },
  },
  {
    id: 'jemalloc-decay0', allocator: 'jemalloc', isDefault: false,
    description: 'jemalloc, dirty_decay_ms:0,muzzy_decay_ms:0: purges freed pages at once',
    env: { MALLOC_CONF: 'dirty_decay_ms:0,muzzy_decay_ms:0' }, expect: { 'opt.dirty_decay_ms': 0, 'opt.muzzy_decay_ms': 0 },
  },
  {
    id: 'jemalloc-bg', allocator: 'jemalloc', isDefault: false,
    description: 'jemalloc, background_thread:true: decay runs on its own thread, also when idle',
    env: { MALLOC_CONF: 'background_thread:true' }, expect: { 'opt.background_thread': 1 },
  },
  {
    id: 'glibc-arenas2', allocator: 'glibc', isDefault: false,
    description: 'glibc, MALLOC_ARENA_MAX=2: at most two arenas for all threads',
    env: { MALLOC_ARENA_MAX: '2' },
  },
  {
    id: 'glibc-trim', allocator: 'glibc', isDefault: false,
    description: 'glibc, GLIBC_TUNABLES=glibc.malloc.trim_threshold=131072: trims the heap top past 128 KiB free (and stops the dynamic mmap threshold)',
    env: { GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=131072' },
  },
  {
    id: 'mimalloc-eager', allocator: 'mimalloc', isDefault: false,
    description: 'mimalloc, MIMALLOC_DECOMMIT_DELAY=0 and MIMALLOC_SEGMENT_DECOMMIT_DELAY=0: decommits freed memory at once',
    env: { MIMALLOC_DECOMMIT_DELAY: '0', MIMALLOC_SEGMENT_DECOMMIT_DELAY: '0' },
    expect: { 'opt.decommit_delay': 0, 'opt.segment_decommit_delay': 0 },
  },
];

/** A target run as it is built, with nothing preloaded but the probe. */
export const AS_BUILT = 'as-built';
export const AS_BUILT_VARIANT: Variant = {
  id: AS_BUILT, allocator: null, isDefault: false, env: {},
  description: 'a target as it is built: no allocator preloaded; labelled with the allocator the probe finds serving malloc',
};

/** Every variant: the allocator variants, then as-built. */
export const ALL_VARIANTS: readonly Variant[] = [...VARIANTS, AS_BUILT_VARIANT];

/** Every variant id, as --variants and the ceilings file take them. */
export function variantIds(): string[] {
  return ALL_VARIANTS.map((v) => v.id);
}

export function relayBinary(v: Variant): string {
  if (v.allocator === null) throw new Error(`variant '${v.id}' has no relay (targets only)`);
  return binaryPath(`relay-${v.allocator}`);
}

export interface VariantStatus {
  id: string;
  allocator: Allocator | null;
  available: boolean;
  version: string | null;
  reason: string | null;
}

/** The installed Debian version of a package, or null. */
export function debianVersion(pkg: string): string | null {
  try {
    const r = execaSync('dpkg-query', ['-W', '-f=${Version}', pkg], { reject: false });
    return r.exitCode === 0 && r.stdout ? r.stdout : null;
  } catch {
    return null;
  }
}

export function variantStatus(v: Variant): VariantStatus {
  if (v.allocator === null) return { id: v.id, allocator: null, available: true, version: null, reason: null };
  const pkgs = ALLOCATOR[v.allocator].packages;
  const version = debianVersion(pkgs.runtime);
  const built = existsSync(relayBinary(v));
  let reason: string | null = null;
  if (!built) {
    reason = debianVersion(pkgs.dev) === null
      ? `${pkgs.dev} is not installed (apt-get install ${pkgs.dev}, or npm run setup)`
      : `relay-${v.allocator} is not built yet (npm run lab -- build)`;
  }
  return { id: v.id, allocator: v.allocator, available: built, version, reason };
}

export function findVariant(id: string): AllocatorVariant | undefined {
  return VARIANTS.find((v) => v.id === id);
}
