// The ledger at the retention point, as the terminal and report.md show it: where each
// variant's RSS sat right before the release (the kernel's split, core/smaps.ts), and how
// much of the resident heap the program did not use by the allocator's count. Runs made
// before the ledger existed have none: no table.
import type { SummaryRow } from '../core/types.js';
import { formatMiB } from '../core/units.js';

export const LEDGER_HEAD = ['variant', 'brk heap MiB', 'anonymous MiB', 'stacks MiB', 'file MiB', 'other MiB', 'LazyFree MiB', 'heap not in use MiB'];

const LEDGER_METRICS = ['ledgerBrkHeap', 'ledgerAnonymous', 'ledgerStacks', 'ledgerFile', 'ledgerOther', 'ledgerLazyFree', 'ledgerHeapNotInUse'] as const;

export const LEDGER_TITLE = 'Where RSS sat before the release (medians; heap not in use = brk heap + anonymous - the allocator\'s in-use bytes)';

/** One row per variant that has a ledger; none when no row has one. */
export function ledgerRows(rows: readonly SummaryRow[]): string[][] {
  return rows.filter((r) => r.metrics.ledgerAnonymous?.median !== undefined && r.metrics.ledgerAnonymous.median !== null)
    .map((r) => [r.variant, ...LEDGER_METRICS.map((k) => formatMiB(r.metrics[k]?.median ?? null))]);
}
