// leaklab-kv (native/test/kv_server.cc), black box over real sockets on 127.0.0.1: in each
// mode the server's own STATS after each step say what the mode claims (expected values
// written from the protocol at the top of kv_server.cc), bad input gets an "ERR" line with
// the connection kept or closed as documented, the client's exit codes, the server's flags,
// and `lab list --scenario kv-*` accepting each scenario file.
import { type ChildProcess, spawn } from 'node:child_process';
import { type Server, type Socket, connect, createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { binaryPath } from '../../harness/core/paths.js';
import { applyQuick, loadScenario } from '../../harness/scenario/scenario.js';
import { lab } from '../targets/helpers.js';

const KV = binaryPath('leaklab-kv');
const KiB = 1024;
const MiB = 1024 * KiB;

interface Stats {
  ok: true;
  mode: string;
  leak_share: number;
  pool_max_bytes: number;
  live_payload_bytes: number;
  stored_bytes: number;
  stored_block_bytes: number;
  keys: number;
  leaked_bytes: number;
  leaked_reachable_bytes: number;
  leaked_unreachable_bytes: number;
  leaked_values: number;
  pooled_bytes: number;
  pooled_blocks: number;
  unfreed_payload_bytes: number;
  index_bytes: number;
  rss_bytes: number;
}

/** FILL's reply. */
interface Fill { ok: true; added_keys: number; added_bytes: number; new_blocks: number; reused_blocks: number; ms: number }
/** CLEAR's and DELETE's reply. */
interface Removed { ok: true; removed_keys: number; removed_bytes: number; ms: number }

/** A running server: its port and process, stopped after each test. */
interface Kv {
  port: number;
  proc: ChildProcess;
  exited: Promise<number | null>;
}

const running: Kv[] = [];
afterEach(() => {
  for (const k of running.splice(0)) k.proc.kill('SIGKILL');
});

/** Starts `leaklab-kv --port 0 ...args` and waits for its "listening on" line. */
async function startKv(args: string[]): Promise<Kv> {
  const proc = spawn(KV, ['--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^leaklab-kv: listening on 127\.0\.0\.1:(\d+) mode=\S+$/m.exec(out);
      if (m) resolve(Number(m[1]));
    });
    void exited.then((code) => reject(new Error(`leaklab-kv exited (${code}) before listening: ${out}`)));
  });
  const kv = { port, proc, exited };
  running.push(kv);
  return kv;
}

/** A connection speaking the line protocol: one reply line per line sent. */
class Conn {
  private buffer = '';
  private waiters: Array<(line: string) => void> = [];
  readonly closed: Promise<void>;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.buffer += d;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        this.waiters.shift()?.(line);
      }
    });
    this.closed = new Promise((r) => socket.on('close', () => r()));
  }

  static open(port: number): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(new Conn(s)));
      s.on('error', reject);
    });
  }

  /** Sends raw text; resolves with the next reply line. */
  raw(text: string): Promise<string> {
    const reply = new Promise<string>((r) => this.waiters.push(r));
    this.socket.write(text);
    return reply;
  }

  send(line: string): Promise<string> {
    return this.raw(`${line}\n`);
  }

  async json<T>(line: string): Promise<T> {
    const reply = await this.send(line);
    expect(reply, line).toMatch(/^\{"ok":true/);
    return JSON.parse(reply) as T;
  }

  stats(): Promise<Stats> {
    return this.json<Stats>('STATS');
  }

  close(): void {
    this.socket.destroy();
  }
}

/** The client, as a scenario's load command runs it. */
function client(args: string[]) {
  return execa(KV, ['client', ...args], { reject: false, timeout: 30_000 });
}

async function session(args: string[]): Promise<Conn> {
  const kv = await startKv(args);
  return Conn.open(kv.port);
}

describe('mode free', () => {
  it('FILL stores what it says, resident; CLEAR leaves the program holding nothing', async () => {
    const c = await session(['--mode', 'free']);
    const empty = await c.stats();
    expect(empty).toMatchObject({ mode: 'free', live_payload_bytes: 0, stored_bytes: 0, keys: 0, leaked_bytes: 0, pooled_bytes: 0, unfreed_payload_bytes: 0 });
    // 64 MiB of 64-512 KiB values: the last value passes the total by less than 512 KiB.
    const fill = await c.json<Fill>('FILL 64MiB 64KiB 512KiB 1');
    expect(fill.added_bytes).toBeGreaterThanOrEqual(64 * MiB);
    expect(fill.added_bytes).toBeLessThan(64 * MiB + 512 * KiB);
    expect(fill.new_blocks).toBe(fill.added_keys);
    expect(fill.reused_blocks).toBe(0);
    // Mean value 288 KiB: about 228 keys for 64 MiB; every one between 64 and 512 KiB.
    expect(fill.added_keys).toBeGreaterThanOrEqual(Math.ceil((64 * MiB) / (512 * KiB)));
    expect(fill.added_keys).toBeLessThanOrEqual((64 * MiB) / (64 * KiB) + 1);
    const full = await c.stats();
    expect(full).toMatchObject({
      stored_bytes: fill.added_bytes, stored_block_bytes: fill.added_bytes, live_payload_bytes: fill.added_bytes,
      unfreed_payload_bytes: fill.added_bytes, keys: fill.added_keys, leaked_bytes: 0, pooled_bytes: 0,
    });
    // Each value is written in full, so resident: RSS grew by about the values' bytes.
    expect(full.rss_bytes - empty.rss_bytes).toBeGreaterThan(60 * MiB);
    const clear = await c.json<Removed>('CLEAR');
    expect(clear).toMatchObject({ removed_keys: fill.added_keys, removed_bytes: fill.added_bytes });
    const cleared = await c.stats();
    expect(cleared).toMatchObject({
      live_payload_bytes: 0, stored_bytes: 0, stored_block_bytes: 0, keys: 0, leaked_bytes: 0, pooled_bytes: 0, unfreed_payload_bytes: 0,
    });
    // Really freed: here malloc is glibc's, which maps each block of 128 KiB or more (about
    // 95% of these bytes in a fresh process) on its own and unmaps it at free().
    console.log(`free: RSS ${full.rss_bytes / MiB} -> ${cleared.rss_bytes / MiB} MiB at CLEAR`);
    expect(full.rss_bytes - cleared.rss_bytes).toBeGreaterThan(0.5 * fill.added_bytes);
  });

  it('sizes in the lab\'s units equal plain bytes, a seed gives the same values every time, fixed sizes count exactly', async () => {
    const a = await session([]);  // the default mode is free
    const b = await session(['--mode', 'free']);
    const inUnits = await a.json<Fill>('FILL 8MiB 64KiB 512KiB 7');
    const inBytes = await b.json<Fill>('FILL 8388608 65536 524288 7');
    expect({ ...inUnits, ms: 0 }).toEqual({ ...inBytes, ms: 0 });
    expect((await a.stats()).mode).toBe('free');
    // 1 MiB of 1000 B values: ceil(1048576 / 1000) = 1049 keys, 1,049,000 bytes.
    expect(await a.json<Removed>('CLEAR')).toMatchObject({ removed_bytes: inUnits.added_bytes });
    expect(await a.json<Fill>('FILL 1MiB 1000 1000 3')).toMatchObject({ added_keys: 1049, added_bytes: 1_049_000 });
    // 1.5KiB rounds to 1536 B: 1000 values in 1,536,000 bytes.
    expect(await a.json<Fill>('FILL 1536000 1.5KiB 1.5KiB 3')).toMatchObject({ added_keys: 1000, added_bytes: 1_536_000 });
    expect(await a.stats()).toMatchObject({ keys: 2049, stored_bytes: 2_585_000 });
    // FILL 0 adds nothing.
    expect(await a.json<Fill>('FILL 0 1 10 1')).toMatchObject({ added_keys: 0, added_bytes: 0 });
  });
});

describe('mode leak (reachable)', () => {
  it('share 1: CLEAR leaks every stored byte, still held by the program', async () => {
    const c = await session(['--mode', 'leak']);
    await c.json<Fill>('FILL 32MiB 64KiB 512KiB 1');
    const before = await c.stats();
    expect(before).toMatchObject({ mode: 'leak', leak_share: 1, leaked_bytes: 0 });
    await c.json<Removed>('CLEAR');
    const after = await c.stats();
    expect(after).toMatchObject({
      stored_bytes: 0, keys: 0,
      leaked_bytes: before.stored_bytes, leaked_reachable_bytes: before.stored_bytes, leaked_unreachable_bytes: 0,
      leaked_values: before.keys,
      live_payload_bytes: before.stored_bytes, unfreed_payload_bytes: before.stored_bytes,
    });
    // Really kept: glibc would have unmapped most of it at free() (mode free's test).
    expect(after.rss_bytes).toBeGreaterThan(before.rss_bytes - 4 * MiB);
    // A second cycle adds its own: the leak grows with the work.
    await c.json<Fill>('FILL 32MiB 64KiB 512KiB 2');
    const second = await c.stats();
    await c.json<Removed>('CLEAR');
    expect((await c.stats()).leaked_bytes).toBe(before.stored_bytes + second.stored_bytes);
  });

  it('share 0.5: exactly floor(n x 0.5) of n removed values leak, the rest are freed', async () => {
    const c = await session(['--mode', 'leak', '--leak-share', '0.5']);
    await c.json<Fill>('FILL 1MiB 1000 1000 1');  // 1049 keys of 1000 B
    expect(await c.json<Removed>('CLEAR')).toMatchObject({ removed_keys: 1049, removed_bytes: 1_049_000 });
    expect(await c.stats()).toMatchObject({ leak_share: 0.5, leaked_values: 524, leaked_bytes: 524_000, live_payload_bytes: 524_000, stored_bytes: 0 });
  });
});

describe('mode leak-unreachable', () => {
  it('share 1: CLEAR drops the last pointer to every value: leaked, not held, never freed', async () => {
    const c = await session(['--mode', 'leak-unreachable']);
    await c.json<Fill>('FILL 32MiB 64KiB 512KiB 1');
    const before = await c.stats();
    await c.json<Removed>('CLEAR');
    const after = await c.stats();
    // Really not freed: glibc would have unmapped most of it (mode free's test).
    expect(after.rss_bytes).toBeGreaterThan(before.rss_bytes - 4 * MiB);
    expect(after).toMatchObject({
      mode: 'leak-unreachable', stored_bytes: 0, keys: 0,
      leaked_bytes: before.stored_bytes, leaked_unreachable_bytes: before.stored_bytes, leaked_reachable_bytes: 0,
      live_payload_bytes: 0, unfreed_payload_bytes: before.stored_bytes,
    });
  });

  it('share 0.25 with DELETE: a quarter of the removed values, counted exactly', async () => {
    const c = await session(['--mode', 'leak-unreachable', '--leak-share', '0.25']);
    await c.json<Fill>('FILL 1MiB 1000 1000 1');  // 1049 keys
    // round(0.5 x 1049) = 525 removed; floor(525 x 0.25) = 131 leaked.
    expect(await c.json<Removed>('DELETE 0.5 9')).toMatchObject({ removed_keys: 525, removed_bytes: 525_000 });
    expect(await c.stats()).toMatchObject({ keys: 524, stored_bytes: 524_000, leaked_values: 131, leaked_unreachable_bytes: 131_000, live_payload_bytes: 524_000, unfreed_payload_bytes: 655_000 });
  });
});

describe('mode pool', () => {
  it('CLEAR pools every block; a second FILL of the same size reuses them and adds under 10%', async () => {
    const c = await session(['--mode', 'pool']);
    const fill1 = await c.json<Fill>('FILL 300MiB 64KiB 512KiB 1');
    const first = await c.stats();
    expect(first).toMatchObject({ mode: 'pool', pool_max_bytes: 0, live_payload_bytes: fill1.added_bytes, pooled_bytes: 0 });
    await c.json<Removed>('CLEAR');
    const pooled = await c.stats();
    expect(pooled.rss_bytes).toBeGreaterThan(first.rss_bytes - 4 * MiB);  // really kept, not freed
    expect(pooled).toMatchObject({ stored_bytes: 0, keys: 0, pooled_bytes: first.stored_bytes, pooled_blocks: first.keys, live_payload_bytes: first.live_payload_bytes, leaked_bytes: 0 });
    // Another seed: the same size distribution, other sizes. Each value takes the smallest
    // pooled block of n to 2n bytes.
    const fill2 = await c.json<Fill>('FILL 300MiB 64KiB 512KiB 2');
    expect(fill2.reused_blocks).toBeGreaterThan(0.8 * fill2.added_keys);
    const second = await c.stats();
    expect(second.live_payload_bytes - first.live_payload_bytes).toBeGreaterThanOrEqual(0);
    expect(second.live_payload_bytes - first.live_payload_bytes).toBeLessThan(0.1 * first.live_payload_bytes);
    expect(second.stored_block_bytes).toBeGreaterThanOrEqual(second.stored_bytes);
    expect(second.live_payload_bytes).toBe(second.stored_block_bytes + second.pooled_bytes);
    // Everything back in the pool: the program still holds it all, the allocator has it in use.
    await c.json<Removed>('CLEAR');
    expect(await c.stats()).toMatchObject({ stored_bytes: 0, pooled_bytes: second.live_payload_bytes, live_payload_bytes: second.live_payload_bytes, unfreed_payload_bytes: second.live_payload_bytes });
  });

  it('--pool-max bounds the pool: blocks past it are freed', async () => {
    const c = await session(['--mode', 'pool', '--pool-max', '4MiB']);
    await c.json<Fill>('FILL 32MiB 64KiB 512KiB 1');
    await c.json<Removed>('CLEAR');
    const s = await c.stats();
    expect(s.pool_max_bytes).toBe(4 * MiB);
    expect(s.pooled_bytes).toBeLessThanOrEqual(4 * MiB);
    expect(s.pooled_bytes).toBeGreaterThan(4 * MiB - 512 * KiB);  // filled up to the bound
    expect(s).toMatchObject({ live_payload_bytes: s.pooled_bytes, unfreed_payload_bytes: s.pooled_bytes, stored_bytes: 0 });
  });
});

describe('the fragmentation workload (mode free)', () => {
  it('FILL 240 MiB of 100-300 B values, DELETE 0.9: a tenth stays stored, the index shrinks', async () => {
    const c = await session(['--mode', 'free']);
    const fill = await c.json<Fill>('FILL 240MiB 100 300 1');
    // Mean 200 B: about 1.26 million keys.
    expect(fill.added_keys).toBeGreaterThan(1_200_000);
    expect(fill.added_keys).toBeLessThan(1_320_000);
    const full = await c.stats();
    const del = await c.json<Removed>('DELETE 0.9 2');
    expect(del.removed_keys).toBe(Math.round(0.9 * fill.added_keys));
    const after = await c.stats();
    expect(after.keys).toBe(fill.added_keys - del.removed_keys);
    expect(after.stored_bytes).toBe(fill.added_bytes - del.removed_bytes);
    // The deleted keys are a random 90%: the bytes left are 10% of the fill within 3%.
    expect(after.stored_bytes / fill.added_bytes).toBeGreaterThan(0.097);
    expect(after.stored_bytes / fill.added_bytes).toBeLessThan(0.103);
    expect(after).toMatchObject({ live_payload_bytes: after.stored_bytes, leaked_bytes: 0, pooled_bytes: 0 });
    // The index (24 B a key) is reallocated to fit once under a quarter full.
    expect(full.index_bytes).toBeGreaterThanOrEqual(24 * fill.added_keys);
    expect(after.index_bytes).toBe(24 * after.keys);
    // DELETE 0 removes nothing, DELETE 1 everything.
    expect(await c.json<Removed>('DELETE 0 1')).toMatchObject({ removed_keys: 0 });
    expect(await c.json<Removed>('DELETE 1 1')).toMatchObject({ removed_keys: after.keys, removed_bytes: after.stored_bytes });
    expect(await c.stats()).toMatchObject({ keys: 0, stored_bytes: 0, live_payload_bytes: 0 });
  });
});

describe('bad input', () => {
  it('an unknown command or a bad number is answered with ERR and the connection stays open', async () => {
    const c = await session(['--mode', 'free']);
    const cases: Array<[string, RegExp]> = [
      ['BOGUS 1 2', /^ERR unknown command 'BOGUS'; commands: FILL, CLEAR, DELETE, STATS, PING, QUIT$/],
      ['', /^ERR empty command/],
      ['FILL 1MiB 1 2', /^ERR FILL <total> <min value bytes> <max value bytes> <seed> takes 4 argument\(s\), got 3$/],
      ['FILL 10XB 1 2 3', /^ERR FILL: total '10XB' is not a size/],
      ['FILL 1MiB -1 2 3', /^ERR FILL: min value bytes '-1' is not a size/],
      ['FILL 1MiB 1 2 x', /^ERR FILL: seed 'x' is not an unsigned 64-bit integer$/],
      ['FILL 1MiB 300 100 1', /^ERR FILL: min value bytes \(300\) > max \(100\)$/],
      ['FILL 1MiB 0 100 1', /^ERR FILL: value sizes must be 1 B to 1 GiB/],
      ['FILL 1MiB 1 2GiB 1', /^ERR FILL: value sizes must be 1 B to 1 GiB/],
      ['DELETE 1.5 1', /^ERR DELETE: fraction '1.5' is not a decimal number in \[0, 1\]$/],
      ['DELETE 1e-1 1', /^ERR DELETE: fraction '1e-1' is not a decimal number/],
      ['DELETE 0.5', /^ERR DELETE <fraction> <seed> takes 2 argument\(s\), got 1$/],
      ['STATS now', /^ERR STATS takes 0 argument\(s\), got 1$/],
    ];
    for (const [line, want] of cases) expect(await c.send(line), line).toMatch(want);
    // Still open, and nothing was stored by the bad commands.
    expect(await c.send('PING')).toBe('{"ok":true}');
    expect(await c.stats()).toMatchObject({ keys: 0, stored_bytes: 0 });
    // Lower case and \r\n are accepted.
    expect(await c.raw('fill 1000 10 10 1\r\n')).toMatch(/^\{"ok":true,"added_keys":100,/);
  });

  it('a line over 1024 bytes is answered with ERR and the connection is closed; QUIT closes after its reply', async () => {
    const kv = await startKv(['--mode', 'free']);
    const long = await Conn.open(kv.port);
    expect(await long.raw(`${'A'.repeat(2000)}\n`)).toBe('ERR line longer than 1024 bytes; closing');
    await long.closed;
    const unended = await Conn.open(kv.port);
    expect(await unended.raw('B'.repeat(5000))).toBe('ERR line longer than 1024 bytes; closing');
    await unended.closed;
    const q = await Conn.open(kv.port);
    expect(await q.send('QUIT')).toBe('{"ok":true}');
    await q.closed;
    // The server still serves.
    const ok = await Conn.open(kv.port);
    expect(await ok.send('PING')).toBe('{"ok":true}');
  });

  it('bad server flags exit 2 naming the flag; a port in use exits 1; SIGTERM exits 0', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--mode', 'free'], /--port is required/],
      [['--port', '0', '--mode', 'bogus'], /--mode: 'bogus' is not one of free, leak, leak-unreachable, pool/],
      [['--port', '0', '--mode', 'free', '--leak-share', '0.5'], /--leak-share is for --mode leak and leak-unreachable/],
      [['--port', '0', '--mode', 'leak', '--leak-share', '2'], /--leak-share: '2' is not a number in \[0, 1\]/],
      [['--port', '0', '--mode', 'free', '--pool-max', '1MiB'], /--pool-max is for --mode pool/],
      [['--port', '0', '--mode', 'pool', '--pool-max', 'lots'], /--pool-max: 'lots' is not a size/],
      [['--port', '0', '--nope', '1'], /unknown flag --nope/],
    ];
    for (const [args, want] of cases) {
      const r = await execa(KV, args, { reject: false, timeout: 10_000 });
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(want);
    }
    const kv = await startKv(['--mode', 'free']);
    const busy = await execa(KV, ['--port', String(kv.port)], { reject: false, timeout: 10_000 });
    expect(busy.exitCode).toBe(1);
    expect(busy.stderr).toMatch(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${kv.port}: Address already in use`));
    kv.proc.kill('SIGTERM');
    expect(await kv.exited).toBe(0);
  });
});

describe('one thread per connection', () => {
  it('connections are served side by side and see the same store', async () => {
    const kv = await startKv(['--mode', 'free']);
    const conns = await Promise.all([1, 2, 3, 4].map(() => Conn.open(kv.port)));
    const fills = await Promise.all(conns.map((c) => c.json<Fill>('FILL 1000 10 10 1')));
    for (const f of fills) expect(f).toMatchObject({ added_keys: 100, added_bytes: 1000 });
    expect(await conns[0]!.stats()).toMatchObject({ keys: 400, stored_bytes: 4000 });
    for (const c of conns) c.close();
  });
});

describe('the client', () => {
  let fake: Server | undefined;
  afterEach(() => new Promise<void>((r) => (fake ? fake.close(() => r()) : r())));

  /** A TCP server on a free port that does `onConn` with each connection. */
  async function fakeServer(onConn: (s: Socket) => void): Promise<number> {
    fake = createServer(onConn);
    await new Promise<void>((r) => fake!.listen(0, '127.0.0.1', () => r()));
    return (fake.address() as { port: number }).port;
  }

  it('prints the reply and exits 0; --stats adds STATS; ERR exits 1; usage exits 2; no server exits 3', async () => {
    const kv = await startKv(['--mode', 'free']);
    const port = String(kv.port);
    const fill = await client(['--port', port, 'FILL', '1MiB', '1000', '1000', '1']);
    expect(fill.exitCode, fill.stderr).toBe(0);
    expect(fill.stdout).toMatch(/^\{"ok":true,"added_keys":1049,"added_bytes":1049000,"new_blocks":1049,"reused_blocks":0,"ms":[\d.]+\}$/);
    const withStats = await client(['--port', port, '--stats', 'CLEAR']);
    expect(withStats.exitCode, withStats.stderr).toBe(0);
    const lines = withStats.stdout.split('\n');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0]!)).toMatchObject({ ok: true, removed_keys: 1049, removed_bytes: 1_049_000 });
    expect(JSON.parse(lines[1]!)).toMatchObject({ mode: 'free', keys: 0, live_payload_bytes: 0 });

    const err = await client(['--port', port, 'FILL', 'lots', '1', '2', '3']);
    expect(err.exitCode).toBe(1);
    expect(err.stdout).toMatch(/^ERR FILL: total 'lots' is not a size/);
    expect(err.stderr).toMatch(/^leaklab-kv client: the server answered 'FILL lots 1 2 3' with: ERR FILL: total 'lots'/);
    // --stats after an ERR: the client stops at the ERR.
    expect((await client(['--port', port, '--stats', 'NOPE'])).stdout).toMatch(/^ERR unknown command 'NOPE'[^\n]*$/);

    const usage: Array<[string[], RegExp]> = [
      [['STATS'], /--port is required/],
      [['--port', port], /no command given/],
      [['--port', '0', 'STATS'], /--port: '0' is not a port \(1-65535\)/],
      [['--port', port, '--timeout', '0', 'STATS'], /--timeout: '0' is not a number of seconds/],
      [['--port', port, '--verbose', 'STATS'], /unknown flag --verbose/],
      [['--port'], /--port needs a value/],
    ];
    for (const [args, want] of usage) {
      const r = await client(args);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(want);
    }
    kv.proc.kill('SIGKILL');
    await kv.exited;
    const refused = await client(['--port', port, 'STATS']);
    expect(refused.exitCode).toBe(3);
    expect(refused.stderr).toMatch(new RegExp(`^leaklab-kv client: cannot connect to 127\\.0\\.0\\.1:${port}: Connection refused$`));
  });

  it('a server that closes without a reply, or does not reply in --timeout, exits 3', async () => {
    const closing = await fakeServer((s) => s.destroy());
    const closed = await client(['--port', String(closing), 'STATS']);
    expect(closed.exitCode).toBe(3);
    expect(closed.stderr).toMatch(/'STATS': the server closed the connection before a reply/);
    await new Promise<void>((r) => fake!.close(() => r()));
    const silent = await fakeServer(() => {});
    const started = Date.now();
    const timedOut = await client(['--port', String(silent), '--timeout', '1', 'STATS']);
    expect(timedOut.exitCode).toBe(3);
    expect(timedOut.stderr).toMatch(/'STATS': no reply within the timeout/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    fake!.close();
    fake = undefined;
  });
});

describe('the kv scenarios', () => {
  const VALUE_MODES = { 'kv-free': ['free'], 'kv-leak': ['leak', '--leak-share', '0.5'], 'kv-unreachable': ['leak-unreachable', '--leak-share', '0.5'], 'kv-pool': ['pool'] } as const;
  const SCENARIOS = [...Object.keys(VALUE_MODES), 'kv-fragment'];

  it.each(SCENARIOS)('`lab list --scenario %s --json` accepts it: the kv server as target, the four preloads available', async (name) => {
    const r = await lab(['list', '--scenario', name, '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const l = JSON.parse(r.stdout) as { scenario: string; target: string[]; variants: Array<{ id: string; available: boolean; reason: string | null; runs: boolean }> };
    expect(l.scenario).toBe(name);
    expect(l.target[0]).toBe('{lab_build}/leaklab-kv');  // as written; filled per trial
    const runs = l.variants.filter((v) => v.runs);
    expect(runs.map((v) => v.id)).toEqual(['glibc', 'tcmalloc', 'jemalloc', 'mimalloc']);
    for (const v of runs) expect([v.id, v.available, v.reason]).toEqual([v.id, true, null]);
  });

  it('the value modes fill and clear three times (a repeated group), fragment fills and deletes; each then idles 3 s and releases; --quick is half the size', async () => {
    for (const [name, mode] of Object.entries(VALUE_MODES)) {
      const { scenario } = await loadScenario(name);
      expect(scenario.target!.command).toEqual(['{lab_build}/leaklab-kv', '--port', '{port}', '--mode', ...mode]);
      expect(scenario.target!.release.method).toBe('probe');
      expect(scenario.phases.map((p) => [p.name, p.repetition ?? null])).toEqual([
        ['baseline', null], ['fill-1', 1], ['clear-1', 1], ['fill-2', 2], ['clear-2', 2], ['fill-3', 3], ['clear-3', 3], ['idle', null], ['after-release', null],
      ]);
      const argv = (phase: string, quick: boolean) => {
        const p = (quick ? applyQuick(scenario) : scenario).phases.find((x) => x.name === phase)!;
        return p.load?.mode === 'command' ? p.load.argv.slice(4) : [];
      };
      // The seed of each fill is its repetition ({repetition}: 1, 2, 3), filled at run time.
      expect(argv('fill-1', false)).toEqual(['--stats', 'FILL', '300MiB', '64KiB', '512KiB', '{repetition}']);
      expect(argv('fill-3', false)).toEqual(['--stats', 'FILL', '300MiB', '64KiB', '512KiB', '{repetition}']);
      expect(argv('clear-2', false)).toEqual(['--stats', 'CLEAR']);
      expect(argv('fill-2', true)).toEqual(['--stats', 'FILL', '150MiB', '64KiB', '512KiB', '{repetition}']);
      expect(scenario.phases.find((p) => p.name === 'idle')!.duration).toBe(3000);
      expect(scenario.phases.at(-1)!.actions).toEqual(['release']);
    }
    const { scenario: frag } = await loadScenario('kv-fragment');
    expect(frag.phases.map((p) => p.name)).toEqual(['baseline', 'fill', 'delete', 'idle', 'after-release']);
    const load = (name: string) => { const l = frag.phases.find((p) => p.name === name)!.load; return l?.mode === 'command' ? l.argv.slice(4) : []; };
    expect(load('fill')).toEqual(['--stats', 'FILL', '240MiB', '100', '300', '1']);
    expect(load('delete')).toEqual(['--stats', 'DELETE', '0.9', '2']);
  });
});
