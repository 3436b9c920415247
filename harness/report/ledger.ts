// The ledger at the retention point, as the terminal and report.md show it: one column per
// variant, one line per place the resident memory sits. First the kernel's split of RSS
// (core/smaps.ts), then the allocator's side (analysis/ledger.ts): what the program uses by
// the allocator's count, each pool the allocator reports, and the remainder, marked when it
// is over the tolerance fixed in advance (5% of RSS or 8 MiB). Runs made before the ledger
// existed have none: no table, so their reports stay as they were.
import { POOL_LABELS, TOLERANCE } from '../analysis/ledger.js';
import type { SummaryRow } from '../core/types.js';
import { formatMiB } from '../core/units.js';

export const LEDGER_TITLE = 'Where RSS sat right before the release (MiB, medians)';

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

/** One stacked bar per variant: where its RSS sat, in the order of the table; the heap's
 * parts are the allocator's (in use, each resident pool, the remainder when positive), or
 * the kernel's brk heap and anonymous memory when the allocator has no count. */
export function ledgerBars(rows: readonly SummaryRow[]): Array<{ variant: string; total: number; segments: Array<{ label: string; bytes: number }> }> {
  return rows.filter((r) => med(r, 'ledgerAnonymous') !== null).map((r) => {
    const inUse = med(r, 'ledgerInUse');
    const heap = inUse === null
      ? [{ label: 'brk heap', bytes: med(r, 'ledgerBrkHeap') ?? 0 }, { label: 'anonymous', bytes: med(r, 'ledgerAnonymous') ?? 0 }]
      : [
        { label: 'in use by the program', bytes: inUse },
        ...Object.keys(r.metrics).filter((k) => k.startsWith('pool.') && RESIDENT_POOLS.has(k.slice(5)))
          .map((k) => ({ label: POOL_LABELS[k.slice(5)] ?? k, bytes: med(r, k) ?? 0 })),
        { label: 'unexplained', bytes: Math.max(0, med(r, 'ledgerUnexplained') ?? 0) },
      ];
    const segments = [...heap, { label: 'thread stacks', bytes: med(r, 'ledgerStacks') ?? 0 }, { label: 'file-backed', bytes: med(r, 'ledgerFile') ?? 0 },
      { label: 'other', bytes: med(r, 'ledgerOther') ?? 0 }].filter((x) => x.bytes > 0);
    return { variant: r.variant, total: segments.reduce((s, x) => s + x.bytes, 0), segments };
  });
}

/** The pools counted inside the resident heap (the others are apart or a part of one). */
const RESIDENT_POOLS = new Set(['pageheapFree', 'centralCache', 'transferCache', 'threadCaches', 'metadata', 'activeMinusAllocated', 'dirtyMuzzy', 'fordblks']);
