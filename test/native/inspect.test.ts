// leaklab-inspect (docs/inspect.md): real targets (native/test/inspect_host.cc) under the
// four real allocators, the inspector run as the user would, no mocks. A snapshot stops one
// thread parked in a blocking call, runs the allocator's functions there and hands it back:
// the target must see no EINTR, find its registers intact, keep answering its clients, and
// never be entered on a thread that holds an allocator or signal-handler context.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { execa } from 'execa';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { binaryPath } from '../../harness/core/paths.js';
import { allocatorLibrary } from '../../harness/subjects/target/preload.js';
import { ALLOCATORS, type Lab, runLoadgen, startLab } from './helpers.js';

type Json = Record<string, unknown>;
interface Ready { pid: number; main: number; port: number; epoll: number; regs: number; handler: number; grower: number }
interface Status { eintr: number; regs_bad: number; requests: number; failed: number; reg_checks: number }
interface Out { code: number; json: Json }

const INSPECT = binaryPath('leaklab-inspect');
const children = new Set<ChildProcess>();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Host {
  private lines: string[] = [];
  private waiters: ((l: string) => void)[] = [];
  readonly rl: Interface;
  constructor(readonly proc: ChildProcess) {
    this.rl = createInterface({ input: proc.stdout! });
    this.rl.on('line', (l) => {
      const w = this.waiters.shift();
      if (w) w(l);
      else this.lines.push(l);
    });
  }
  next(): Promise<string> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    return new Promise((res, rej) => {
      const t = setTimeout(() => rej(new Error('inspect_host said nothing for 10 s')), 10_000);
      this.waiters.push((x) => { clearTimeout(t); res(x); });
    });
  }
  async status(): Promise<Status> {
    this.proc.stdin!.write('status\n');
    return JSON.parse(await this.next()) as Status;
  }
  poke(): void { this.proc.stdin!.write('poke\n'); }
  async signal(): Promise<void> {
    this.proc.stdin!.write('signal\n');
    await this.next();
  }
  alive(): boolean { return this.proc.exitCode === null && this.proc.signalCode === null; }
  async stop(): Promise<void> {
    if (!this.alive()) return;
    const done = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGKILL');
    await done;
    children.delete(this.proc);
  }
}

const hosts: Host[] = [];
const labs: Lab[] = [];
async function host(args: string[], opts: { preload?: string[]; bin?: string; wrap?: string[]; env?: Record<string, string> } = {}): Promise<{ h: Host; ready: Ready }> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
  delete env.LD_PRELOAD;
  if (opts.preload?.length) env.LD_PRELOAD = opts.preload.join(':');
  const bin = opts.bin ?? binaryPath('inspect_host');
  const [cmd, ...rest] = opts.wrap ? [...opts.wrap, ...args] : [bin, ...args];
  const proc = spawn(cmd!, rest, { env, stdio: ['pipe', 'pipe', 'inherit'] });
  children.add(proc);
  const h = new Host(proc);
  hosts.push(h);
  const ready = JSON.parse(await h.next()) as Ready;
  return { h, ready };
}

async function inspect(args: (string | number)[], opts: { user?: number } = {}): Promise<Out> {
  // No timing in the tests: the stop limit is out of the way except where it is the subject.
  const argv = args.map(String).concat(args.includes('--max-stop') ? [] : ['--max-stop', '60000']);
  const r = opts.user === undefined
    ? await execa(INSPECT, argv, { reject: false, timeout: 30_000 })
    : await execa('setpriv', ['--reuid', String(opts.user), '--regid', String(opts.user), '--clear-groups', '--inh-caps=-all', INSPECT, ...argv], { reject: false, timeout: 30_000 });
  const lines = r.stdout.split('\n').filter(Boolean);
  expect(lines, `one JSON line (stderr: ${r.stderr})`).toHaveLength(1);
  return { code: r.exitCode ?? -1, json: JSON.parse(lines[0]!) as Json };
}

/** A client that sends a line and waits for the answer, again and again, until stopped. */
class Client {
  ok = 0;
  failed = 0;
  private running = true;
  private sock: Socket;
  private done: Promise<void>;
  constructor(port: number) {
    this.sock = connect(port, '127.0.0.1');
    this.done = this.loop();
  }
  private async loop(): Promise<void> {
    await new Promise((r, j) => { this.sock.once('connect', r); this.sock.once('error', j); });
    let buf = '';
    while (this.running) {
      const answer = new Promise<string>((res, rej) => {
        const t = setTimeout(() => rej(new Error('no answer in 5 s')), 5_000);
        const on = (d: Buffer) => {
          buf += d.toString();
          const i = buf.indexOf('\n');
          if (i >= 0) { clearTimeout(t); this.sock.off('data', on); const l = buf.slice(0, i); buf = buf.slice(i + 1); res(l); }
        };
        this.sock.on('data', on);
      });
      this.sock.write('ping\n');
      try {
        if ((await answer) === 'ok 5') this.ok++;
        else this.failed++;
      } catch {
        this.failed++;
        break;
      }
    }
  }
  async stop(): Promise<void> {
    this.running = false;
    await this.done;
    this.sock.destroy();
  }
}

function tracers(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((t) => {
    const s = readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8');
    return Number(/TracerPid:\s*(\d+)/.exec(s)![1]);
  }).filter((t) => t !== 0);
}

const preloadFor = (a: (typeof ALLOCATORS)[number]) => (a === 'glibc' ? [] : [allocatorLibrary(a)]);

afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.stop()));
  await Promise.all(labs.splice(0).map((l) => l.stop()));
});
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

describe('leaklab-inspect', () => {
  it.each([...ALLOCATORS])('%s: resolve, counters and release on a parked thread; no EINTR, registers intact', async (alloc) => {
    const { h, ready } = await host(['--epoll', '--regs', '--heap', '64'], { preload: preloadFor(alloc) });
    const client = new Client(ready.port);
    const res = await inspect(['resolve', ready.pid]);
    expect(res.code).toBe(0);
    expect(res.json.allocator).toBe(alloc);
    expect((res.json.malloc as Json).object).toMatch(alloc === 'glibc' ? /libc\.so\.6$/ : new RegExp(alloc === 'tcmalloc' ? 'libtcmalloc' : `lib${alloc}`));
    const fns = res.json.functions as Json;
    const expectFn = { glibc: 'malloc_trim', tcmalloc: 'MallocExtension_ReleaseFreeMemory', jemalloc: 'mallctl', mimalloc: 'mi_collect' }[alloc];
    expect(fns[expectFn]).toMatch(/^0x[0-9a-f]+$/);
    // counters on each kind of parked thread: the epoll thread (no timeout), the register
    // checker in read(), and whatever the inspector picks itself
    for (const tid of [ready.epoll, ready.regs, 0]) {
      const c = await inspect(['counters', ready.pid, ...(tid ? ['--tid', tid] : [])]);
      expect(c.code, JSON.stringify(c.json)).toBe(0);
      if (tid) expect((c.json.thread as Json).tid).toBe(tid);
      expect(((c.json.thread as Json).stack as Json).method).toBe('unwind');
      const k = c.json.counters as Json;
      if (alloc === 'mimalloc') {
        expect(k['process.current_commit'] as number).toBeGreaterThan(32 << 20);
        expect(k.mi_version as number).toBeGreaterThanOrEqual(200);
        expect(k['stats.reserved_approx'] as number).toBeGreaterThan(32 << 20);
        expect(k.unmapped_bytes as number).toBeGreaterThanOrEqual(0);
      } else {
        expect(k.allocated_bytes as number).toBeGreaterThan(16 << 20);
        expect(k.free_bytes as number).toBeGreaterThanOrEqual(0);
      }
      if (alloc === 'jemalloc') expect(k.version).toMatch(/^5\./);
      expect(k.allocated_bytes_source).toBe(alloc === 'mimalloc' ? null : 'allocator');
      if (alloc === 'glibc') expect(k.arena as number).toBeGreaterThan(k.uordblks as number);
      if (alloc === 'tcmalloc') expect(k['generic.heap_size'] as number).toBeGreaterThan(32 << 20);
      const timing = c.json.timing as Json;
      expect(timing.stop_ms as number).toBeGreaterThan(0);
    }
    const rel = await inspect(['release', ready.pid, '--tid', ready.regs]);
    expect(rel.code, JSON.stringify(rel.json)).toBe(0);
    const calls = rel.json.calls as { name: string; ran: boolean; rc: number }[];
    expect(calls).toHaveLength(1);
    expect(calls[0]!.ran).toBe(true);
    if (alloc === 'jemalloc') expect(calls[0]!.rc).toBe(0);
    if (alloc === 'mimalloc') expect(rel.json.reach).toMatch(/that thread's heap/);
    const fds = () => readdirSync(`/proc/${ready.pid}/fd`).length;
    const fdsBefore = fds();
    const mi = await inspect(['malloc-info', ready.pid]);
    expect(fds()).toBe(fdsBefore);  // fmemopen: no descriptor opened in the target
    if (alloc === 'jemalloc') {
      expect(mi.code).toBe(1);
      expect(mi.json.reason).toMatch(/^malloc-info is implemented for glibc/);
    } else {
      expect(mi.code, JSON.stringify(mi.json)).toBe(0);
      const text = { glibc: /^<malloc version="1">\n<heap nr="0">/, tcmalloc: /^-+\nMALLOC: +\d+ \(/, mimalloc: /reserved: / }[alloc];
      expect((mi.json.malloc_info as Json).text).toMatch(text);
      expect((mi.json.malloc_info as Json).truncated).toBe(false);
    }
    h.poke();
    h.poke();
    await sleep(100);
    await client.stop();
    const st = await h.status();
    expect(st).toMatchObject({ eintr: 0, regs_bad: 0, failed: 0, reg_checks: 2 });
    expect(client.failed).toBe(0);
    expect(client.ok).toBeGreaterThan(0);
    expect(tracers(ready.pid)).toEqual([]);
  });

  it.each([...ALLOCATORS])('relay-%s under load: 10 snapshots and releases, no failed request, and it agrees with the relay on allocated bytes', async (alloc) => {
    const lab = await startLab(alloc);
    labs.push(lab);
    const pid = lab.relay.pid;
    const load = runLoadgen(lab.port, { seed: 1, connections: 4, phases: [{ name: 'l', duration_ms: 2000, load: { mode: 'closed', concurrency: 16, size: { dist: 'fixed', bytes: 4096 } } }] });
    const codes: number[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await inspect([i % 2 ? 'release' : 'counters', pid]);
      codes.push(r.code);
      if (r.code === 0) expect(r.json.allocator).toBe(alloc);
    }
    const totals = (await load).find((l) => l.type === 'totals')!;
    expect(codes).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(totals.errors).toBe(0);
    expect(totals.completed as number).toBeGreaterThan(100);
    // idle now: the inspector's reading and the relay's own (the same formulas) agree
    const c = await inspect(['counters', pid]);
    const st = await lab.admin.command<{ alloc: Json }>('stats');
    const mine = (c.json.counters as Json).allocated_bytes;
    const theirs = st.alloc.allocated_bytes;
    if (alloc === 'mimalloc') {
      expect(mine).toBeNull();
      expect(theirs).toBeNull();
    } else {
      expect(mine as number).toBeGreaterThan(0);
      expect(Math.abs((mine as number) - (theirs as number))).toBeLessThan(1 << 20);
    }
    expect(tracers(pid)).toEqual([]);
  });

  it('Redis from Debian (jemalloc): counters match its MEMORY STATS within 2%, release matches MEMORY PURGE', async () => {
    const port = await new Promise<number>((res) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => res(p));
      });
    });
    const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    children.add(redis);
    const cli = async (...args: string[]) => (await execa('redis-cli', ['-p', String(port), ...args], { reject: false })).stdout;
    try {
      for (let k = 0; k < 200 && (await cli('ping')) !== 'PONG'; k++) await sleep(10);
      await cli('EVAL', "for i=1,100000 do redis.call('set','k'..i,string.rep('x',512)) end return 1", '0');
      await cli('EVAL', "for i=1,100000,2 do redis.call('del','k'..i) end return 1", '0');
      const stats = async () => {
        const lines = (await cli('MEMORY', 'STATS')).split('\n');
        const v = (k: string) => Number(lines[lines.indexOf(k) + 1]);
        return { allocated: v('allocator.allocated'), active: v('allocator.active'), resident: v('allocator.resident') };
      };
      // MEMORY STATS reports what serverCron read last (every 100 ms): let it catch up
      await sleep(300);
      const c = await inspect(['counters', redis.pid!]);
      await sleep(300);
      expect(c.code, JSON.stringify(c.json)).toBe(0);
      expect(c.json.allocator).toBe('jemalloc');
      // not the main thread in its timed epoll_wait (it would see EINTR): a bio_* thread
      expect((c.json.thread as Json).tid).not.toBe(redis.pid);
      expect((c.json.thread as Json).eintr_to_program).toBe(false);
      const mine = c.json.counters as Json;
      const theirs = await stats();
      expect(theirs.allocated).toBeGreaterThan(32 << 20);  // 50,000 values of 512 bytes left
      const within2 = (a: number, b: number) => expect(Math.abs(a - b) / b).toBeLessThan(0.02);
      within2(mine['stats.allocated'] as number, theirs.allocated);
      within2(mine['stats.active'] as number, theirs.active);
      within2(mine['stats.resident'] as number, theirs.resident);
      const rel = await inspect(['release', redis.pid!]);
      expect(rel.code).toBe(0);
      expect((rel.json.calls as { rc: number }[])[0]!.rc).toBe(0);
      await sleep(300);
      const afterRelease = await stats();
      expect(afterRelease.resident).toBeLessThanOrEqual(theirs.resident * 1.02);  // Redis allocates meanwhile
      expect(await cli('MEMORY', 'PURGE')).toBe('OK');
      await sleep(300);
      within2((await stats()).resident, afterRelease.resident);  // nothing left for PURGE
      expect(await cli('ping')).toBe('PONG');
      expect(tracers(redis.pid!)).toEqual([]);
    } finally {
      redis.kill('SIGKILL');
      children.delete(redis);
    }
  });

  it('never enters a thread inside a signal handler (unwound, and with the stack scan alone)', async () => {
    const { h, ready } = await host(['--handler']);
    await h.signal();
    await sleep(50);
    // /proc alone cannot tell: the handler's thread looks parked in read()
    const th = await inspect(['threads', ready.pid]);
    expect(th.code).toBe(0);
    const row = (th.json.threads as { tid: number; syscall: { name: string } | null; candidate: boolean }[]).find((t) => t.tid === ready.handler)!;
    expect(row.syscall!.name).toBe('read');
    expect(row.candidate).toBe(true);
    for (const stack of ['auto', 'scan']) {
      const r = await inspect(['counters', ready.pid, '--tid', ready.handler, '--park-wait', '0', '--stack', stack]);
      expect(r.code).toBe(1);
      expect(r.json.error).toBe('failed');
      const skipped = r.json.skipped as { tid: number; reason: string }[];
      expect(skipped[0]!.tid).toBe(ready.handler);
      expect(skipped[0]!.reason).toMatch(/signal/);
    }
    // any thread: the main thread is fine, the handler thread is never the one used
    const any = await inspect(['counters', ready.pid]);
    expect(any.code).toBe(0);
    expect((any.json.thread as Json).tid).not.toBe(ready.handler);
  });

  it.each([['jemalloc', 'mmap'], ['tcmalloc', 'sbrk']] as const)('%s: never enters a thread asleep in %s under the allocator lock', async (alloc, _call) => {
    const shim = binaryPath('libleaklab_slow_mmap.so');
    // retain:false: jemalloc maps each new extent instead of growing a retained range, so
    // the grower keeps calling mmap (tcmalloc grows through sbrk each time anyway)
    const { ready } = await host(['--grow-in-mmap'], { preload: [shim, allocatorLibrary(alloc)], env: { MALLOC_CONF: 'retain:false' } });
    let deniedInAllocator = 0;
    for (let i = 0; i < 20; i++) {
      for (const stack of ['auto', 'scan']) {
        const r = await inspect(['counters', ready.pid, '--tid', ready.grower, '--park-wait', '0', '--stack', stack]);
        // the grower sleeps inside the allocator nearly always; when it is usable at all, it
        // is outside the allocator, so a success is allowed but a skip must name the cause
        if (r.code !== 0) {
          const reason = (r.json.skipped as { reason: string }[])[0]?.reason ?? '';
          expect(reason).toMatch(/allocator lib|not parked|not asleep|not in a system call|completed|left its call/);
          if (/allocator lib/.test(reason)) deniedInAllocator++;
        }
      }
    }
    expect(deniedInAllocator).toBeGreaterThan(5);
    // with any thread allowed, the snapshot succeeds on another one
    const any = await inspect(['counters', ready.pid]);
    expect(any.code, JSON.stringify(any.json)).toBe(0);
    expect((any.json.thread as Json).tid).not.toBe(ready.grower);
  });

  it('1,000 snapshots with a client in flight: the lock holder, a fork loop, 8 allocating threads', async () => {
    const shim = binaryPath('libleaklab_slow_mmap.so');
    const servers = [
      { args: ['--epoll', '--grow-in-mmap'], preload: [shim, allocatorLibrary('jemalloc')], n: 334 },
      { args: ['--epoll', '--forker'], preload: [], n: 333 },
      { args: ['--epoll', '--allocators', '8'], preload: [allocatorLibrary('tcmalloc')], n: 333 },
    ];
    let total = 0;
    for (const sv of servers) {
      const { h, ready } = await host(sv.args, { preload: sv.preload });
      const client = new Client(ready.port);
      const failures: string[] = [];
      for (let i = 0; i < sv.n; i++) {
        const r = await inspect([i % 10 === 9 ? 'release' : 'counters', ready.pid]);
        if (r.code !== 0) failures.push(JSON.stringify(r.json));
        total++;
      }
      await client.stop();
      expect(failures).toEqual([]);
      expect(client.failed).toBe(0);
      expect(client.ok).toBeGreaterThan(0);
      const st = await h.status();
      expect(st.eintr).toBe(0);
      expect(st.failed).toBe(0);
      expect(tracers(ready.pid)).toEqual([]);
      await h.stop();
    }
    expect(total).toBe(1000);
  });

  it('100 SIGKILLs of the inspector at random times: the target lives, answers, no tracer, registers intact', async () => {
    const { h, ready } = await host(['--epoll', '--regs']);
    const client = new Client(ready.port);
    let killed = 0;
    let seed = 24;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let i = 0; i < 100; i++) {
      // half plain snapshots, half a 2 ms call, so some kills land inside the call itself
      const args = i % 2 ? ['counters', ready.pid, '--tid', ready.regs] : ['call', ready.pid, 'usleep', '2000', '--tid', ready.regs];
      const p = spawn(INSPECT, args.map(String), { stdio: 'ignore' });
      children.add(p);
      const exited = new Promise((r) => p.once('exit', r));
      setTimeout(() => p.kill('SIGKILL'), Math.floor(rand() * 12));
      await exited;
      if (p.signalCode === 'SIGKILL') killed++;
      children.delete(p);
      for (let k = 0; k < 200 && tracers(ready.pid).length; k++) await sleep(5);
      expect(tracers(ready.pid)).toEqual([]);
      await sleep(5);  // a thread abandoned mid-call finishes it and restores itself
      h.poke();
    }
    await sleep(100);
    await client.stop();
    expect(killed).toBeGreaterThan(50);
    expect(h.alive()).toBe(true);
    const st = await h.status();
    expect(st).toMatchObject({ eintr: 0, regs_bad: 0, failed: 0, reg_checks: 100 });
    expect(client.failed).toBe(0);
    expect(client.ok).toBeGreaterThan(0);
    const after = await inspect(['counters', ready.pid, '--tid', ready.regs]);
    expect(after.code).toBe(0);
  });

  it('--max-stop and --call-timeout: exit 4, and the thread is whole afterwards', async () => {
    const { h, ready } = await host(['--regs']);
    const ms = await inspect(['counters', ready.pid, '--tid', ready.regs, '--max-stop', '0']);
    expect(ms.code).toBe(4);
    expect(ms.json).toMatchObject({ ok: false, error: 'max-stop' });
    expect(tracers(ready.pid)).toEqual([]);
    const ct = await inspect(['call', ready.pid, 'usleep', '300000', '--tid', ready.regs, '--call-timeout', '50']);
    expect(ct.code).toBe(4);
    expect(ct.json).toMatchObject({ ok: false, error: 'abandoned' });
    await sleep(400);
    expect(tracers(ready.pid)).toEqual([]);
    h.poke();
    await sleep(50);
    expect(await h.status()).toMatchObject({ eintr: 0, regs_bad: 0, reg_checks: 1 });
    const ok = await inspect(['counters', ready.pid, '--tid', ready.regs]);
    expect(ok.code).toBe(0);
  });

  it('refusals, exit 3 naming the cause: traced, not dumpable, seccomp, another user, kernel thread, the lock; usage exit 2', async () => {
    const refused = async (args: (string | number)[], re: RegExp, opts: { user?: number } = {}) => {
      const r = await inspect(args, opts);
      expect(r.code, JSON.stringify(r.json)).toBe(3);
      expect(r.json.ok).toBe(false);
      expect(r.json.error).toBe('refused');
      expect(r.json.reason).toMatch(re);
    };
    const traced = await host(['--traced']);
    await refused(['counters', traced.ready.pid], /^already traced by pid [1-9]\d* \(thread \d+\)$/);
    const undumpable = await host(['--user', '65534', '--undumpable']);
    await refused(['counters', undumpable.ready.pid], /not dumpable/);
    const seccomp = await host(['--seccomp']);
    await refused(['release', seccomp.ready.pid], /^seccomp filter or strict mode \(Seccomp: 2\)$/);
    const plain = await host([]);
    await refused(['counters', plain.ready.pid], /^process of another user \(uid 0\) and no CAP_SYS_PTRACE$/, { user: 65534 });
    const kthread = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).find((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        return (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[6]) & 0x200000) !== 0;
      } catch {
        return false;
      }
    });
    expect(kthread, 'a kernel thread visible in /proc').toBeDefined();
    await refused(['counters', kthread!], /^kernel thread$/);
    // another inspector holding the lock (flock -o: the lock stays with flock, not its child)
    const lockFile = `/tmp/leaklab-inspect.${plain.ready.pid}.lock`;
    const holder = spawn('flock', ['-o', lockFile, 'sleep', '30'], { stdio: 'ignore', detached: true });
    children.add(holder);
    try {
      for (let k = 0; k < 100; k++) {
        const probe = await execa('flock', ['-n', lockFile, 'true'], { reject: false });
        if (probe.exitCode !== 0) break;
        await sleep(10);
      }
      await refused(['counters', plain.ready.pid], /^another inspector holds the lock \/tmp\/leaklab-inspect\.\d+\.lock$/);
    } finally {
      process.kill(-holder.pid!, 'SIGKILL');
      children.delete(holder);
    }
    const ok = await inspect(['counters', plain.ready.pid]);
    expect(ok.code).toBe(0);
    const usage = await inspect(['frobnicate', plain.ready.pid]);
    expect(usage.code).toBe(2);
    expect(usage.json).toMatchObject({ ok: false, error: 'usage' });
  });

  it('a signal that arrives during the call is held and delivered at hand-back', async () => {
    const { ready } = await host(['--handler']);
    const threadSyscall = async () => {
      const th = await inspect(['threads', ready.pid]);
      return (th.json.threads as { tid: number; syscall: { name: string } | null }[]).find((t) => t.tid === ready.handler)!.syscall!.name;
    };
    expect(await threadSyscall()).toBe('pause');
    // a 300 ms call on the handler thread; SIGUSR1 (caught, unblocked only there) and SIGWINCH
    // (ignored: dropped) arrive meanwhile
    const call = inspect(['call', ready.pid, 'usleep', '300000', '--tid', ready.handler]);
    await sleep(100);
    process.kill(ready.pid, 'SIGUSR1');
    process.kill(ready.pid, 'SIGWINCH');
    const r = await call;
    expect(r.code, JSON.stringify(r.json)).toBe(0);
    expect(r.json.rax).toBe('0x0');
    await sleep(50);
    // the handler ran after the hand-back: the thread now sits in its read()
    expect(await threadSyscall()).toBe('read');
    expect(tracers(ready.pid)).toEqual([]);
  });

  it('inspects a process in another mount namespace (its files invisible here)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inspect-ns-'));
    try {
      const script = `mount -t tmpfs none ${dir} && cp ${binaryPath('inspect_host')} ${dir}/h && exec ${dir}/h --epoll`;
      const { ready } = await host([], { wrap: ['unshare', '-m', '--propagation', 'private', 'sh', '-c', script], bin: '' });
      expect(readdirSync(dir)).toEqual([]);  // not here, in our namespace
      const r = await inspect(['counters', ready.pid]);
      expect(r.code, JSON.stringify(r.json)).toBe(0);
      expect(r.json.allocator).toBe('glibc');
      expect(((r.json.thread as Json).stack as Json).method).toBe('unwind');  // tables from map_files copies
      const objs = (await inspect(['resolve', ready.pid])).json.objects as { path: string; main_program: boolean; build_id: string }[];
      expect(objs.find((o) => o.main_program)!.path).toBe(`${dir}/h`);
      expect(objs.find((o) => o.main_program)!.build_id).toMatch(/^[0-9a-f]{40}$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('static process: allocator unknown, smaps only', async () => {
    const { ready } = await host(['--epoll'], { bin: binaryPath('inspect_host_static') });
    const r = await inspect(['counters', ready.pid]);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ ok: true, allocator: 'unknown', static: true, note: 'allocator unknown, smaps only' });
    expect((r.json.smaps_rollup as Json).Rss as number).toBeGreaterThan(0);
  });
});
