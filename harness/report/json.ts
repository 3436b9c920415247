// summary.json: one object per scenario x variant (bytes in bytes, times in ms, ratios as fractions).
import type { SummaryRow } from '../core/types.js';

export function summaryJson(summary: readonly SummaryRow[]): string {
  return JSON.stringify(summary, null, 2) + '\n';
}
