// Variants: an allocator (a relay binary) plus its run-time tuning. Data, not code.
import { existsSync } from 'node:fs';
import { execaSync } from 'execa';
import { binaryPath } from './paths.js';

export const ALLOCATORS = ['glibc', 'tcmalloc', 'jemalloc', 'mimalloc'] as const;
export type Allocator = (typeof ALLOCATORS)[number];

/** The Debian packages behind each allocator: the runtime library and what builds against it. */
export const ALLOCATOR_PACKAGES: Record<Allocator, { runtime: string; dev: string }> = {
  glibc: { runtime: 'libc6', dev: 'libc6-dev' },
  tcmalloc: { runtime: 'libgoogle-perftools4', dev: 'libgoogle-perftools-dev' },
  jemalloc: { runtime: 'libjemalloc2', dev: 'libjemalloc-dev' },
  mimalloc: { runtime: 'libmimalloc2.0', dev: 'libmimalloc-dev' },
};

export interface Variant {
  id: string;
  allocator: Allocator;
  description: string;
  /** Environment set for the relay process only. */
  env: Record<string, string>;
  /** Part of a run when --variants is not given. */
  isDefault: boolean;
}

export const VARIANTS: readonly Variant[] = [
  { id: 'glibc', allocator: 'glibc', description: 'glibc malloc (ptmalloc2), defaults; release = malloc_trim(0)', env: {}, isDefault: true },
  { id: 'tcmalloc', allocator: 'tcmalloc', description: 'gperftools tcmalloc, defaults (TCMALLOC_RELEASE_RATE=1); release = ReleaseFreeMemory()', env: {}, isDefault: true },
  { id: 'jemalloc', allocator: 'jemalloc', description: 'jemalloc, defaults (10 s dirty decay); release = arena.<all>.purge', env: {}, isDefault: true },
  { id: 'mimalloc', allocator: 'mimalloc', description: 'mimalloc, defaults; release = mi_collect(true)', env: {}, isDefault: true },
];

export function relayBinary(v: Variant): string {
  return binaryPath(`relay-${v.allocator}`);
}

export interface VariantStatus {
  id: string;
  allocator: Allocator;
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
  const pkgs = ALLOCATOR_PACKAGES[v.allocator];
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

export function findVariant(id: string): Variant | undefined {
  return VARIANTS.find((v) => v.id === id);
}
