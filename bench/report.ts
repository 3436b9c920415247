// Every bench prints a readable table and writes the same figures as JSON under results/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Table from 'cli-table3';
import { RESULTS_DIR } from '../harness/core/paths.js';
import { collectEnvironment } from '../harness/run/environment.js';

export function writeBench(name: string, figures: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const file = join(RESULTS_DIR, `bench-${name}-${stamp}.json`);
  writeFileSync(file, JSON.stringify({ bench: name, at: new Date().toISOString(), environment: collectEnvironment(), figures }, null, 2) + '\n');
  return file;
}

export function table(head: string[], rows: Array<Array<string | number>>): string {
  const t = new Table({ head, style: { head: [], border: [] } });
  for (const r of rows) t.push(r.map(String));
  return t.toString();
}

/** The q-quantile as one of the values (the lower one between two): what the ledger and
 * inspect benches report as median and p99. */
export function sampleQuantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * (s.length - 1)))]! : NaN;
}
