// What the harness preloads into a target: the allocator's Debian shared library (found in
// the installed package's file list, so no architecture is hard-coded) and the probe
// (build/native/libleaklab-probe.so). A missing package is exit 3 naming it.
import { existsSync } from 'node:fs';
import { execaSync } from 'execa';
import { LabError } from '../../core/errors.js';
import { binaryPath } from '../../core/paths.js';
import type { Allocator } from '../../core/types.js';
import { ALLOCATOR } from '../../allocators/registry.js';


export const PROBE_LIBRARY = 'libleaklab-probe.so';

/** Files of an installed Debian package (`dpkg -L`), or [] when it is not installed. */
export function packageFiles(pkg: string): string[] {
  const r = execaSync('dpkg', ['-L', pkg], { reject: false });
  return r.exitCode === 0 ? r.stdout.split('\n').filter(Boolean) : [];
}

/** The path of `soname` among the files of `pkg` (the multiarch folder of this machine);
 * null when the package is missing or does not ship it. */
export function findInPackage(pkg: string, soname: string, files = packageFiles(pkg)): string | null {
  const hits = files.filter((f) => f.endsWith(`/${soname}`) && existsSync(f));
  // /usr/lib/<triplet>/ and /lib/<triplet>/ name the same file on merged-/usr systems.
  return hits.find((f) => f.startsWith('/usr/')) ?? hits[0] ?? null;
}

const cache = new Map<Allocator, string>();

/** The allocator's shared library to put in LD_PRELOAD; LabError (exit 3) naming the
 * runtime package when it is not installed. */
export function allocatorLibrary(allocator: Allocator): string {
  const hit = cache.get(allocator);
  if (hit) return hit;
  const path = libraryFromPackage(allocator, ALLOCATOR[allocator].packages.runtime, ALLOCATOR[allocator].soname);
  cache.set(allocator, path);
  return path;
}

/** `soname` from `pkg`, or LabError allocatorLibraryMissing (exit 3) naming the package. */
export function libraryFromPackage(allocator: string, pkg: string, soname: string): string {
  const path = findInPackage(pkg, soname);
  if (!path) throw new LabError('allocatorLibraryMissing', { allocator, pkg, soname });
  return path;
}

/** The built probe; LabError (exit 3) when it is not built. */
export function probeLibrary(): string {
  const path = binaryPath(PROBE_LIBRARY);
  if (!existsSync(path)) throw new LabError('probeMissing', { path });
  return path;
}

/** LD_PRELOAD for a target: the probe first, then the allocator (`allocator` null means
 * as-built: the probe alone). First, because the dynamic linker binds malloc to the first
 * definition: only then does the probe's counting layer see every call (docs/targets.md). */
export function preloadValue(allocator: Allocator | null, withProbe = true): string {
  const parts = [
    ...(withProbe ? [probeLibrary()] : []),
    ...(allocator ? [allocatorLibrary(allocator)] : []),
  ];
  return parts.join(':');
}

/** Whether the probe counts in-use bytes itself (LEAKLAB_PROBE_COUNT=1): where the
 * allocator does not count them, mimalloc's release build, and as-built, where the
 * allocator serving malloc is not known before the target starts (the probe reports the
 * allocator's own figure when it has one, the count beside it). */
export function probeCounts(allocator: Allocator | null): boolean {
  return allocator === null || allocator === 'mimalloc';
}

/** The environment that turns the probe on, writing its announcement into `probeDir`. */
export function preloadEnv(allocator: Allocator | null, probeDir: string | null): Record<string, string> {
  const preload = preloadValue(allocator, probeDir !== null);
  return {
    ...(preload ? { LD_PRELOAD: preload } : {}),
    ...(probeDir !== null ? { LEAKLAB_PROBE_DIR: probeDir } : {}),
    ...(probeDir !== null && probeCounts(allocator) ? { LEAKLAB_PROBE_COUNT: '1' } : {}),
  };
}
