// npm run bench -- native: requests/s of each relay for 1 KiB requests over 64
// connections with zero upstream delay; the load generator's own ceiling (driving the
// upstream directly); and HAProxy (mode tcp) in the relay's place, all in one run.
import { freePorts } from '../harness/subjects/target/procs.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { binaryPath } from '../harness/core/paths.js';
import { spawnNative, type NativeProcess } from '../harness/core/procs.js';
import { startUpstream } from '../test/support/relay-lab.js';
import { median } from '../harness/analysis/stats.js';
import { ALLOCATORS } from '../harness/allocators/variants.js';
import { table, writeBench } from './report.js';

const CONNECTIONS = 64;
const CONCURRENCY = 256;  // 4 pipelined requests per connection
const MEASURE_MS = 4000;
// The relay's default (8 workers) and one worker per core, as HAProxy runs here (nbthread 2).
const RELAY_THREADS = [8, cpus().length];

function schedule(seed: number) {
  const load = { mode: 'closed', concurrency: CONCURRENCY, size: { dist: 'fixed', bytes: 1024 } };
  return { seed, connections: CONNECTIONS, phases: [{ name: 'warmup', duration_ms: 1000, load }, { name: 'measure', duration_ms: MEASURE_MS, load }] };
}

/** Runs the bench's closed load (1 KiB requests, 256 outstanding over 64 connections,
 * 1 s warm-up, 4 s measured) against `port`. */
export async function drive(port: number): Promise<{ rps: number; p50Us: number; p99Us: number; errors: number }> {
  const r = await execa(binaryPath('loadgen'), ['--port', String(port), '--schedule', '-'], { input: JSON.stringify(schedule(1)), timeout: 60_000 });
  const totals = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { errors: number; phases: Array<{ name: string; throughput_rps: number; p50_us: number; p99_us: number }> };
  const m = totals.phases.find((p) => p.name === 'measure')!;
  return { rps: m.throughput_rps, p50Us: m.p50_us, p99Us: m.p99_us, errors: totals.errors };
}

async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

async function withHaproxy<T>(upstreamPort: number, fn: (port: number) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'leaklab-haproxy-'));
  const port = await freePort();
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(cfg, [
    'global', '  maxconn 4096', `  nbthread ${cpus().length}`,
    'defaults', '  mode tcp', '  timeout connect 5s', '  timeout client 60s', '  timeout server 60s',
    'frontend relay', `  bind 127.0.0.1:${port}`, '  default_backend upstream',
    'backend upstream', `  server up 127.0.0.1:${upstreamPort}`, '',
  ].join('\n'));
  const proc = execa('haproxy', ['-db', '-f', cfg], { reject: false, cleanup: true });
  try {
    for (let i = 0; i < 100; i++) {  // HAProxy prints no ready line: wait until the port answers
      if (await accepts(port)) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    return await fn(port);
  } finally {
    proc.kill('SIGTERM');
    await proc;
    rmSync(dir, { recursive: true, force: true });
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

export async function benchNative(rounds: number): Promise<void> {
  const { proc: up, port: upPort } = await startUpstream(['--delay-ms', '0', '--response-bytes', '1024']);
  const results: Record<string, number[]> = {};
  const extras: Record<string, { p50Us: number[]; p99Us: number[] }> = {};
  const record = (name: string, r: { rps: number; p50Us: number; p99Us: number; errors: number }) => {
    if (r.errors) throw new Error(`${name}: ${r.errors} errors`);
    (results[name] ??= []).push(r.rps);
    const e = (extras[name] ??= { p50Us: [], p99Us: [] });
    e.p50Us.push(r.p50Us);
    e.p99Us.push(r.p99Us);
  };
  try {
    for (let round = 1; round <= rounds; round++) {
      process.stderr.write(`round ${round}/${rounds}: loadgen -> upstream\n`);
      record('loadgen ceiling (direct to upstream)', await drive(upPort));
      for (const threads of RELAY_THREADS) {
        for (const a of ALLOCATORS) {
          const name = `relay-${a} --threads ${threads}`;
          process.stderr.write(`round ${round}/${rounds}: ${name}\n`);
          const relay: NativeProcess = spawnNative(`relay-${a}`, binaryPath(`relay-${a}`), ['--upstream-port', String(upPort), '--threads', String(threads)]);
          try {
            const ready = await relay.waitReady();
            record(name, await drive(Number(ready.port)));
          } finally {
            await relay.stop();
          }
        }
      }
      process.stderr.write(`round ${round}/${rounds}: haproxy\n`);
      record('haproxy (mode tcp)', await withHaproxy(upPort, drive));
    }
  } finally {
    await up.stop();
  }
  const med = (k: string) => median(results[k] ?? [])!;
  const ceiling = med('loadgen ceiling (direct to upstream)');
  const haproxy = med('haproxy (mode tcp)');
  const rows = Object.keys(results).map((k) => ({
    target: k,
    medianRps: Math.round(med(k)),
    runs: results[k]!.map(Math.round),
    p50Us: median(extras[k]!.p50Us),
    p99Us: median(extras[k]!.p99Us),
    ceilingOverThis: +(ceiling / med(k)).toFixed(2),
    thisOverHaproxy: +(med(k) / haproxy).toFixed(2),
  }));
  const file = writeBench('native', { connections: CONNECTIONS, concurrency: CONCURRENCY, requestBytes: 1024, responseBytes: 1024, measureMs: MEASURE_MS, rounds, rows });
  console.log(table(['target', 'median req/s', 'runs', 'p50 us', 'p99 us', 'ceiling / this', 'this / haproxy'],
    rows.map((r) => [r.target, r.medianRps, r.runs.join(' '), r.p50Us ?? '-', r.p99Us ?? '-', r.ceilingOverThis, r.thisOverHaproxy])));
  console.log(JSON.stringify({ bench: 'native', rows }));
  console.log(`written: ${file}`);
}
