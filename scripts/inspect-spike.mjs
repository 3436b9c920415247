#!/usr/bin/env node
// The leaklab-inspect spike (docs/inspect.md#spike): how long one malloc_trim(0) keeps
// relay-glibc stopped, three ways, idle and under load:
//   gdb-batch     today's attach release (harness/subjects/target/attach.ts): gdb -batch -p,
//                 symbols read while the process is stopped, all threads stopped;
//   gdb-readnever gdb with --readnever, calling malloc_trim by an address resolved before;
//   inspector     build/native/leaklab-inspect release: one thread stopped.
// gdb's stop is timed inside gdb (a python time stamp before `attach` and after the call,
// detach excluded: a lower bound); the inspector's is its own stop_ms, from the thread's stop
// to the hand-back (wake_ms, from PTRACE_INTERRUPT to the stop, apart). Plain Node, run after `lab build`:
//   node scripts/inspect-spike.mjs [--runs N]
// With --scale MIB instead: inspect_host holding MIB of heap (60 KB blocks, every other one
// freed) under each allocator, and the target's own time in counters and in release (the
// call time at that heap size), with RSS before and after the release.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'build', 'native');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 20;
const procs = [];

function start(name, args) {
  const p = spawn(join(BIN, name), args, { stdio: ['ignore', 'pipe', 'inherit'] });
  procs.push(p);
  const rl = createInterface({ input: p.stdout });
  return new Promise((res, rej) => {
    rl.once('line', (l) => res({ p, ready: JSON.parse(l) }));
    p.once('exit', (c) => rej(new Error(`${name} exited ${c}`)));
  });
}

function gdbStop(pid, readnever, trimAddr) {
  const call = readnever ? `call ((int (*)(unsigned long))${trimAddr})(0)` : 'call (int) malloc_trim(0)';
  const out = execFileSync('gdb', ['-batch', '-nx', ...(readnever ? ['--readnever'] : []),
    '-ex', 'python import time; print("LEAKLAB_T0", time.time())',
    '-ex', `attach ${pid}`,
    '-ex', call,
    '-ex', 'python print("LEAKLAB_T1", time.time())',
    '-ex', 'detach'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const t0 = Number(/LEAKLAB_T0 (\S+)/.exec(out)[1]);
  const t1 = Number(/LEAKLAB_T1 (\S+)/.exec(out)[1]);
  return (t1 - t0) * 1000;
}

function inspector(pid) {
  const r = spawnSync(join(BIN, 'leaklab-inspect'), ['release', String(pid)], { encoding: 'utf8' });
  const out = JSON.parse(r.stdout);
  return out.ok ? { stop: out.timing.stop_ms, wall: out.wall_ms, unwind: out.timing.unwind_ms, wake: out.timing.wake_ms } : { error: `${out.error}: ${out.reason}` };
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
  const r = (v) => Math.round(v * 1000) / 1000;
  return { n: s.length, median: r(q(0.5)), p99: r(q(0.99)), min: r(s[0]), max: r(s[s.length - 1]) };
}

const uptime = () => execFileSync('uptime', { encoding: 'utf8' }).trim();

async function measure(pid, trimAddr, label) {
  const gdbBatch = [], gdbReadnever = [], insp = [], inspWall = [], inspUnwind = [], inspWake = [], failures = [];
  for (let i = 0; i < RUNS; i++) gdbBatch.push(gdbStop(pid, false));
  for (let i = 0; i < RUNS; i++) gdbReadnever.push(gdbStop(pid, true, trimAddr));
  for (let i = 0; i < RUNS * 10; i++) {
    const r = inspector(pid);
    if (r.error) {
      failures.push(r.error);
      continue;
    }
    insp.push(r.stop);
    inspWall.push(r.wall);
    inspUnwind.push(r.unwind);
    inspWake.push(r.wake);
  }
  return { label, uptime: uptime(), gdb_batch_stop_ms: stats(gdbBatch), gdb_readnever_stop_ms: stats(gdbReadnever),
    inspector_stop_ms: stats(insp), inspector_unwind_ms: stats(inspUnwind), inspector_wake_ms: stats(inspWake), inspector_wall_ms: stats(inspWall),
    inspector_failures: failures };
}

const LIBS = { glibc: null, tcmalloc: 'libtcmalloc.so.4', jemalloc: 'libjemalloc.so.2', mimalloc: 'libmimalloc.so.2' };
const rss = (pid) => Number(execFileSync('sh', ['-c', `grep VmRSS /proc/${pid}/status`], { encoding: 'utf8' }).split(/\s+/)[1]) * 1024;

async function scale(mib) {
  const rows = [];
  for (const [alloc, lib] of Object.entries(LIBS)) {
    const env = { ...process.env };
    if (lib) env.LD_PRELOAD = `/usr/lib/x86_64-linux-gnu/${lib}`;
    const p = spawn(join(BIN, 'inspect_host'), ['--heap', String(mib)], { env, stdio: ['pipe', 'pipe', 'inherit'] });
    procs.push(p);
    const rl = createInterface({ input: p.stdout });
    await new Promise((res) => rl.once('line', res));
    const run = (cmd) => JSON.parse(spawnSync(join(BIN, 'leaklab-inspect'), [cmd, String(p.pid), '--max-stop', '60000', '--call-timeout', '600000'], { encoding: 'utf8' }).stdout);
    const c = run('counters');
    const before = rss(p.pid);
    const r = run('release');
    rows.push({ allocator: alloc, heap_mib: mib, counters_ok: c.ok, counters_target_ms: c.timing?.target_call_ms, counters_stop_ms: c.timing?.stop_ms,
      release_ok: r.ok, release_target_ms: r.timing?.target_call_ms, release_stop_ms: r.timing?.stop_ms, rss_before_mib: before / 2 ** 20, rss_after_mib: rss(p.pid) / 2 ** 20 });
    p.kill('SIGKILL');
  }
  console.log(JSON.stringify({ date: new Date().toISOString(), uptime: uptime(), rows }, null, 2));
}

const scaleArg = process.argv.indexOf('--scale');
try {
  if (scaleArg > 0) {
    await scale(Number(process.argv[scaleArg + 1]));
    process.exit(0);
  }
  const up = await start('upstream', []);
  const relay = await start('relay-glibc', ['--upstream-port', String(up.ready.port)]);
  const pid = relay.p.pid;
  const resolve = JSON.parse(execFileSync(join(BIN, 'leaklab-inspect'), ['resolve', String(pid)], { encoding: 'utf8' }));
  const trimAddr = resolve.functions.malloc_trim;
  const before = uptime();
  const results = [await measure(pid, trimAddr, 'idle')];
  results[0].uptime_before = before;
  const schedule = { seed: 1, connections: 8, phases: [{ name: 'l', duration_ms: 600_000, load: { mode: 'closed', concurrency: 32, size: { dist: 'fixed', bytes: 4096 } } }] };
  const load = spawn(join(BIN, 'loadgen'), ['--port', String(relay.ready.port), '--schedule', '-'], { stdio: ['pipe', 'ignore', 'inherit'] });
  procs.push(load);
  load.stdin.end(JSON.stringify(schedule));
  await new Promise((r) => setTimeout(r, 1000));
  const loaded = uptime();
  results.push(await measure(pid, trimAddr, 'load (loadgen, 32 in flight)'));
  results[1].uptime_before = loaded;
  console.log(JSON.stringify({ date: new Date().toISOString(), cpu: execFileSync('sh', ['-c', "grep -m1 'model name' /proc/cpuinfo"], { encoding: 'utf8' }).trim(), runs: RUNS, results }, null, 2));
} finally {
  for (const p of procs) p.kill('SIGKILL');
}
