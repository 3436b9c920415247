// npm run bench -- probe: what the probe costs a target, and what an attach release costs.
// relay-glibc, run as a target would be (an allocator preloaded, or none: as built), under
// the native bench's closed load, with and without the probe preloaded beside it, in paired
// rounds interleaved (off, on, then on, off, ...): req/s and peak RSS (VmHWM). Each round
// gives one throughput ratio on/off; the bench reports their mean with a 95% confidence
// interval (Student's t), so the probe's effect is told from the machine's noise (goal:
// ratio >= 0.98 with an interval of about +-2%; peak RSS ratio <= 1.02). Then, per allocator, one gdb attach release after a burst:
// the call's time, how long the target was stopped, RSS before and after, and that the
// target still answers.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { binaryPath } from '../harness/core/paths.js';
import { spawnNative } from '../harness/core/procs.js';
import { startUpstream } from '../test/support/relay-lab.js';
import { readVmHwm } from '../harness/core/proc.js';
import { median } from '../harness/analysis/stats.js';
import { preloadEnv } from '../harness/subjects/target/preload.js';
import { waitForProbe } from '../harness/subjects/target/probe.js';
import { attachRelease } from '../harness/subjects/target/attach.js';
import { ALLOCATORS, type Allocator } from '../harness/allocators/variants.js';
import { drive } from './native.js';
import { table, writeBench } from './report.js';

const MiB = 2 ** 20;

// Student's t, two-sided 95%, by degrees of freedom (1-30; beyond, the normal 1.96).
const T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

/** Mean of `xs` and its 95% confidence interval (at least two values). */
export function meanCi95(xs: number[]): { mean: number; low: number; high: number } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const half = (T95[n - 2] ?? 1.96) * sd / Math.sqrt(n);
  return { mean, low: mean - half, high: mean + half };
}
type Preload = Allocator | null;  // null: as built (relay-glibc's own glibc malloc)
const label = (a: Preload) => a ?? 'as-built (glibc)';

async function measure(allocator: Preload, withProbe: boolean, upPort: number): Promise<{ rps: number; vmHwm: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'leaklab-bench-probe-'));
  const relay = spawnNative('relay-glibc', binaryPath('relay-glibc'), ['--upstream-port', String(upPort)], preloadEnv(allocator, withProbe ? dir : null));
  try {
    const ready = await relay.waitReady();
    if (withProbe) await waitForProbe(dir, relay.pid);
    const r = await drive(Number(ready.port));
    if (r.errors) throw new Error(`${label(allocator)}: ${r.errors} load errors`);
    return { rps: r.rps, vmHwm: readVmHwm(relay.pid) ?? NaN };
  } finally {
    await relay.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One attach release on relay-glibc with `allocator` preloaded, after ~100 MiB went through it. */
async function attachOnce(allocator: Allocator, upPort: number) {
  const relay = spawnNative('relay-glibc', binaryPath('relay-glibc'), ['--upstream-port', String(upPort)], preloadEnv(allocator === 'glibc' ? null : allocator, null));
  try {
    const ready = await relay.waitReady();
    const port = Number(ready.port);
    const schedule = { seed: 1, connections: 32, phases: [{ name: 'burst', duration_ms: 1500, load: { mode: 'closed', concurrency: 256, size: { dist: 'uniform', min: 131072, max: 786432 } } }] };
    await execa(binaryPath('loadgen'), ['--port', String(port), '--schedule', '-'], { input: JSON.stringify(schedule), timeout: 60_000 });
    const r = await attachRelease(relay.pid, { port });
    return { allocator, call: r.call, ok: r.ok, callMs: +r.callMs.toFixed(1), stoppedMs: Math.round(r.totalMs), rssBeforeMiB: +((r.rssBeforeBytes ?? NaN) / MiB).toFixed(1), rssAfterMiB: +((r.rssAfterBytes ?? NaN) / MiB).toFixed(1), alive: relay.exit === undefined };
  } finally {
    await relay.stop();
  }
}

export async function benchProbe(rounds: number): Promise<void> {
  const { proc: up, port: upPort } = await startUpstream(['--delay-ms', '0', '--response-bytes', '1024']);
  const preloads: Preload[] = [null, 'tcmalloc', 'jemalloc', 'mimalloc'];
  const runs = new Map<string, { rps: number[]; vmHwm: number[] }>();
  const attach = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const a of preloads) {
        for (const withProbe of round % 2 ? [false, true] : [true, false]) {
          process.stderr.write(`round ${round}/${rounds}: ${label(a)}, probe ${withProbe ? 'on' : 'off'}\n`);
          const m = await measure(a, withProbe, upPort);
          const e = runs.get(`${label(a)}|${withProbe}`) ?? { rps: [], vmHwm: [] };
          e.rps.push(m.rps);
          e.vmHwm.push(m.vmHwm);
          runs.set(`${label(a)}|${withProbe}`, e);
        }
      }
    }
    for (const a of ALLOCATORS) {
      process.stderr.write(`attach release: ${a}\n`);
      attach.push(await attachOnce(a, upPort));
    }
  } finally {
    await up.stop();
  }
  const rows = preloads.map((a) => {
    const off = runs.get(`${label(a)}|false`)!;
    const on = runs.get(`${label(a)}|true`)!;
    const ci = meanCi95(on.rps.map((x, i) => x / off.rps[i]!));  // paired: round i's on / off
    return {
      preload: label(a),
      rpsOff: Math.round(median(off.rps)!), rpsOn: Math.round(median(on.rps)!),
      throughputRatio: +ci.mean.toFixed(3), ratioCi95: [+ci.low.toFixed(3), +ci.high.toFixed(3)],
      vmHwmOffMiB: +(median(off.vmHwm)! / MiB).toFixed(1), vmHwmOnMiB: +(median(on.vmHwm)! / MiB).toFixed(1),
      peakRssRatio: +(median(on.vmHwm)! / median(off.vmHwm)!).toFixed(3),
      rpsRoundsOff: off.rps.map(Math.round), rpsRoundsOn: on.rps.map(Math.round),
    };
  });
  const load = loadavg().map((x) => +x.toFixed(2));
  const written = writeBench('probe', { rounds, load, rows, attach });
  console.log(table(['preload', 'req/s without probe (median)', 'req/s with probe (median)', 'throughput ratio, mean of paired rounds (goal >= 0.98)', '95% CI', 'VmHWM MiB without / with', 'peak RSS ratio (goal <= 1.02)'],
    rows.map((r) => [r.preload, r.rpsOff, r.rpsOn, r.throughputRatio, `${r.ratioCi95[0]} - ${r.ratioCi95[1]}`, `${r.vmHwmOffMiB} / ${r.vmHwmOnMiB}`, r.peakRssRatio])));
  console.log(`load average (1, 5, 15 min) at the end: ${load.join(', ')}`);
  console.log(table(['allocator', 'attach call', 'ok', 'call ms', 'target stopped ms', 'RSS MiB before -> after', 'answers after'],
    attach.map((x) => [x.allocator, x.call, x.ok ? 'yes' : 'no', x.callMs, x.stoppedMs, `${x.rssBeforeMiB} -> ${x.rssAfterMiB}`, x.alive ? 'yes' : 'no'])));
  console.log(JSON.stringify({ bench: 'probe', rounds, load, rows, attach }));
  console.log(`written: ${written}`);
}
