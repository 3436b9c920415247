// npm run bench -- ledger [--reads N]: what one ledger reading costs the harness (read
// /proc/<pid>/smaps and split it, core/smaps.ts), per allocator, on the kv server
// (build/native/leaklab-kv, the allocator preloaded) filled to about the relay's burst peak
// (200 MiB) and to 1 GiB of 64-512 KiB values: median and p99 over N readings, the number
// of mappings read, and the server's RSS before and after the readings (reading smaps walks
// page tables and touches none of the target's pages: the observer effect on RSS).
// The allocator's counters of a reading come from the subject's own `stats`, whose cost the
// observer bench and the probe poll bench measure.
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { readStatmRss } from '../harness/core/proc.js';
import { readRssSplit } from '../harness/core/smaps.js';
import { startKv, KV } from '../test/support/kv.js';
import { sampleQuantile, table, writeBench } from './report.js';

const MiB = 1024 * 1024;
const LIB = '/usr/lib/x86_64-linux-gnu';
const PRELOAD: Record<string, string | null> = { glibc: null, tcmalloc: 'libtcmalloc.so.4', jemalloc: 'libjemalloc.so.2', mimalloc: 'libmimalloc.so.2' };
const SIZES = ['200MiB', '1GiB'] as const;


async function one(allocator: string, size: string, reads: number) {
  const lib = PRELOAD[allocator];
  const kv = await startKv(['--mode', 'free'], lib ? { LD_PRELOAD: `${LIB}/${lib}` } : {});
  try {
    await execa(KV, ['client', '--port', String(kv.port), '--timeout', '120', 'FILL', size, '64KiB', '512KiB', '1']);
    const mappings = readFileSync(`/proc/${kv.pid}/maps`, 'latin1').split('\n').filter(Boolean).length;
    const rssBefore = readStatmRss(kv.pid)!;
    const ms: number[] = [];
    for (let i = 0; i < reads; i++) {
      const t = performance.now();
      if (!readRssSplit(kv.pid)) throw new Error(`kv server ${kv.pid} gone`);
      ms.push(performance.now() - t);
    }
    const rssAfter = readStatmRss(kv.pid)!;
    return { allocator, size, mappings, rssMiB: rssBefore / MiB, medianMs: sampleQuantile(ms, 0.5), p99Ms: sampleQuantile(ms, 0.99), rssChangeBytes: rssAfter - rssBefore };
  } finally {
    kv.proc.kill('SIGKILL');
  }
}

export async function benchLedger(reads: number): Promise<void> {
  const rows = [];
  for (const allocator of Object.keys(PRELOAD)) {
    for (const size of SIZES) {
      process.stderr.write(`ledger: ${allocator} ${size}\n`);
      rows.push(await one(allocator, size, reads));
    }
  }
  console.log(table(['allocator', 'filled', 'mappings', 'RSS MiB', 'read median ms', 'read p99 ms', 'RSS change B'],
    rows.map((r) => [r.allocator, r.size, r.mappings, r.rssMiB.toFixed(1), r.medianMs.toFixed(2), r.p99Ms.toFixed(2), r.rssChangeBytes])));
  console.log(`results: ${writeBench('ledger', { reads, rows })}`);
}
