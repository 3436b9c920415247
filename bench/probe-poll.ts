// npm run bench -- probe --poll: the counters poll's own cost inside the target, per
// allocator. test_host with the probe first in LD_PRELOAD (the harness's environment:
// preloadEnv, so the counting layer is on under mimalloc and as built), polled with
// stats-counters as the sampler does: the probe's stats_us (the whole reply) and
// alloc.alloc_calls_us (the time inside the allocator's own calls, e.g. mallinfo2 under
// its arena lock). Idle, with a 1 GiB heap of 64 B objects, and under glibc with every
// other block of it freed (a fragmented heap: mallinfo2 walks the free chunks). Times: this
// is a bench, the machine's load is printed with them. With --ledger: the `ledger`
// command's ledger_us (glibc's malloc_info, which walks each arena's bins under its lock,
// and the scan of its text) on the same heaps, after threads=8 gave it thread arenas.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from '../harness/analysis/stats.js';
import { ALLOCATORS, type Allocator } from '../harness/core/types.js';
import { preloadEnv } from '../harness/subjects/target/preload.js';
import { startTestHost } from '../test/support/test-host.js';
import { table, writeBench } from './report.js';

const POLLS = 30;
const HEAP = `hold=${2 ** 30 / 64}x64`;  // 1 GiB of 64 B objects

interface PollRow { allocator: string; heap: string; polls: number; statsUsMedian: number; allocCallsUsMedian: number; statsUsMax: number }

async function poll(h: Awaited<ReturnType<typeof startTestHost>>, allocator: string, heap: string): Promise<PollRow> {
  const stats: number[] = [];
  const inAlloc: number[] = [];
  for (let i = 0; i < POLLS; i++) {
    const s = await h.counters();
    stats.push(Number(s.stats_us));
    inAlloc.push(Number(s.alloc.alloc_calls_us));
    await new Promise((r) => setTimeout(r, 20));
  }
  return { allocator, heap, polls: POLLS, statsUsMedian: median(stats)!, allocCallsUsMedian: median(inAlloc)!, statsUsMax: Math.max(...stats) };
}

async function oneAllocator(allocator: Allocator): Promise<PollRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'leaklab-bench-poll-'));
  const h = await startTestHost(preloadEnv(allocator === 'glibc' ? null : allocator, dir), dir);
  try {
    const rows = [await poll(h, allocator, 'idle')];
    process.stderr.write(`${allocator}: ${HEAP}\n`);
    await h.run(HEAP);
    rows.push(await poll(h, allocator, '1 GiB of 64 B'));
    if (allocator === 'glibc') {
      await h.run('sparse');
      rows.push(await poll(h, allocator, '1 GiB of 64 B, every other freed'));
    }
    return rows;
  } finally {
    await h.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

interface LedgerRow { heap: string; reads: number; ledgerUsMedian: number; ledgerUsMax: number; arenas: number; freeBytes: number; binsChunks: number }

async function readLedger(h: Awaited<ReturnType<typeof startTestHost>>, heap: string): Promise<LedgerRow> {
  const us: number[] = [];
  let last: Record<string, any> = {};  // eslint-disable-line @typescript-eslint/no-explicit-any
  for (let i = 0; i < 10; i++) {
    last = await h.admin.command('ledger');
    us.push(Number(last.ledger_us));
    await new Promise((r) => setTimeout(r, 20));
  }
  const arenas = (last.arenas ?? []) as Record<string, number>[];
  const sum = (k: string) => arenas.reduce((s, a) => s + a[k]!, 0);
  return { heap, reads: us.length, ledgerUsMedian: median(us)!, ledgerUsMax: Math.max(...us), arenas: arenas.length,
    freeBytes: sum('fast_bytes') + sum('bins_bytes') + sum('top_bytes'), binsChunks: sum('fast_chunks') + sum('bins_chunks') };
}

/** npm run bench -- probe --poll --ledger */
export async function benchProbeLedger(): Promise<void> {
  const load = loadavg().map((x) => +x.toFixed(2));
  const dir = mkdtempSync(join(tmpdir(), 'leaklab-bench-ledger-'));
  const h = await startTestHost(preloadEnv(null, dir), dir);
  const rows: LedgerRow[] = [];
  const loads: number[][] = [];
  const step = async (heap: string, command?: string) => {
    if (command) await h.run(command);
    rows.push(await readLedger(h, heap));
    loads.push(loadavg().map((x) => +x.toFixed(2)));
  };
  try {
    await step('idle');
    await step('8 thread arenas', 'threads=8');
    await step('+ 1 GiB of 64 B', HEAP);
    await step('+ every other freed', 'sparse');
  } finally {
    await h.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const written = writeBench('probe-ledger', { load, rows, loads });
  console.log(table(['heap (glibc)', 'reads', 'ledger_us median', 'ledger_us max', 'arenas', 'free bytes', 'free chunks', 'load 1/5/15 min'],
    rows.map((r, i) => [r.heap, r.reads, r.ledgerUsMedian, r.ledgerUsMax, r.arenas, r.freeBytes, r.binsChunks, loads[i]!.join(', ')])));
  console.log(`load average before: ${load.join(', ')}`);
  console.log(JSON.stringify({ bench: 'probe-ledger', load, rows, loads }));
  console.log(`written: ${written}`);
}

export async function benchProbePoll(): Promise<void> {
  const load = loadavg().map((x) => +x.toFixed(2));
  const rows: PollRow[] = [];
  for (const a of ALLOCATORS) rows.push(...(await oneAllocator(a)));
  const loadAfter = loadavg().map((x) => +x.toFixed(2));
  const written = writeBench('probe-poll', { load, loadAfter, rows });
  console.log(table(['allocator', 'heap', 'polls', 'stats_us median', 'in allocator calls, µs median', 'stats_us max'],
    rows.map((r) => [r.allocator, r.heap, r.polls, r.statsUsMedian, r.allocCallsUsMedian, r.statsUsMax])));
  console.log(`load average (1, 5, 15 min) before: ${load.join(', ')}; after: ${loadAfter.join(', ')}`);
  console.log(JSON.stringify({ bench: 'probe-poll', load, loadAfter, rows }));
  console.log(`written: ${written}`);
}
