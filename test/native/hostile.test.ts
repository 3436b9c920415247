// Hostile and broken input against a live relay, black box over real sockets (memcached
// t/bogus-commands.t): each bad connection is closed or answered with ERROR, and a
// well-behaved client keeps getting correct answers throughout.
import { type Socket, connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrameClient } from '../../harness/subject/client.js';
import { FrameType, HEADER_SIZE, encodeFrame } from '../../harness/subject/codec.js';
import { type Lab, startLab } from './helpers.js';

const MAX_FRAME = 1024 * 1024;
const HIGH_WATER = 256 * 1024;
const RESPONSE_BYTES = 64 * 1024;
const RSS_BOUND = 200 * 1024 * 1024;

let lab: Lab;
let good: FrameClient;
let goodId = 0n;

beforeAll(async () => {
  lab = await startLab('glibc', ['--delay-ms', '0', '--response-bytes', String(RESPONSE_BYTES)],
    ['--threads', '2', '--max-frame', String(MAX_FRAME), '--high-water', String(HIGH_WATER)]);
  good = await FrameClient.open(lab.port);
});
afterAll(async () => {
  good?.close();
  await lab?.stop();
});

/** The well-behaved client: a request with a tag, answered with a response echoing it. */
async function stillServes(): Promise<void> {
  const id = ++goodId;
  const payload = Buffer.alloc(64);
  payload.writeBigUInt64BE(0xfeed0000n + id);
  const f = await good.call(FrameType.request, id, payload, 5000);
  expect(f.type).toBe(FrameType.response);
  expect(f.payload.length).toBe(RESPONSE_BYTES);
  expect(f.payload.readBigUInt64BE(0)).toBe(0xfeed0000n + id);
  expect(lab.relay.exit).toBeUndefined();
}

interface Counters {
  rss_bytes: number;
  requests_total: number;
  clients_total: number;
  paused_clients: number;
  live_request_count: number;
  live_response_count: number;
}

async function stats(): Promise<Counters> {
  return lab.admin.command<Counters>('stats-counters');
}

function header(length: number, type: number, id = 1n, flags = 0): Buffer {
  const h = Buffer.alloc(HEADER_SIZE);
  h.writeUInt32BE(length, 0);
  h.writeUInt8(type, 4);
  h.writeUInt8(flags, 5);
  h.writeBigUInt64BE(id, 8);
  return h;
}

/** Sends raw bytes; resolves with the frames received and whether the relay closed the
 * connection within `waitMs` (false: still open, so the test closes it). */
async function rawExchange(bytes: Buffer, waitMs = 1000): Promise<{ frames: number[]; closedByRelay: boolean }> {
  const c = await FrameClient.open(lab.port);
  c.writeRaw(bytes);
  const closedByRelay = await Promise.race([c.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), waitMs))]);
  c.close();
  return { frames: c.frames.map((f) => f.type), closedByRelay };
}

/** mulberry32: a small seeded generator, so a failure replays. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('relay under hostile input', () => {
  it('serves the well-behaved client', stillServes);

  it('answers a zero-length REQUEST', async () => {
    const c = await FrameClient.open(lab.port);
    const f = await c.call(FrameType.request, 7n, Buffer.alloc(0));
    expect(f.type).toBe(FrameType.response);
    expect(f.payload.length).toBe(RESPONSE_BYTES);
    c.close();
    await stillServes();
  });

  it('answers an oversized length with ERROR and closes, without reading the body', async () => {
    const r = await rawExchange(header(MAX_FRAME + 1, FrameType.request, 9n));
    expect(r.frames).toEqual([FrameType.error]);
    expect(r.closedByRelay).toBe(true);
    const r2 = await rawExchange(header(0xffffffff, FrameType.request, 9n));
    expect(r2.frames).toEqual([FrameType.error]);
    expect(r2.closedByRelay).toBe(true);
    await stillServes();
  });

  it('answers an unknown frame type, an admin frame on the client port and non-zero flags with ERROR', async () => {
    for (const h of [header(4, 0x7f), header(4, FrameType.admin), header(4, FrameType.request, 1n, 1), header(0, 0)]) {
      const r = await rawExchange(Buffer.concat([h, Buffer.from('ping')]));
      expect(r.frames).toEqual([FrameType.error]);
      expect(r.closedByRelay).toBe(true);
    }
    await stillServes();
  });

  it('drops a truncated header and a truncated body when the client goes', async () => {
    const before = await stats();
    for (const bytes of [header(100, FrameType.request).subarray(0, 10), Buffer.concat([header(1000, FrameType.request), Buffer.alloc(500)])]) {
      const r = await rawExchange(bytes, 300);
      expect(r.frames).toEqual([]);
      expect(r.closedByRelay).toBe(false);  // the relay waits for the rest; the client leaves
    }
    await stillServes();
    const after = await stats();
    expect(after.requests_total - before.requests_total).toBe(1);  // only the good request
    expect(after.live_request_count).toBe(0);
  });

  it('survives 200 connections of seeded random bytes', async () => {
    const next = rng(20261125);
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(Array.from({ length: 20 }, () => {
        const bytes = Buffer.alloc(1 + Math.floor(next() * 8192));
        for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(next() * 256);
        return rawExchange(bytes, 100);
      }));
      await stillServes();
    }
  });

  it('pauses a client that sends requests and never reads, at --high-water, and keeps serving others', async () => {
    const rssBefore = (await stats()).rss_bytes;
    const slow: Socket = await new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: lab.port }, () => resolve(s));
      s.once('error', reject);
    });
    slow.pause();  // never reads: responses pile up in the relay's output buffer
    const request = encodeFrame(FrameType.request, 1n, Buffer.alloc(64));
    let written = 0;
    let blocked = false;
    const deadline = performance.now() + 3000;
    // Write until the socket stops draining (the relay stopped reading), at most 3 s.
    while (performance.now() < deadline) {
      if (!slow.write(Buffer.concat(Array.from({ length: 256 }, () => request)))) {
        const drained = await Promise.race([new Promise<boolean>((r) => slow.once('drain', () => r(true))), new Promise<boolean>((r) => setTimeout(() => r(false), 500))]);
        if (!drained) {
          blocked = true;
          break;
        }
      }
      written += 256;
    }
    try {
      expect(blocked, `${written} requests written and still draining`).toBe(true);
      const s = await stats();
      expect(s.paused_clients).toBeGreaterThanOrEqual(1);
      // Unbounded, the relay would buffer written x 64 KiB of responses.
      expect(written * RESPONSE_BYTES).toBeGreaterThan(4 * RSS_BOUND);
      expect(s.rss_bytes - rssBefore).toBeLessThan(RSS_BOUND);
      for (let i = 0; i < 5; i++) await stillServes();
    } finally {
      slow.destroy();
    }
    // Once the slow client is gone, what was buffered for it is freed.
    await expect.poll(async () => (await stats()).paused_clients, { timeout: 5000 }).toBe(0);
    await expect.poll(async () => (await stats()).live_response_count, { timeout: 5000 }).toBe(0);
    await stillServes();
  });

  it('survives 1,000 connections opened and dropped', async () => {
    const before = await stats();
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(Array.from({ length: 100 }, () => new Promise<void>((resolve) => {
        const s = connect({ host: '127.0.0.1', port: lab.port }, () => {
          if (batch % 2) s.write(header(10, FrameType.request).subarray(0, 5));  // half leave mid-header
          s.destroy();
          resolve();
        });
        s.once('error', () => resolve());
      })));
    }
    await stillServes();
    const after = await stats();
    expect(after.clients_total - before.clients_total).toBeGreaterThanOrEqual(1000);
  });

  it('ends bounded and serving: RSS under 200 MiB, nothing in flight', async () => {
    await stillServes();
    const s = await stats();
    expect(s.rss_bytes).toBeLessThan(RSS_BOUND);
    expect(s.live_request_count).toBe(0);
    expect(s.live_response_count).toBe(0);
    expect(lab.relay.exit).toBeUndefined();
  });
});
