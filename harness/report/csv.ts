// summary.csv: summary.json flattened, one row per scenario x variant x metric.
import { stringify } from 'csv-stringify/sync';
import { metricUnit } from '../analysis/metrics.js';
import type { SummaryRow } from '../core/types.js';

export const SUMMARY_COLUMNS = ['scenario', 'variant', 'allocator', 'trials', 'metric', 'unit', 'median', 'min', 'max'] as const;

export function summaryCsv(summary: readonly SummaryRow[]): string {
  const rows = summary.flatMap((r) =>
    Object.entries(r.metrics).map(([metric, v]) => [r.scenario, r.variant, r.allocator, r.trials, metric, metricUnit(metric), v.median, v.min, v.max]));
  return stringify(rows, { header: true, columns: [...SUMMARY_COLUMNS] });
}
