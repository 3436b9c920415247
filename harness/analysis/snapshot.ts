// The verdict on a live process the lab did not start (`lab inspect <pid>`): from snapshots
// of where its resident memory sits (the kernel's split: heap and other anonymous memory,
// stacks, files) and the allocator's own count of the bytes in use, and, with --release,
// what the allocator's release gave back. The same vocabulary and thresholds as a run's
// verdict (diagnosis.ts), with what a live process cannot tell said plainly: without a
// repeated load, growing in-use bytes are a leak or a cache still filling, and one snapshot
// cannot tell whether they still grow. Pure functions.
import { mibText } from '../core/units.js';
import type { Severity, VerdictKind } from '../core/types.js';
import { allocatorRow } from '../allocators/registry.js';
import { THRESHOLDS } from './diagnosis.js';


/** One look at the process. */
export interface Snapshot {
  tMs: number;
  rss: number;
  /** Resident anonymous memory: the brk heap and every other anonymous mapping (the
   * allocator's arenas and the program's own mmaps), stacks left out. */
  heapResident: number;
  /** The allocator's in-use (allocated) bytes; null when it counts none (mimalloc 2.0.9). */
  inUse: number | null;
}

export interface SnapshotVerdict {
  kind: VerdictKind;
  severity: Severity;
  /** What was measured and the conditions evaluated, each with its value. */
  rule: string;
  /** What it means and what to do. */
  advice: string;
}

export interface SnapshotInputs {
  allocator: string;
  /** The first and the last snapshot (the same one without --watch). */
  first: Snapshot;
  last: Snapshot;
  /** RSS right before and right after the allocator's release (--release), else null. */
  release: { before: number; after: number } | null;
  /** How to profile the growth at the next start (the allocator's heap profiler settings). */
  profileHint: string;
}

/** Growth of in-use bytes a watch must see before it calls them growing. */
const growthFloor = THRESHOLDS.floorBytes;

export function snapshotVerdict(i: SnapshotInputs): SnapshotVerdict {
  const t = THRESHOLDS;
  const rules: string[] = [];
  const heap = i.last.heapResident;
  const floorOk = heap >= t.floorBytes;
  rules.push(`resident heap ${mibText(heap)} ${floorOk ? '>=' : '<'} ${mibText(t.floorBytes)}`);
  if (!floorOk) return { kind: 'healthy', severity: 'ok', rule: rules.join('; '), advice: 'nothing to do: the heap is small' };

  const returned = i.release ? i.release.before - i.release.after : null;
  if (i.last.inUse === null) return withoutInUse(i, heap, returned, rules);

  const inUse = i.last.inUse;
  const notInUse = heap - inUse;
  const programShare = inUse / heap;
  if (programShare >= t.heldMin) {
    rules.push(`in use by the program ${mibText(inUse)} = ${programShare.toFixed(2)} of the resident heap >= ${t.heldMin.toFixed(2)}`);
    return programVerdict(i, inUse, heap, rules);
  }
  rules.push(`in use by the program ${mibText(inUse)} = ${programShare.toFixed(2)} of the resident heap < ${t.heldMin.toFixed(2)}`);
  rules.push(`resident heap not in use ${mibText(notInUse)}`);
  if (returned === null) {
    rules.push('no release made');
    return {
      kind: 'inconclusive', severity: 'warning', rule: rules.join('; '),
      advice: `${mibText(notInUse)} of the resident heap is not in use, but whether the allocator can return it or it is pinned between live objects needs a release: run again with --release`,
    };
  }
  return freeVerdict(i.allocator, notInUse, returned, heap, rules);
}

/** The resident heap not in use, judged by what the release returned. */
function freeVerdict(allocator: string, notInUse: number, returned: number, heap: number, rules: string[]): SnapshotVerdict {
  const t = THRESHOLDS;
  const helped = returned >= t.releaseHelpsMin * notInUse;
  rules.push(`returned by the release ${mibText(returned)} ${helped ? '>=' : '<'} ${t.releaseHelpsMin} x ${mibText(notInUse)}`);
  const severity: Severity = notInUse / heap >= t.criticalFraction ? 'critical' : 'warning';
  const row = allocatorRow(allocator);
  if (helped) {
    return {
      kind: 'retention', severity, rule: rules.join('; '),
      advice: `the allocator kept ${mibText(notInUse)} of free memory resident and its release returned ${mibText(returned)}: ${row?.releaseAdvice ?? 'call its release function when idle'}`,
    };
  }
  const pinned = notInUse - Math.max(0, returned);
  return {
    kind: 'fragmentation', severity, rule: rules.join('; '),
    advice: `${mibText(pinned)} of the heap is not in use and stayed resident through the release: free memory pinned between live objects (or the program's own anonymous mappings, which no release returns). `
      + `${row?.otherRemedies ?? 'see the allocator\'s manual for what returns free memory sooner'}`,
  };
}

/** The program uses most of the heap: a leak, a cache still filling, or a cache that
 * stopped. Only a watch tells whether it still grows; nothing on a live process tells a
 * leak from a filling cache. */
function programVerdict(i: SnapshotInputs, inUse: number, heap: number, rules: string[]): SnapshotVerdict {
  const watched = i.last.tMs - i.first.tMs;
  const howToTell = `a live process without repeated load cannot tell a leak from a cache that is still filling: at its next start, profile its growth (${i.profileHint}) and compare dumps taken after equal amounts of work, or run it under the lab with a repeated load`;
  if (watched <= 0 || i.first.inUse === null) {
    rules.push('one snapshot: growth not measured');
    return {
      kind: 'inconclusive', severity: 'warning', rule: rules.join('; '),
      advice: `the program itself uses ${mibText(inUse)} of the ${mibText(heap)} resident heap: no release returns memory in use. Whether it still grows needs --watch; ${howToTell}`,
    };
  }
  const grew = inUse - i.first.inUse;
  const growing = grew >= growthFloor;
  rules.push(`in use grew ${mibText(grew)} over ${(watched / 1000).toFixed(1)} s ${growing ? '>=' : '<'} ${mibText(growthFloor)}`);
  if (growing) {
    return {
      kind: 'inconclusive', severity: 'warning', rule: rules.join('; '),
      advice: `the program's in-use bytes grew ${mibText(grew)} in ${(watched / 1000).toFixed(1)} s: a leak or a cache still filling; ${howToTell}`,
    };
  }
  return {
    kind: 'held-by-program', severity: 'warning', rule: rules.join('; '),
    advice: `the program itself uses ${mibText(inUse)} of the ${mibText(heap)} resident heap and it did not grow while watched: a cache, pool or buffer inside the program, not the allocator (bound or shrink it); a release cannot return memory in use`,
  };
}

/** An allocator that counts no in-use bytes: only a release that returned most of the heap
 * settles it (memory in use cannot be returned). */
function withoutInUse(i: SnapshotInputs, heap: number, returned: number | null, rules: string[]): SnapshotVerdict {
  rules.push('in-use bytes not measured');
  if (returned !== null) {
    const enough = returned >= Math.max(THRESHOLDS.floorBytes, THRESHOLDS.releaseHelpsMin * heap);
    rules.push(`returned by the release ${mibText(returned)} ${enough ? '>=' : '<'} ${mibText(Math.max(THRESHOLDS.floorBytes, THRESHOLDS.releaseHelpsMin * heap))}`);
    if (enough) {
      return {
        kind: 'retention', severity: returned / heap >= THRESHOLDS.criticalFraction ? 'critical' : 'warning', rule: rules.join('; '),
        advice: `the release returned ${mibText(returned)} of the ${mibText(heap)} resident heap: ${allocatorRow(i.allocator)?.releaseAdvice ?? 'call the allocator\'s release function when idle'}`,
      };
    }
  }
  return {
    kind: 'inconclusive', severity: 'warning', rule: rules.join('; '),
    advice: `${i.allocator} reports no in-use bytes here, so the ${mibText(heap)} resident heap cannot be split between the program and the allocator${returned === null ? '; a release (--release) that returns most of it would settle it' : ''}. `
      + 'At the next start, run it under the lab with the probe\'s counting layer',
  };
}
