// The probe (native/src/probe/, libleaklab-probe.so) preloaded into real processes: the
// built-in relay-glibc binary with each allocator preloaded, and Redis from Debian (which
// links libjemalloc.so.2). It must announce itself, name the allocator that really serves
// malloc, report in-use bytes that follow the host's allocations, and release.
import { chmodSync, existsSync, readFileSync, readlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LabError } from '../../harness/core/errors.js';
import { ALLOCATORS, type Allocator } from '../../harness/core/types.js';
import { readStatmRss } from '../../harness/core/proc.js';
import type { AdminClient } from '../../harness/subjects/protocol/client.js';
import { allocatorLibrary, findInPackage, libraryFromPackage, preloadEnv, preloadValue } from '../../harness/subjects/target/preload.js';
import { listProbes, openProbe, waitForProbe } from '../../harness/subjects/target/probe.js';
import { binaryPath } from '../../harness/core/paths.js';
import { spawnNative } from '../../harness/core/procs.js';
import { MiB, accepts, fillRedis, freePort, probeDir, redisTarget, relayLoad, relayTarget, sleep, stopLater, stopTargets } from './targets.js';

type Json = Record<string, any>;  // eslint-disable-line @typescript-eslint/no-explicit-any

const admins: AdminClient[] = [];
afterAll(async () => {
  for (const a of admins) a.close();
  await stopTargets();
});

async function probeOf(dir: string, pid: number) {
  const p = await openProbe(dir, pid, { timeoutMs: 10_000 });
  admins.push(p.admin);
  return p;
}

// The in-use figure each allocator has: mimalloc's release build counts no live bytes,
// so there the committed bytes stand in.
function inUse(alloc: Json): number {
  return typeof alloc.allocated_bytes === 'number' ? alloc.allocated_bytes : Number(alloc['process.current_commit']);
}

const preloads: Array<Allocator | null> = [null, 'tcmalloc', 'jemalloc', 'mimalloc'];

describe.each(preloads)('probe in relay-glibc, preloaded allocator %s', (allocator) => {
  const expected = allocator ?? 'glibc';
  it(`announces ${expected}, counts the host's allocations and releases`, async () => {
    const dir = probeDir();
    // leak-rate 1: every request buffer stays, so the in-use bytes can only grow.
    const lab = await relayTarget(allocator, dir, ['--delay-ms', '1'], ['--leak-rate', '1']);
    const { admin, probe } = await probeOf(dir, lab.relay.pid);
    expect(probe.pid).toBe(lab.relay.pid);
    expect(probe.allocator).toBe(expected);
    expect(probe.malloc_library).toMatch(allocator ? new RegExp(`^lib${allocator}\\.so`) : /^libc\.so/);
    expect(probe.version).not.toBe('unknown');
    expect(await admin.command('ping')).toEqual({ ok: true });

    const before = await admin.command<Json>('stats-counters');
    expect(before.allocator.name).toBe(expected);
    expect(before.smaps_rss_bytes).toBeUndefined();
    await relayLoad(lab.port, 400, 16 * 1024, 32);
    const after = await admin.command<Json>('stats-counters');
    const leaked = Number((await lab.admin.command<Json>('stats')).leaked_request_bytes);
    expect(leaked).toBeGreaterThan(8 * MiB);
    // The allocator saw at least the bytes the relay says it keeps.
    expect(inUse(after.alloc) - inUse(before.alloc)).toBeGreaterThanOrEqual(leaked * 0.9);
    if (expected !== 'mimalloc') expect(after.alloc.free_bytes).toEqual(expect.any(Number));

    const full = await admin.command<Json>('stats');
    expect(full.smaps_rss_bytes).toBeGreaterThan(0);
    expect(full.private_dirty_bytes).toBeGreaterThan(0);

    const release = await admin.command<Json>('release');
    expect(release.ok).toBe(true);
    expect(release.calls.length).toBeGreaterThanOrEqual(1);
    // The relay's call shape (native/PROTOCOL.md): the probe thread's own caches, then the
    // process-wide call.
    for (const c of release.calls) {
      expect(Object.keys(c).sort()).toEqual(['call', 'main_thread', 'ms', 'ok', 'rc', 'thread', 'tid']);
      expect(['probe', 'process']).toContain(c.thread);
      expect(c.ok).toBe(true);
      expect(c.main_thread).toBe(false);
      expect(c.ms).toBeGreaterThanOrEqual(0);
    }
    expect(release.calls.at(-1).thread).toBe('process');
    expect(release.rss_after_bytes).toBeGreaterThan(0);
    expect(release.release_ms).toBeGreaterThanOrEqual(0);
  });
});

describe('probe release with tcmalloc preloaded', () => {
  it('gives a burst back: RSS falls by most of what the burst added', async () => {
    const dir = probeDir();
    // TCMALLOC_RELEASE_RATE=0: tcmalloc returns nothing by itself, as in the story.
    const lab = await relayTarget('tcmalloc', dir, ['--delay-ms', '800', '--response-bytes', '1024'], [], { TCMALLOC_RELEASE_RATE: '0' });
    const { admin } = await probeOf(dir, lab.relay.pid);
    const pid = lab.relay.pid;
    await sleep(100);
    const baseline = readStatmRss(pid)!;
    await relayLoad(lab.port, 1200, 256 * 1024, 256);
    await sleep(1200);  // drained: the upstream answered everything
    const retained = readStatmRss(pid)!;
    expect(retained - baseline).toBeGreaterThan(40 * MiB);
    const release = await admin.command<Json>('release');
    expect(release.ok).toBe(true);
    expect(release.calls.map((c: Json) => c.call)).toContain('MallocExtension_ReleaseFreeMemory()');
    const released = readStatmRss(pid)!;
    console.log(JSON.stringify({ baselineMiB: baseline / MiB, retainedMiB: retained / MiB, releasedMiB: released / MiB, releaseMs: release.release_ms }));
    expect(release.rss_after_bytes).toBeLessThan(release.rss_before_bytes);
    // Per-thread caches of the relay's workers are out of the probe's reach (the relay's
    // own admin release empties them on each worker); the rest goes. Measured 0.76-0.78
    // (3 runs, 2026-12-02, load average 1.1): the workers' caches keep 15-17 MiB.
    expect((retained - released) / (retained - baseline)).toBeGreaterThanOrEqual(0.65);
  });
});

describe('probe in redis-server from Debian', () => {
  it('as built: reports the jemalloc Redis links, and its in-use bytes follow SETs', async () => {
    const dir = probeDir();
    const redis = await redisTarget(null, dir);
    const { admin, probe } = await probeOf(dir, redis.proc.pid);
    expect(probe.allocator).toBe('jemalloc');
    expect(probe.malloc_library).toBe('libjemalloc.so.2');
    const before = await admin.command<Json>('stats-counters');
    expect(await fillRedis(redis, 40_000, 1000)).toBe('40000');
    const after = await admin.command<Json>('stats-counters');
    expect(after.alloc.allocated_bytes - before.alloc.allocated_bytes).toBeGreaterThan(40_000 * 1000);
    await redis.cli('FLUSHALL');
    const release = await admin.command<Json>('release');
    expect(release.ok).toBe(true);
    expect(release.calls.at(-1)).toMatchObject({ thread: 'process', call: 'mallctl("arena.4096.purge")', rc: 0, ok: true });
    expect(await redis.cli('PING')).toBe('PONG');
  });

  it('with tcmalloc preloaded: tcmalloc serves malloc, and the jemalloc Redis links is named beside it', async () => {
    const dir = probeDir();
    const redis = await redisTarget('tcmalloc', dir);
    const { admin, probe } = await probeOf(dir, redis.proc.pid);
    // Redis calls the unprefixed malloc, which the preloaded library defines first: the
    // label is what really serves it, never simply what was preloaded or what is linked.
    expect(probe.allocator).toBe('tcmalloc');
    const s = await admin.command<Json>('stats-counters');
    expect(s.allocator.other_allocators).toContain('jemalloc (libjemalloc.so.2)');
    const before = s.alloc.allocated_bytes;
    await fillRedis(redis, 20_000, 1000);
    const after = await admin.command<Json>('stats-counters');
    expect(after.alloc.allocated_bytes - before).toBeGreaterThan(20_000 * 1000);
  });
});

describe('probe: announcement, children, profile dumps', () => {
  it('every exec\'d child announces itself by pid; the harness waits for the one it names', async () => {
    const dir = probeDir();
    const { execa } = await import('execa');
    // sh -c runs a child (sleep) that inherits the environment: two probe files.
    const proc = execa('sh', ['-c', 'sleep 2 & sleep 2; wait'], { env: { LD_PRELOAD: preloadValue(null), LEAKLAB_PROBE_DIR: dir }, reject: false });
    const own = await waitForProbe(dir, proc.pid!, { timeoutMs: 5000 });
    expect(own.pid).toBe(proc.pid);
    for (let i = 0; listProbes(dir).length < 3 && i < 100; i++) await sleep(20);
    expect(listProbes(dir).length).toBe(3);
    proc.kill('SIGKILL');
    await proc;
  });

  // The probe opens its socket and creates its file in the constructor, before main():
  // a server that gives up root at once (mosquitto does) still announces itself. Written
  // the old way (from the probe thread), this failed for jemalloc and mimalloc in CI.
  it.each(preloads)('a server that drops root at the start of main() still announces itself (preloaded %s)', async (allocator) => {
    expect(process.getuid?.(), 'this test starts a server as root that then switches to uid 65534; run it as root (CI does)').toBe(0);
    const dir = probeDir();
    chmodSync(dir, 0o700);  // only root may create files in it, as in a run folder
    const port = await freePort();
    const proc = spawnNative('test_host', binaryPath('test_host'), [String(port), 'drop-root'], preloadEnv(allocator, dir));
    stopLater(() => proc.stop());
    const { admin, probe } = await probeOf(dir, proc.pid);
    expect(probe.allocator).toBe(allocator ?? 'glibc');
    // The probe may announce itself before main() has dropped root (its thread starts in a
    // constructor): wait for the drop, then the probe must still answer.
    const uid = () => /^Uid:\s+(\d+)\s/m.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'))?.[1];
    for (let i = 0; uid() !== '65534'; i++) {
      expect(i, `test_host did not drop root${proc.describeStderr()}`).toBeLessThan(100);
      await sleep(20);
    }
    expect(await admin.command('ping')).toEqual({ ok: true });
    expect((await admin.command<Json>('release')).ok).toBe(true);
  });

  it('a server started as another user (setpriv, which starts no probe thread) cannot write the folder: it keeps running, the timeout quotes the probe\'s own complaint', async () => {
    expect(process.getuid?.(), 'this test starts a server as uid 65534 from root; run it as root (CI does)').toBe(0);
    const dir = probeDir();
    const port = await freePort();
    const proc = spawnNative('test_host', '/usr/bin/setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', binaryPath('test_host'), String(port)], preloadEnv(null, dir));
    stopLater(() => proc.stop());
    // As the harness does: the probe is looked for once the server is ready.
    for (let i = 0; !(await accepts(port)); i++) {
      expect(i, `test_host did not listen${proc.describeStderr()}`).toBeLessThan(250);
      await sleep(20);
    }
    const err = await waitForProbe(dir, proc.pid, { timeoutMs: 1000, stderr: () => proc.describeStderr(5) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LabError);
    // setpriv itself starts no probe (with a probe thread glibc aborted it in setresgid).
    expect((err as LabError).message).toContain('no probe file at all');
    expect(proc.exit, "setpriv or the server died").toBeUndefined();
    expect((err as LabError).message).toContain(`leaklab-probe: cannot create ${join(dir, `probe-${proc.pid}.json`)}: Permission denied`);
  });

  it('a server behind unshare -U: the wrapper starts no probe thread (unshare(CLONE_NEWUSER) needs one thread), the server announces itself', async () => {
    const dir = probeDir();
    const port = await freePort();
    const proc = spawnNative('test_host', '/usr/bin/unshare', ['-U', binaryPath('test_host'), String(port)], preloadEnv('jemalloc', dir));
    stopLater(() => proc.stop());
    for (let i = 0; !(await accepts(port)); i++) {
      expect(i, `unshare -U test_host did not listen${proc.describeStderr()}`).toBeLessThan(250);
      await sleep(20);
    }
    const { admin, probe } = await probeOf(dir, proc.pid);
    expect(probe.exe).toBe(binaryPath('test_host'));
    expect(probe.allocator).toBe('jemalloc');
    expect(await admin.command('ping')).toEqual({ ok: true });
  });

  it('an announcement left by a wrapper before it exec\'d the server is not taken for the server\'s', async () => {
    const dir = probeDir();
    // sh (probe preloaded) writes its announcement, then execs sleep without the probe.
    const proc = spawnNative('sh', '/bin/sh', ['-c', `for i in $(seq 100); do [ -s ${dir}/probe-$$.json ] && break; sleep 0.02; done; LD_PRELOAD= exec sleep 30`], preloadEnv(null, dir));
    stopLater(() => proc.stop());
    for (let i = 0; !/sleep$/.test(readlinkSync(`/proc/${proc.pid}/exe`)); i++) {
      expect(i, 'sh did not exec sleep').toBeLessThan(250);
      await sleep(20);
    }
    const err = await waitForProbe(dir, proc.pid, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LabError);
    expect((err as LabError).message).toMatch(/an announcement from \/(usr\/)?bin\/(da|ba)?sh, which pid \d+ has since replaced by exec of \/(usr\/)?bin\/sleep/);
  });

  it('a server that closes every inherited descriptor before main(): the probe never touches the numbers the server reuses, and says why it is inert', async () => {
    const dir = probeDir();
    const port = await freePort();
    // The server's own epoll set and listening socket take the probe's old numbers, and it
    // waits edge-triggered: a probe still waiting on those numbers would take its events.
    const proc = spawnNative('test_host', binaryPath('test_host'), [String(port), 'close-fds'], preloadEnv('tcmalloc', dir));
    stopLater(() => proc.stop());
    const reply = () => new Promise<string>((resolve, reject) => {
      let got = '';
      const s = connect({ host: '127.0.0.1', port }, () => {});
      s.on('data', (d) => { got += d.toString(); });
      s.on('end', () => resolve(got));
      s.on('error', reject);
    });
    for (let i = 0; !(await accepts(port)); i++) {
      expect(i, `test_host did not listen${proc.describeStderr()}`).toBeLessThan(250);
      await sleep(20);
    }
    for (let i = 0; i < 50; i++) expect(await reply()).toBe('host\n');
    // Which comes first, the probe thread's announcement or the server's closefrom(3), is a
    // race (the thread won 0-3 times in 10 here, by allocator). Either way the harness gets a clear
    // error, never a probe that answers for the server's descriptors.
    const err = await openProbe(dir, proc.pid, { timeoutMs: 500, stderr: () => proc.describeStderr(5) }).then(() => null, (e: unknown) => e as Error);
    expect(err, 'the probe answered although its socket was closed').not.toBeNull();
    if (err instanceof LabError) {
      expect(err.message).toContain('the file is there but still empty');
      expect(err.message).toContain('leaklab-probe: the host closed the probe\'s descriptors');
    } else {
      expect(err!.message).toMatch(/announced port \d+ but does not answer \(.*ECONNREFUSED.*\): the target may have closed the probe's descriptors/);
    }
    for (let i = 0; i < 50; i++) expect(await reply()).toBe('host\n');
    expect(proc.exit).toBeUndefined();
  });

  it('a process without the probe: waitForProbe names the file it waited for', async () => {
    const dir = probeDir();
    const err = await waitForProbe(dir, 999_999_999, { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LabError);
    expect((err as LabError).exitCode).toBe(1);
    expect((err as LabError).message).toContain(join(dir, 'probe-999999999.json'));
  });

  it('profile-dump: jemalloc with prof:true writes a profile; glibc says it cannot', async () => {
    const dir = probeDir();
    const je = await relayTarget('jemalloc', dir, [], [], { MALLOC_CONF: 'prof:true' });
    const { admin } = await probeOf(dir, je.relay.pid);
    const out = join(dir, 'heap.prof');
    const dump = await admin.command<Json>(`profile-dump ${out}`);
    expect(dump).toMatchObject({ ok: true, path: out, allocator: 'jemalloc' });
    expect(existsSync(out)).toBe(true);
    expect(readFileSync(out, 'utf8')).toMatch(/heap_v2/);

    const dir2 = probeDir();
    const plain = await relayTarget(null, dir2);
    const { admin: a2 } = await probeOf(dir2, plain.relay.pid);
    const no = await a2.command<Json>(`profile-dump ${join(dir2, 'x.prof')}`);
    expect(no.ok).toBe(false);
    expect(no.error).toMatch(/glibc malloc has no heap profiler/);
    expect((await a2.command<Json>('frobnicate')).error).toMatch(/valid: ping, stats, stats-counters, release, leak-check, profile-dump <path>/);
  });

  it('profile-dump: tcmalloc preloaded writes its sampled heap (GetHeapSample) with TCMALLOC_SAMPLE_PARAMETER, says how to turn it on without', async () => {
    const dir = probeDir();
    const tc = await relayTarget('tcmalloc', dir, [], [], { TCMALLOC_SAMPLE_PARAMETER: '524288' });
    const { admin } = await probeOf(dir, tc.relay.pid);
    const out = join(dir, 'tc.heap');
    expect(await admin.command<Json>(`profile-dump ${out}`)).toMatchObject({ ok: true, path: out, allocator: 'tcmalloc', source: 'GetHeapSample' });
    expect(readFileSync(out, 'utf8')).toMatch(/^heap profile: /);

    const dir2 = probeDir();
    const off = await relayTarget('tcmalloc', dir2);
    const { admin: a2 } = await probeOf(dir2, off.relay.pid);
    expect(await a2.command<Json>(`profile-dump ${join(dir2, 'x.heap')}`)).toMatchObject({ ok: false, error: expect.stringMatching(/tcmalloc heap sampling is off: start the target with TCMALLOC_SAMPLE_PARAMETER=524288/) });
  });
});

describe('preload paths', () => {
  it.each(ALLOCATORS)('%s: the Debian library is found from its package', (allocator) => {
    const path = allocatorLibrary(allocator);
    expect(existsSync(path)).toBe(true);
  });

  it('a package that is not installed is exit 3 naming it', () => {
    expect(findInPackage('leaklab-no-such-package', 'libfoo.so.1')).toBeNull();
    const err = (() => { try { libraryFromPackage('tcmalloc', 'leaklab-no-such-package', 'libtcmalloc.so.4'); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(LabError);
    expect((err as LabError).exitCode).toBe(3);
    expect((err as LabError).message).toContain('apt-get install leaklab-no-such-package');
  });
});
