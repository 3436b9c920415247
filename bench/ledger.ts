// npm run bench -- ledger [--reads N]: what one ledger reading costs, per allocator, on the
// kv server (build/native/leaklab-kv, the allocator and the probe preloaded as for any
// target) filled to about the relay's burst peak (200 MiB) and to 1 GiB of 64-512 KiB
// values, and a fragmented heap (1 GiB of 100-300 B values, half of them deleted: millions
// of free chunks, glibc's worst case). A reading is what the trial runner does at each
// phase end: read /proc/<pid>/smaps and split it (core/smaps.ts, the harness's CPU), ask
// the probe for `stats-counters`, then for `ledger` (glibc: malloc_info by arena), each
// timed apart, with the probe's own time in the target (`stats_us`, `ledger_us`: what the
// allocator's locks are held for). Median and p99 over N readings, the mappings read, and
// the server's RSS before and after the readings (the observer effect on RSS).
import { execa } from 'execa';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Allocator } from '../harness/core/types.js';
import { readStatmRss } from '../harness/core/proc.js';
import { readRssSplit } from '../harness/core/smaps.js';
import { preloadEnv } from '../harness/subjects/target/preload.js';
import { openProbe } from '../harness/subjects/target/probe.js';
import { startKv, KV } from '../test/support/kv.js';
import { sampleQuantile, table, writeBench } from './report.js';

const MiB = 1024 * 1024;
const ALLOCATORS: Array<Allocator | null> = [null, 'tcmalloc', 'jemalloc', 'mimalloc'];
const HEAPS: ReadonlyArray<{ name: string; steps: string[][] }> = [
  { name: '200 MiB', steps: [['FILL', '200MiB', '64KiB', '512KiB', '1']] },
  { name: '1 GiB', steps: [['FILL', '1GiB', '64KiB', '512KiB', '1']] },
  { name: '1 GiB small, half deleted', steps: [['FILL', '1GiB', '100', '300', '1'], ['DELETE', '0.5', '2']] },
];

type Json = Record<string, any>;  // eslint-disable-line @typescript-eslint/no-explicit-any
const q = (xs: number[], p: number) => +sampleQuantile(xs, p).toFixed(3);

async function one(allocator: Allocator | null, heap: (typeof HEAPS)[number], reads: number) {
  const dir = mkdtempSync(join(tmpdir(), 'leaklab-ledger-bench-'));
  const kv = await startKv(['--mode', 'free'], preloadEnv(allocator, dir));
  const { admin } = await openProbe(dir, kv.pid, { timeoutMs: 10_000 });
  try {
    for (const step of heap.steps) await execa(KV, ['client', '--port', String(kv.port), '--timeout', '300', ...step]);
    const mappings = readFileSync(`/proc/${kv.pid}/maps`, 'latin1').split('\n').filter(Boolean).length;
    const rssBefore = readStatmRss(kv.pid)!;
    const t = { smaps: [] as number[], counters: [] as number[], ledger: [] as number[], statsUs: [] as number[], ledgerUs: [] as number[] };
    let arenas: number | null = null;
    for (let i = 0; i < reads; i++) {
      let t0 = performance.now();
      if (!readRssSplit(kv.pid)) throw new Error(`kv server ${kv.pid} gone`);
      t.smaps.push(performance.now() - t0);
      t0 = performance.now();
      const c = await admin.command<Json>('stats-counters', 10_000);
      t.counters.push(performance.now() - t0);
      t.statsUs.push(c.stats_us as number);
      t0 = performance.now();
      const l = await admin.command<Json>('ledger', 10_000);
      t.ledger.push(performance.now() - t0);
      if (typeof l.ledger_us === 'number') t.ledgerUs.push(l.ledger_us);
      arenas = Array.isArray(l.arenas) ? l.arenas.length : null;
    }
    const rssAfter = readStatmRss(kv.pid)!;
    const total = t.smaps.map((x, i) => x + t.counters[i]! + t.ledger[i]!);
    return {
      allocator: allocator ?? 'glibc', heap: heap.name, mappings, arenas, rssMiB: +(rssBefore / MiB).toFixed(1),
      readMedianMs: q(total, 0.5), readP99Ms: q(total, 0.99), smapsMedianMs: q(t.smaps, 0.5), countersMedianMs: q(t.counters, 0.5), ledgerMedianMs: q(t.ledger, 0.5),
      statsUsMedian: q(t.statsUs, 0.5), ledgerUsMedian: t.ledgerUs.length ? q(t.ledgerUs, 0.5) : null, ledgerUsMax: t.ledgerUs.length ? Math.max(...t.ledgerUs) : null,
      rssChangeBytes: rssAfter - rssBefore,
    };
  } finally {
    admin.close();
    kv.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchLedger(reads: number): Promise<void> {
  const rows = [];
  for (const allocator of ALLOCATORS) {
    for (const heap of HEAPS) {
      process.stderr.write(`ledger: ${allocator ?? 'glibc'} ${heap.name}\n`);
      rows.push(await one(allocator, heap, reads));
    }
  }
  console.log(table(['allocator', 'heap', 'mappings', 'arenas', 'RSS MiB', 'reading median ms', 'p99 ms', 'smaps ms', 'stats-counters ms', 'ledger ms', 'stats_us', 'ledger_us (max)', 'RSS change B'],
    rows.map((r) => [r.allocator, r.heap, r.mappings, r.arenas ?? '-', r.rssMiB, r.readMedianMs, r.readP99Ms, r.smapsMedianMs, r.countersMedianMs, r.ledgerMedianMs,
      r.statsUsMedian, r.ledgerUsMedian === null ? '-' : `${r.ledgerUsMedian} (${r.ledgerUsMax})`, r.rssChangeBytes])));
  console.log(JSON.stringify({ bench: 'ledger', reads, rows }));
  console.log(`results: ${writeBench('ledger', { reads, rows })}`);
}
