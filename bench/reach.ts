// npm run bench -- reach: what a release reaches when a transient (thread churn) thread
// holds allocator state. Per allocator: 256 KiB responses copied on a transient thread that
// lives 3 s; once drained, a release while that thread is alive (the release never runs on
// it), then another once it has exited; and the same load without churn. For mimalloc also
// with the acceptor's step left out (LEAKLAB_TEST_RELEASE_SKIP_ACCEPTOR): the acceptor is
// the process's main thread, the only one where mi_collect(true) reclaims abandoned heaps.
import { readFileSync, readdirSync } from 'node:fs';
import { buildNative } from '../harness/tooling/build.js';
import { type Lab, startLab } from '../test/support/relay-lab.js';
import { binaryPath } from '../harness/core/paths.js';
import { median } from '../harness/analysis/stats.js';
import { ALLOCATORS, type Allocator } from '../harness/allocators/variants.js';
import { execa } from 'execa';
import { table, writeBench } from './report.js';

const LIFETIME_MS = 3000;
const RESPONSE_BYTES = 256 * 1024;
const LOAD = {
  seed: 1, connections: 16,
  phases: [{ name: 'load', duration_ms: 800, load: { mode: 'closed', concurrency: 256, size: { dist: 'fixed', bytes: 1024 } } }],
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Case { allocator: Allocator; churn: boolean; skipAcceptor: boolean }
interface Result { aliveBefore: number; aliveAfter: number; exitedBefore: number | null; exitedAfter: number | null; threadCacheAlive: number | null; threadCacheExited: number | null }

function threadNames(pid: number): string[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((t) => {
    try {
      return [readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim()];
    } catch {
      return [];
    }
  });
}

async function drained(lab: Lab): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    const s = await lab.admin.command<Record<string, number>>('stats-counters');
    if (s.live_request_count === 0 && s.live_response_count === 0) return;
    await sleep(20);
  }
  throw new Error('the relay did not drain within 20 s');
}

async function runCase(c: Case): Promise<Result> {
  const env: Record<string, string> = c.skipAcceptor ? { LEAKLAB_TEST_RELEASE_SKIP_ACCEPTOR: '1' } : {};
  const lab = await startLab(c.allocator, ['--delay-ms', '100', '--response-bytes', String(RESPONSE_BYTES)],
    ['--thread-churn-ms', c.churn ? String(LIFETIME_MS) : '0'], env);
  const threadCache = async () => {
    const v = (await lab.admin.command<{ alloc: Record<string, unknown> }>('stats-counters')).alloc['tcmalloc.thread_cache_free_bytes'];
    return typeof v === 'number' ? v : null;
  };
  try {
    const t0 = performance.now();
    const lg = await execa(binaryPath('loadgen'), ['--port', String(lab.port), '--schedule', '-'], { input: JSON.stringify(LOAD), reject: false });
    if (lg.exitCode !== 0) throw new Error(`loadgen exit ${lg.exitCode}: ${lg.stderr}`);
    await drained(lab);
    if (c.churn && !threadNames(lab.relay.pid).includes('transient')) throw new Error('the transient thread exited before the first release: the machine is too slow for a 3 s lifetime');
    const alive = await lab.admin.command<Record<string, number>>('release');
    const threadCacheAlive = await threadCache();
    if (!c.churn) return { aliveBefore: alive.rss_before_bytes!, aliveAfter: alive.rss_after_bytes!, exitedBefore: null, exitedAfter: null, threadCacheAlive, threadCacheExited: null };
    await sleep(Math.max(0, LIFETIME_MS + 300 - (performance.now() - t0)));
    for (let i = 0; i < 100 && threadNames(lab.relay.pid).includes('transient'); i++) await sleep(50);
    const threadCacheExited = await threadCache();
    const exited = await lab.admin.command<Record<string, number>>('release');
    return {
      aliveBefore: alive.rss_before_bytes!, aliveAfter: alive.rss_after_bytes!,
      exitedBefore: exited.rss_before_bytes!, exitedAfter: exited.rss_after_bytes!, threadCacheAlive, threadCacheExited,
    };
  } finally {
    await lab.stop();
  }
}

export async function benchReach(rounds: number): Promise<void> {
  await buildNative();
  const cases: Case[] = [
    ...ALLOCATORS.flatMap((allocator) => [{ allocator, churn: false, skipAcceptor: false }, { allocator, churn: true, skipAcceptor: false }]),
    { allocator: 'mimalloc', churn: true, skipAcceptor: true },
  ];
  const results = new Map<Case, Result[]>(cases.map((c) => [c, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const c of cases) {
      results.get(c)!.push(await runCase(c));
      process.stderr.write(`round ${round}/${rounds}: ${c.allocator}${c.churn ? ' churn' : ''}${c.skipAcceptor ? ' (acceptor step skipped)' : ''}\n`);
    }
  }
  const mib = (xs: Array<number | null>) => {
    const v = median(xs.filter((x): x is number => x !== null));
    return v === null ? null : +(v / 2 ** 20).toFixed(1);
  };
  const kib = (xs: Array<number | null>) => {
    const v = median(xs.filter((x): x is number => x !== null));
    return v === null ? null : Math.round(v / 1024);
  };
  const rows = cases.map((c) => {
    const rs = results.get(c)!;
    return {
      allocator: c.allocator, churn: c.churn, acceptorStep: !c.skipAcceptor, rounds: rs.length,
      beforeMiB: mib(rs.map((r) => r.aliveBefore)), releasedMiB: mib(rs.map((r) => r.aliveAfter)),
      afterExitBeforeMiB: mib(rs.map((r) => r.exitedBefore)), afterExitReleasedMiB: mib(rs.map((r) => r.exitedAfter)),
      threadCacheAliveKiB: kib(rs.map((r) => r.threadCacheAlive)), threadCacheExitedKiB: kib(rs.map((r) => r.threadCacheExited)),
    };
  });
  const file = writeBench('reach', { rounds, lifetimeMs: LIFETIME_MS, responseBytes: RESPONSE_BYTES, load: LOAD, rows });
  console.log(`256 KiB responses, 256 concurrent for 0.8 s, drained; medians of ${rounds} round(s). "alive": the transient thread (3 s lifetime) is alive at the release.`);
  console.log(table(['allocator', 'thread churn', 'acceptor step', 'RSS before release MiB', 'after release MiB', 'after it exited: before MiB', 'after release MiB', 'tcmalloc thread caches alive / exited KiB'],
    rows.map((r) => [r.allocator, r.churn ? 'yes (alive)' : 'no', r.acceptorStep ? 'yes' : 'skipped', r.beforeMiB ?? '-', r.releasedMiB ?? '-',
      r.afterExitBeforeMiB ?? '-', r.afterExitReleasedMiB ?? '-', r.threadCacheAliveKiB === null ? '-' : `${r.threadCacheAliveKiB} / ${r.threadCacheExitedKiB ?? '-'}`])));
  console.log(JSON.stringify({ bench: 'reach', rounds, rows }));
  console.log(`written: ${file}`);
}
