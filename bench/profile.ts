// npm run bench -- profile: what growth profiling costs. Per profiled allocator, the relay
// with and without its heap profiler on (the env `lab run --profile` sets), under the same
// closed load (1 KiB requests, 256 in flight, 5% leaked): requests/s and peak RSS (VmHWM),
// and the ratios (goals: throughput >= 0.95, peak RSS <= 1.05); then how long one heap dump
// takes (profile-dump over the admin port) and one symbolized diff (jeprof / google-pprof,
// three passes as a run does). gperftools' full heap profiler (HEAPPROFILE) is measured too,
// to show why the lab uses tcmalloc's sampler instead. Medians of N rounds in one run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { binaryPath } from '../harness/core/paths.js';
import { median } from '../harness/analysis/stats.js';
import { AdminClient } from '../harness/subjects/protocol/client.js';
import { spawnNative } from '../harness/core/procs.js';
import { requireProfilerTool, symbolizeGrowth } from '../harness/run/profile.js';
import { startUpstream } from '../test/support/relay-lab.js';
import { readVmHwm } from '../harness/core/proc.js';
import type { Allocator } from '../harness/core/types.js';
import { table, writeBench } from './report.js';
import { type Profiler, profilerFor } from '../harness/allocators/registry.js';

const LOAD = { mode: 'closed', concurrency: 256, size: { dist: 'fixed', bytes: 1024 } };
const SCHEDULE = { seed: 1, connections: 64, phases: [{ name: 'warmup', duration_ms: 1000, load: LOAD }, { name: 'measure', duration_ms: 4000, load: LOAD }] };

interface Config {
  name: string;
  allocator: Allocator;
  /** null: profiling off. */
  env: ((dir: string) => Record<string, string>) | null;
  profiler: Profiler | null;
}

interface Round {
  rps: number;
  vmHwm: number;
  dumpMs: number | null;
  diffMs: number | null;
}

async function runOnce(c: Config, upPort: number, dir: string): Promise<Round> {
  const env = c.env ? c.env(dir) : {};
  const relay = spawnNative(`relay-${c.allocator}`, binaryPath(`relay-${c.allocator}`), ['--upstream-port', String(upPort), '--leak-rate', '0.05'], env);
  try {
    const ready = await relay.waitReady();
    const admin = await AdminClient.open(Number(ready.admin_port));
    try {
      const dump = async (name: string): Promise<number | null> => {
        if (!c.profiler) return null;
        const t0 = performance.now();
        const r = await admin.command<Record<string, unknown>>(`profile-dump ${join(dir, name)}`, 60_000);
        if (r.ok !== true) throw new Error(`${c.name}: profile-dump: ${String(r.error)}`);
        return performance.now() - t0;
      };
      await dump('a.heap');
      const lg = await execa(binaryPath('loadgen'), ['--port', String(ready.port), '--schedule', '-'], { input: JSON.stringify(SCHEDULE), timeout: 120_000 });
      const totals = JSON.parse(lg.stdout.trim().split('\n').at(-1)!) as { phases: Array<{ name: string; throughput_rps: number }> };
      const rps = totals.phases.find((p) => p.name === 'measure')!.throughput_rps;
      const vmHwm = readVmHwm(relay.pid) ?? Number.NaN;
      const dumpMs = await dump('b.heap');
      let diffMs: number | null = null;
      if (c.profiler) {
        const t0 = performance.now();
        await symbolizeGrowth(c.profiler, binaryPath(`relay-${c.allocator}`), join(dir, 'a.heap'), join(dir, 'b.heap'), join(dir, 'diff'));
        diffMs = performance.now() - t0;
      }
      return { rps, vmHwm, dumpMs, diffMs };
    } finally {
      admin.close();
    }
  } finally {
    await relay.stop();
  }
}

export async function benchProfile(rounds: number): Promise<void> {
  const configs: Config[] = [];
  for (const a of ['jemalloc', 'tcmalloc'] as const) {
    const p = profilerFor(a) as Profiler;
    await requireProfilerTool(p);
    configs.push({ name: `${a}, profiling off`, allocator: a, env: null, profiler: null });
    configs.push({ name: `${a}, --profile (${Object.entries(p.env('', {})).map(([k, v]) => `${k}=${v}`).join(' ')})`, allocator: a, env: (d) => p.env(d, {}), profiler: p });
  }
  const tc = profilerFor('tcmalloc') as Profiler;
  configs.push({
    name: 'tcmalloc, gperftools heap profiler (HEAPPROFILE, every allocation)', allocator: 'tcmalloc', profiler: tc,
    env: (d) => ({ HEAPPROFILE: join(d, 'hp'), HEAP_PROFILE_ALLOCATION_INTERVAL: '0', HEAP_PROFILE_INUSE_INTERVAL: '0' }),
  });
  const results = new Map<string, Round[]>();
  const { proc: up, port: upPort } = await startUpstream(['--delay-ms', '0', '--response-bytes', '1024']);
  const dir = mkdtempSync(join(tmpdir(), 'leaklab-bench-profile-'));
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const c of configs) {
        process.stderr.write(`round ${round}/${rounds}: ${c.name}\n`);
        const d = join(dir, `${round}-${configs.indexOf(c)}`);
        await execa('mkdir', ['-p', d]);
        const r = await runOnce(c, upPort, d);
        results.set(c.name, [...(results.get(c.name) ?? []), r]);
      }
    }
  } finally {
    await up.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const med = (rs: Round[], k: keyof Round) => {
    const xs = rs.map((r) => r[k]).filter((x): x is number => x !== null);
    return xs.length ? median(xs) : null;
  };
  const rows = configs.map((c) => {
    const rs = results.get(c.name)!;
    const off = results.get(`${c.allocator}, profiling off`)!;
    const rps = med(rs, 'rps')!;
    const hwm = med(rs, 'vmHwm')!;
    return {
      config: c.name, rps, peakRssBytes: hwm,
      throughputRatio: rps / med(off, 'rps')!, peakRssRatio: hwm / med(off, 'vmHwm')!,
      dumpMs: med(rs, 'dumpMs'), diffMs: med(rs, 'diffMs'),
      rounds: rs,
    };
  });
  const f = (x: number | null, d = 0) => (x === null ? '-' : x.toFixed(d));
  console.log(table(['relay', 'req/s', 'peak RSS MiB', 'throughput ratio (goal >= 0.95)', 'peak RSS ratio (goal <= 1.05)', 'dump ms', 'symbolized diff ms'],
    rows.map((r) => [r.config, f(r.rps), f(r.peakRssBytes / 2 ** 20, 1), f(r.throughputRatio, 3), f(r.peakRssRatio, 3), f(r.dumpMs, 1), f(r.diffMs)])));
  console.log(`medians of ${rounds} rounds; written to ${writeBench('profile', { rounds, schedule: SCHEDULE, leakRate: 0.05, rows })}`);
}
