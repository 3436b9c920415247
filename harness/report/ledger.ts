// The ledger at the retention point, as the terminal and report.md show it: one column per
// variant, one line per place the resident memory sits. First the kernel's split of RSS
// (core/smaps.ts), then the allocator's side (analysis/ledger.ts): what the program uses by
// the allocator's count, each pool the allocator reports, and the remainder, marked when it
// is over the tolerance fixed in advance (5% of RSS or 8 MiB). Runs made before the ledger
// existed have none: no table, so their reports stay as they were.
import { POOL_LABELS, POOLS, TOLERANCE, allocatorLedger } from '../analysis/ledger.js';
import type { LedgerEvent, SummaryRow } from '../core/types.js';
import { formatMiB } from '../core/units.js';

export const LEDGER_TITLE = 'Where RSS sat right before the release (MiB, medians)';
export const PHASE_LEDGER_TITLE = 'Where RSS sat at each phase end (one trial per variant)';

const KERNEL_LINES: Array<[string, string]> = [
  ['brk heap', 'ledgerBrkHeap'], ['anonymous', 'ledgerAnonymous'], ['thread stacks', 'ledgerStacks'],
  ['file-backed', 'ledgerFile'], ['other', 'ledgerOther'], ['of which LazyFree', 'ledgerLazyFree'],
];

const med = (r: SummaryRow, k: string) => r.metrics[k]?.median ?? null;

/** Why an allocator's figures cannot meet the tolerance, where they cannot. */
const OVER_WHY: Readonly<Record<string, string>> = {
  mimalloc: 'mimalloc 2.0.9 exposes no pools',
  jemalloc: 'stats.allocated counts whole size classes, untouched pages of large ones too, and stats.resident is a maximum',
};

function unexplainedCell(r: SummaryRow): string {
  const u = med(r, 'ledgerUnexplained');
  const rss = med(r, 'retainedRss');
  if (u === null) return '-';
  const over = rss !== null && Math.abs(u) > Math.max(TOLERANCE.fraction * rss, TOLERANCE.floorBytes);
  return `${formatMiB(u)}${over ? ` (over tolerance${OVER_WHY[r.allocator] ? `: ${OVER_WHY[r.allocator]}` : ''})` : ''}`;
}

/** The table: a head (the variants) and its lines; null when no row has a ledger. */
export function ledgerTable(rows: readonly SummaryRow[]): { head: string[]; body: string[][] } | null {
  const withLedger = rows.filter((r) => med(r, 'ledgerAnonymous') !== null);
  if (withLedger.length === 0) return null;
  const pools = [...new Set(withLedger.flatMap((r) => Object.keys(r.metrics).filter((k) => k.startsWith('pool.'))))];
  const line = (label: string, cell: (r: SummaryRow) => string) => [label, ...withLedger.map(cell)];
  const body = [
    ...KERNEL_LINES.map(([label, k]) => line(label, (r) => formatMiB(med(r, k)))),
    line('in use by the program (allocator\'s count)', (r) => formatMiB(med(r, 'ledgerInUse'))),
    ...pools.map((k) => line(POOL_LABELS[k.slice('pool.'.length)] ?? k, (r) => formatMiB(med(r, k)))),
    line('unexplained (heap - in use - resident pools)', unexplainedCell),
  ];
  return { head: ['', ...withLedger.map((r) => r.variant)], body };
}

interface Bar { label: string; total: number; segments: Array<{ label: string; bytes: number }> }

/** The parts of one bar, in the order of the table: the heap's parts are the allocator's
 * (in use, each resident pool, the remainder when positive), or the kernel's brk heap and
 * anonymous memory when the allocator has no count; then what sits outside the heap. */
function barOf(label: string, kernel: { brkHeap: number; anonymous: number; stacks: number; file: number; other: number },
  own: { inUse: number | null; pools: Array<{ id: string; bytes: number }>; unexplained: number | null }): Bar {
  const heap = own.inUse === null
    ? [{ label: 'brk heap', bytes: kernel.brkHeap }, { label: 'anonymous', bytes: kernel.anonymous }]
    : [
      { label: 'in use by the program', bytes: own.inUse },
      ...own.pools.filter((p) => POOLS[p.id]?.resident).map((p) => ({ label: POOL_LABELS[p.id] ?? p.id, bytes: p.bytes })),
      { label: 'unexplained', bytes: Math.max(0, own.unexplained ?? 0) },
    ];
  const segments = [...heap, { label: 'thread stacks', bytes: kernel.stacks }, { label: 'file-backed', bytes: kernel.file },
    { label: 'other', bytes: kernel.other }].filter((x) => x.bytes > 0);
  return { label, total: segments.reduce((t, x) => t + x.bytes, 0), segments };
}

/** One stacked bar per variant: where its RSS sat at the retention point (medians). */
export function ledgerBars(rows: readonly SummaryRow[]): Bar[] {
  return rows.filter((r) => med(r, 'ledgerAnonymous') !== null).map((r) => barOf(r.variant, {
    brkHeap: med(r, 'ledgerBrkHeap') ?? 0, anonymous: med(r, 'ledgerAnonymous') ?? 0, stacks: med(r, 'ledgerStacks') ?? 0,
    file: med(r, 'ledgerFile') ?? 0, other: med(r, 'ledgerOther') ?? 0,
  }, {
    inUse: med(r, 'ledgerInUse'),
    pools: Object.keys(r.metrics).filter((k) => k.startsWith('pool.')).map((k) => ({ id: k.slice(5), bytes: med(r, k) ?? 0 })),
    unexplained: med(r, 'ledgerUnexplained'),
  }));
}

/** One stacked bar per phase end (and right before and after a release) of one trial: where
 * its RSS sat at each reading of the ledger, as events.jsonl recorded it. */
export function phaseBars(allocator: string, ledgers: readonly LedgerEvent[]): Bar[] {
  return ledgers.map((e) => {
    const own = allocatorLedger(allocator, e.alloc, e.split, e.arenas ?? null);
    const label = e.point === 'phase-end' ? `end of ${e.phase}` : `${e.point === 'before-release' ? 'before' : 'after'} the release`;
    return barOf(label, e.split, own ?? { inUse: null, pools: [], unexplained: null });
  });
}
