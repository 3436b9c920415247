// Real hosts for the probe and attach tests: the built-in relay-glibc binary (a
// dynamically linked server the lab drives with its own load) and Redis from Debian,
// started with a preload environment and a probe folder. Every process is stopped by
// stopTargets().
import { freePorts } from '../../harness/subjects/target/procs.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { binaryPath } from '../../harness/core/paths.js';
import type { Allocator } from '../../harness/core/types.js';
import { type Lab, startLab } from '../support/relay-lab.js';
import { type NativeProcess, spawnNative } from '../../harness/core/procs.js';
import { preloadEnv } from '../../harness/subjects/target/preload.js';

export const MiB = 1024 * 1024;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const stops: Array<() => Promise<unknown>> = [];
const dirs: string[] = [];

export async function stopTargets(): Promise<void> {
  await Promise.all(stops.splice(0).map((s) => s()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Stops `stop` in stopTargets(). */
export function stopLater(stop: () => Promise<unknown>): void {
  stops.push(stop);
}

export function probeDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'leaklab-probe-'));
  dirs.push(d);
  return d;
}

/** One free loopback port (the harness picks them the same way for targets). */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/** relay-glibc with `allocator` preloaded (null: as built), and the probe when `dir` is given. */
export async function relayTarget(allocator: Allocator | null, dir: string | null, upstreamArgs: string[] = [], relayArgs: string[] = [], env: Record<string, string> = {}): Promise<Lab> {
  const lab = await startLab('glibc', upstreamArgs, relayArgs, { ...preloadEnv(allocator, dir), ...env });
  stops.push(() => lab.stop());
  return lab;
}

export interface RedisTarget {
  proc: NativeProcess;
  port: number;
  cli(...args: string[]): Promise<string>;
}

/** redis-server from Debian on a free port, no persistence, with the preload environment. */
export async function redisTarget(allocator: Allocator | null, dir: string | null, withProbe = true): Promise<RedisTarget> {
  const port = await freePort();
  const env = withProbe && dir ? preloadEnv(allocator, dir) : allocator ? { LD_PRELOAD: preloadEnv(allocator, null).LD_PRELOAD ?? '' } : {};
  const proc = spawnNative('redis-server', '/usr/bin/redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], env);
  stops.push(() => proc.stop());
  for (let i = 0; !(await accepts(port)); i++) {
    if (proc.exit) throw new Error(`redis-server exited: ${JSON.stringify(proc.exit)}${proc.describeStderr()}`);
    if (i > 500) throw new Error('redis-server did not accept connections within 10 s');
    await sleep(20);
  }
  const cli = async (...args: string[]) => (await execa('redis-cli', ['-p', String(port), ...args], { timeout: 60_000 })).stdout;
  return { proc, port, cli };
}

/** `count` values of `bytes` bytes set inside Redis in one Lua call (no client round trips). */
export function fillRedis(r: RedisTarget, count: number, bytes: number): Promise<string> {
  return r.cli('EVAL', `for i=1,${count} do redis.call('set','k'..i,string.rep('x',${bytes})) end return ${count}`, '0');
}

/** The built-in load generator for `ms` against the relay. */
export async function relayLoad(port: number, ms: number, bytes: number, concurrency: number): Promise<void> {
  const schedule = { seed: 3, connections: 16, phases: [{ name: 'load', duration_ms: ms, load: { mode: 'closed', concurrency, size: { dist: 'fixed', bytes } } }] };
  const r = await execa(binaryPath('loadgen'), ['--port', String(port), '--schedule', '-'], { input: JSON.stringify(schedule), reject: false, timeout: 120_000 });
  if (r.exitCode !== 0) throw new Error(`loadgen exit ${r.exitCode}: ${r.stderr}`);
}
