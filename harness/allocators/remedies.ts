// The remedies a verdict can be tried with, per allocator: each is exactly one of a tuned
// variant (an environment the allocator documents), a periodic release (the allocator's
// release called every few seconds through the subject's control channel), or a swap to
// another allocator. `lab run --remedies` re-runs a scenario with each and measures it
// (run/run.ts, analysis/remedy.ts); nothing here is advice until it has been measured.
import type { Allocator } from '../core/types.js';
import { findVariant } from './variants.js';

export type Remedy =
  | { id: string; kind: 'variant'; variant: string; label: string }
  | { id: string; kind: 'release-every'; everyMs: number; label: string }
  | { id: string; kind: 'swap'; variant: string; label: string };

/** A periodic release every 5 s (every 1 s in a --quick run, whose idle is short). */
export const RELEASE_EVERY_MS = { full: 5000, quick: 1000 } as const;

function periodic(allocator: Allocator, quick: boolean): Remedy {
  const ms = quick ? RELEASE_EVERY_MS.quick : RELEASE_EVERY_MS.full;
  const call = { glibc: 'malloc_trim(0)', tcmalloc: 'ReleaseFreeMemory()', jemalloc: 'arena purge', mimalloc: 'mi_collect(true)' }[allocator];
  return { id: `release-${ms / 1000}s`, kind: 'release-every', everyMs: ms, label: `a periodic ${call} every ${ms / 1000} s` };
}

const tuned = (variant: string): Remedy => {
  const v = findVariant(variant)!;
  return { id: variant, kind: 'variant', variant, label: Object.entries(v.env).map(([k, x]) => `${k}=${x}`).join(' ') };
};

const swap = (variant: string): Remedy => ({ id: `swap-${variant}`, kind: 'swap', variant, label: `a swap to ${variant}` });

/** The remedies to try for a row of `allocator`, in the order they are tried (the first ones
 * while a --remedy-budget lasts): the allocator's own release on a timer, its documented
 * tunings, then a swap to jemalloc. */
export function remediesFor(allocator: Allocator, quick: boolean): Remedy[] {
  switch (allocator) {
    case 'glibc': return [periodic('glibc', quick), tuned('glibc-trim'), tuned('glibc-arenas2'), swap('jemalloc')];
    case 'tcmalloc': return [periodic('tcmalloc', quick), tuned('tcmalloc-rate10'), swap('jemalloc')];
    case 'jemalloc': return [periodic('jemalloc', quick), tuned('jemalloc-decay0'), tuned('jemalloc-bg')];
    case 'mimalloc': return [periodic('mimalloc', quick), tuned('mimalloc-eager'), swap('jemalloc')];
  }
}

/** The variant id of a remedied row: the original variant, '+', the remedy ("tcmalloc+release-5s"). */
export function remedyVariantId(original: string, remedy: Remedy): string {
  return `${original}+${remedy.id}`;
}

/** Every remedy id, for checking ceilings that name a remedied row. */
export function remedyIds(): string[] {
  const all = (['glibc', 'tcmalloc', 'jemalloc', 'mimalloc'] as const).flatMap((a) => [...remediesFor(a, false), ...remediesFor(a, true)]);
  return [...new Set(all.map((r) => r.id))].sort();
}
