// npm run bench -- inspect [--snapshots N] [--releases N] [--heaps MIB,MIB]: what one
// `lab inspect` call costs a live process, per allocator and heap size: inspect_host
// (native/test/inspect_host.cc) holding MIB of 60 KB blocks, every other one freed, with the
// allocator preloaded; N counters snapshots and N releases by build/native/leaklab-inspect,
// each one's stop overhead (the thread stopped, minus the allocator calls: attach, set-up,
// stack walk, hand-back) and the allocator calls' own time inside the target (the
// trampoline's TSC stamps), as median and p99. A release after the first finds little left
// to return: the first release's time is reported apart.
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { binaryPath } from '../harness/core/paths.js';
import { sampleQuantile, table, writeBench } from './report.js';

const LIB = '/usr/lib/x86_64-linux-gnu';
const PRELOAD: Record<string, string | null> = { glibc: null, tcmalloc: 'libtcmalloc.so.4', jemalloc: 'libjemalloc.so.2', mimalloc: 'libmimalloc.so.2' };


interface Timing { stop: number; call: number }

function call(cmd: 'counters' | 'release', pid: number): Timing {
  const r = spawnSync(binaryPath('leaklab-inspect'), [cmd, String(pid), '--max-stop', '60000', '--call-timeout', '600000'], { encoding: 'utf8' });
  const reply = JSON.parse(r.stdout.trim().split('\n').pop()!) as { ok: boolean; reason?: string; timing?: { stop_ms: number; target_call_ms: number } };
  if (!reply.ok || !reply.timing) throw new Error(`leaklab-inspect ${cmd} ${pid}: ${reply.reason ?? r.stderr}`);
  return { stop: reply.timing.stop_ms - reply.timing.target_call_ms, call: reply.timing.target_call_ms };
}

async function one(allocator: string, mib: number, snapshots: number, releases: number) {
  const lib = PRELOAD[allocator];
  const p = spawn(binaryPath('inspect_host'), ['--heap', String(mib)], { env: { ...process.env, ...(lib ? { LD_PRELOAD: `${LIB}/${lib}` } : {}) }, stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: p.stdout! }).once('line', () => resolve());
      p.once('exit', (code) => reject(new Error(`inspect_host exited ${code}`)));
    });
    const counters = Array.from({ length: snapshots }, () => call('counters', p.pid!));
    const rel = Array.from({ length: releases }, () => call('release', p.pid!));
    const f = (xs: Timing[], k: keyof Timing) => ({ median: sampleQuantile(xs.map((x) => x[k]), 0.5), p99: sampleQuantile(xs.map((x) => x[k]), 0.99) });
    return { allocator, heapMiB: mib, counters: { stop: f(counters, 'stop'), call: f(counters, 'call') }, firstRelease: rel[0]!, releases: { stop: f(rel.slice(1), 'stop'), call: f(rel.slice(1), 'call') } };
  } finally {
    p.kill('SIGKILL');
  }
}

export async function benchInspect(snapshots: number, releases: number, heaps: number[]): Promise<void> {
  const rows = [];
  for (const allocator of Object.keys(PRELOAD)) {
    for (const mib of heaps) {
      process.stderr.write(`inspect: ${allocator} ${mib} MiB\n`);
      rows.push(await one(allocator, mib, snapshots, releases));
    }
  }
  const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '-');
  console.log(table(['allocator', 'heap MiB', 'counters stop ms (median / p99)', 'counters call ms (median / p99)', 'first release: stop / call ms', 'later releases stop ms (median / p99)', 'later releases call ms (median / p99)'],
    rows.map((r) => [r.allocator, r.heapMiB, `${ms(r.counters.stop.median)} / ${ms(r.counters.stop.p99)}`, `${ms(r.counters.call.median)} / ${ms(r.counters.call.p99)}`,
      `${ms(r.firstRelease.stop)} / ${ms(r.firstRelease.call)}`, `${ms(r.releases.stop.median)} / ${ms(r.releases.stop.p99)}`, `${ms(r.releases.call.median)} / ${ms(r.releases.call.p99)}`])));
  console.log(`results: ${writeBench('inspect', { snapshots, releases, heaps, rows })}`);
}
