// npm run bench -- hostile [--rounds N]: the relay (relay-glibc, default flags) under each
// hostile case of test/native/hostile.test.ts, one fresh relay per case and round: its
// peak RSS (VmHWM) and address space (VmPeak), whether it survived, and what the case
// measures. Any build can be measured: LEAKLAB_BUILD_DIR=<dir> (nothing is built then),
// so the same command gives the figures before and after a change of the relay.
import type { Socket } from 'node:net';
import { buildNative } from '../harness/tooling/build.js';
import { FrameClient } from '../harness/subjects/protocol/client.js';
import { FrameType, HEADER_SIZE, decodeFrame, encodeFrame } from '../harness/subjects/protocol/codec.js';
import { closedWithin, cpuShare, header, openFds, procStatus, rawConnect, setLimit, streamUntilAnswered } from '../test/support/hostile.js';
import { type Lab, startLab } from '../test/support/relay-lab.js';
import { BUILD_DIR } from '../harness/core/paths.js';
import { median } from '../harness/analysis/stats.js';
import { table, writeBench } from './report.js';

const MiB = 1024 * 1024;
const RESPONSE_BYTES = 64 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Relay flags beyond the defaults, per case. */
const RELAY_ARGS: Record<string, string[]> = { 'as-limit-stream': ['--max-frame', String(512 * MiB)] };

type Figures = Record<string, number | boolean | string>;
interface CaseRun { alive: boolean; vmHwm: number; vmPeak: number; figures: Figures }

async function withLab(name: string, fn: (lab: Lab) => Promise<Figures>): Promise<CaseRun> {
  const relayArgs = RELAY_ARGS[name] ?? [];
  const lab = await startLab('glibc', ['--delay-ms', '0', '--response-bytes', String(RESPONSE_BYTES)], relayArgs);
  // The last VmHWM/VmPeak read every 20 ms, so a relay that dies still has its figures.
  let last = procStatus(lab.relay.pid);
  const poll = setInterval(() => { last = procStatus(lab.relay.pid) ?? last; }, 20);
  try {
    const figures = await fn(lab);
    await sleep(200);
    last = procStatus(lab.relay.pid) ?? last;
    const alive = lab.relay.exit === undefined;
    const death: Figures = alive ? {} : { exit: lab.relay.exit?.signal ?? `exit ${lab.relay.exit?.code}`, lastStderr: lab.relay.lastStderr().slice(-3).join(' | ') };
    return { alive, vmHwm: last?.vmHwm ?? NaN, vmPeak: last?.vmPeak ?? NaN, figures: { ...figures, ...death } };
  } finally {
    clearInterval(poll);
    await lab.stop();
  }
}

/** One request from a fresh client; true when answered with the right RESPONSE within 5 s. */
async function serves(lab: Lab): Promise<boolean> {
  if (lab.relay.exit) return false;
  let c: FrameClient | undefined;
  try {
    c = await FrameClient.open(lab.port);
    const f = await c.call(FrameType.request, 42n, Buffer.from('good-client'), 5000);
    return f.type === FrameType.response && f.payload.subarray(0, 8).toString() === 'good-cli';
  } catch {
    return false;
  } finally {
    c?.close();
  }
}

/** Frame types received on a raw socket (frames are parsed as they come). */
function frameTypes(s: Socket): number[] {
  const types: number[] = [];
  let buf = Buffer.alloc(0);
  s.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      const d = decodeFrame(buf);
      if (d.kind !== 'frame') break;
      types.push(d.frame.type);
      buf = Buffer.from(d.rest);
    }
  });
  return types;
}

const CASES: Record<string, (lab: Lab) => Promise<Figures>> = {
  async idle(lab) {
    return { served: await serves(lab) };
  },

  // 24 headers declaring 16 MiB each, no payload.
  async headers(lab) {
    const socks = await Promise.all(Array.from({ length: 24 }, () => rawConnect(lab.port)));
    await sleep(300);  // every worker has its connections (and glibc its per-thread arena)
    const before = procStatus(lab.relay.pid)!;
    for (const s of socks) s.write(header(16 * MiB, FrameType.request));
    await sleep(500);
    const after = procStatus(lab.relay.pid);
    for (const s of socks) s.destroy();
    return { addressSpaceGrowthMiB: after ? (after.vmSize - before.vmSize) / MiB : NaN, served: await serves(lab) };
  },

  // Address space limited to its size at start + 160 MiB (as in issue 12: no worker has
  // its glibc arena yet); 24 clients each send a 16 MiB header and 1 KiB of payload.
  async 'as-limit-headers'(lab) {
    await setLimit(lab.relay.pid, 'as', procStatus(lab.relay.pid)!.vmSize + 160 * MiB);
    const socks = await Promise.all(Array.from({ length: 24 }, () => rawConnect(lab.port)));
    for (const [i, s] of socks.entries()) {
      s.on('error', () => {});
      s.write(Buffer.concat([header(16 * MiB, FrameType.request, BigInt(i + 1)), Buffer.alloc(1024, 0x61)]));
      await sleep(20);
    }
    await sleep(500);
    const served = await serves(lab);
    for (const s of socks) s.destroy();
    return { served };
  },

  // The same limit, --max-frame 512 MiB; one client declares 512 MiB and streams up to
  // 320 MiB of it: the payload buffer cannot grow past the headroom.
  async 'as-limit-stream'(lab) {
    await setLimit(lab.relay.pid, 'as', procStatus(lab.relay.pid)!.vmSize + 160 * MiB);
    const s = await rawConnect(lab.port);
    const types = frameTypes(s);
    s.on('error', () => {});
    s.write(header(512 * MiB, FrameType.request, 77n));
    const sent = await streamUntilAnswered(s, Buffer.alloc(MiB, 0x61), 320 * MiB, () => types.length > 0);
    const closed = await closedWithin(s, 2000);
    s.destroy();
    const failures = await lab.admin.command<Record<string, unknown>>('stats-counters').then((st) => st.alloc_failures_total, () => undefined);
    return { mibSent: sent / MiB, gotError: types.includes(FrameType.error), closedByRelay: closed, allocFailures: typeof failures === 'number' ? failures : 'not reported', served: await serves(lab) };
  },

  // Open-file limit 64; 100 clients connect and stay.
  async 'fd-exhaustion'(lab) {
    const fdsBefore = openFds(lab.relay.pid);
    await setLimit(lab.relay.pid, 'nofile', 64);
    let stderrBytes = 0;
    let stderrLines = 0;
    lab.relay.onStderr((line) => { stderrBytes += line.length + 1; stderrLines++; });
    const socks = await Promise.all(Array.from({ length: 100 }, () => rawConnect(lab.port)));
    await sleep(300);
    const b0 = stderrBytes;
    const cpu = await cpuShare(lab.relay.pid, 1000);
    const logged = stderrBytes - b0;
    const linesWhileExhausted = stderrLines;
    for (const s of socks) s.destroy();
    await sleep(500);
    return { fdsBefore, cpuShareWhileExhausted: Number(cpu.toFixed(3)), stderrBytesPerSecond: logged, stderrLinesWhileExhausted: linesWhileExhausted, resumed: await serves(lab) };
  },

  // One client writes zero-length requests, 4,096 per 64 KiB write, and never reads.
  async 'in-flight'(lab) {
    const s = await rawConnect(lab.port);
    s.pause();
    const batch = Buffer.concat(Array.from({ length: 4096 }, (_, i) => encodeFrame(FrameType.request, BigInt(i), Buffer.alloc(0))));
    const deadline = performance.now() + 3000;
    let written = 0;
    while (performance.now() < deadline) {
      written += 4096;
      if (!s.write(batch)) {
        const drained = await Promise.race([new Promise<boolean>((r) => s.once('drain', () => r(true))), sleep(500).then(() => false)]);
        if (!drained) break;
      }
    }
    await sleep(1000);
    const st = await lab.admin.command<Record<string, unknown>>('stats-counters');
    const full = await lab.admin.command<Record<string, unknown>>('stats');
    s.destroy();
    return {
      requestsWritten: written, requestsRead: Number(st.requests_total),
      responseMiBQueued: Number(st.live_response_bytes) / MiB,
      maxInFlightPerClient: typeof full.client_in_flight_max === 'number' ? full.client_in_flight_max : 'not reported',
    };
  },

  // A request, then shutdown(SHUT_WR).
  async 'half-close'(lab) {
    const s = await rawConnect(lab.port);
    const types = frameTypes(s);
    s.end(encodeFrame(FrameType.request, 5n, Buffer.alloc(64)));
    const closed = await closedWithin(s, 3000);
    s.destroy();
    return { answered: types.includes(FrameType.response), closedByRelay: closed };
  },

  // Unknown admin commands: 1 MiB of 'x', 64 KiB of invalid UTF-8.
  async 'admin-echo'(lab) {
    const c = await FrameClient.open(lab.adminPort);
    try {
      const big = await c.call(FrameType.admin, 1n, Buffer.alloc(MiB, 'x'));
      const bad = await c.call(FrameType.admin, 2n, Buffer.alloc(64 * 1024, 0xff));
      return { replyBytesTo1MiB: big.payload.length, replyBytesTo64KiBInvalidUtf8: bad.payload.length };
    } finally {
      c.close();
    }
  },
};

export async function benchHostile(rounds: number, only?: string): Promise<void> {
  if (!process.env.LEAKLAB_BUILD_DIR) await buildNative();
  process.stderr.write(`relay-glibc from ${BUILD_DIR}, ${rounds} round(s) per case\n`);
  const results: Array<{ case: string; rounds: CaseRun[] }> = [];
  for (const [name, run] of Object.entries(CASES).filter(([n]) => !only || only.split(',').includes(n))) {
    const runs: CaseRun[] = [];
    for (let i = 0; i < rounds; i++) {
      runs.push(await withLab(name, run));
      process.stderr.write(`${name} round ${i + 1}: ${JSON.stringify(runs.at(-1))}\n`);
    }
    results.push({ case: name, rounds: runs });
  }
  const rows = results.map((r) => {
    const alive = r.rounds.filter((x) => x.alive).length;
    const last = r.rounds.at(-1)!.figures;
    return [r.case, `${alive}/${r.rounds.length}`, ((median(r.rounds.map((x) => x.vmHwm)) ?? NaN) / MiB).toFixed(1),
      ((median(r.rounds.map((x) => x.vmPeak)) ?? NaN) / MiB).toFixed(0), Object.entries(last).map(([k, v]) => `${k}=${v}`).join(' ')];
  });
  const file = writeBench('hostile', { buildDir: BUILD_DIR, responseBytes: RESPONSE_BYTES, headerSize: HEADER_SIZE, results });
  console.log(table(['case', 'alive', 'peak RSS MiB (VmHWM, median)', 'VmPeak MiB', 'figures (last round)'], rows));
  console.log(JSON.stringify({ bench: 'hostile', buildDir: BUILD_DIR, results }));
  console.log(`written: ${file}`);
}
