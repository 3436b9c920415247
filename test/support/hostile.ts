// Hostile clients of the relay, written from native/PROTOCOL.md only, and what /proc says
// about the relay while they run: for the hostile-input tests and `npm run bench -- hostile`.
import { readFileSync, readdirSync } from 'node:fs';
import { type Socket, connect } from 'node:net';
import { execa } from 'execa';
import { readCpuMs } from '../../harness/core/proc.js';
import { HEADER_SIZE } from '../../harness/subjects/protocol/codec.js';

/** A 16-byte header (any length, type and flags: it need not be legal). */
export function header(length: number, type: number, id = 1n, flags = 0): Buffer {
  const h = Buffer.alloc(HEADER_SIZE);
  h.writeUInt32BE(length, 0);
  h.writeUInt8(type, 4);
  h.writeUInt8(flags, 5);
  h.writeBigUInt64BE(id, 8);
  return h;
}

/** A plain socket to 127.0.0.1:port, connected. */
export function rawConnect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Resolves true once the peer closed `s` (or it errored), false after `ms`. The socket
 * must be flowing (a 'data' listener, or resume()) for its end to be seen. */
export function closedWithin(s: Socket, ms: number): Promise<boolean> {
  if (s.destroyed || s.readableEnded) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    const done = () => { clearTimeout(timer); resolve(true); };
    s.once('close', done);
    s.once('end', done);
  });
}

/**
 * Writes `chunk` to `s` until `limit` bytes are sent, the peer closes, or `answered()` says
 * a reply came; returns the bytes sent. It reads while it writes, as PROTOCOL.md asks of a
 * client that streams a large frame (after an ERROR the relay drops at most 1 s or 64 MiB
 * before it closes): it lets the event loop poll after every chunk. Without that, a drain
 * that completes synchronously resolves in a microtask, the client writes 64 MiB without
 * reading, gets the relay's reset, and Node destroys the socket with the ERROR unread.
 */
export async function streamUntilAnswered(s: Socket, chunk: Buffer, limit: number, answered: () => boolean): Promise<number> {
  let sent = 0;
  while (sent < limit && !s.destroyed && !s.readableEnded && !answered()) {
    const flushed = s.write(chunk);
    sent += chunk.length;
    if (!flushed) {
      const drained = await Promise.race([new Promise<boolean>((r) => s.once('drain', () => r(true))), closedWithin(s, 5000).then(() => false)]);
      if (!drained) break;
    }
    await new Promise((r) => setImmediate(r));
  }
  return sent;
}

export interface ProcStatus {
  vmPeak: number;
  vmSize: number;
  vmHwm: number;
  vmRss: number;
}

/** Address space (VmPeak, VmSize) and resident memory (VmHWM, VmRSS) in bytes, or null once it has exited. */
export function procStatus(pid: number): ProcStatus | null {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'latin1');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024;
    const st = { vmPeak: kb('VmPeak'), vmSize: kb('VmSize'), vmHwm: kb('VmHWM'), vmRss: kb('VmRSS') };
    return Number.isNaN(st.vmHwm) ? null : st;  // a zombie has no Vm* lines
  } catch {
    return null;
  }
}

/** The share of one core `pid` used over the next `ms` (user + system, from /proc/<pid>/stat). */
export async function cpuShare(pid: number, ms = 1000): Promise<number> {
  const t0 = performance.now();
  const c0 = readCpuMs(pid);
  await new Promise((r) => setTimeout(r, ms));
  const c1 = readCpuMs(pid);
  if (c0 === null || c1 === null) throw new Error(`process ${pid} is gone`);
  return (c1 - c0) / (performance.now() - t0);
}

/** Sets a resource limit of a running process (util-linux prlimit), e.g. ('as', n) or ('nofile', 64). */
export async function setLimit(pid: number, resource: 'as' | 'nofile', value: number): Promise<void> {
  const r = await execa('prlimit', ['--pid', String(pid), `--${resource}=${value}:${value}`], { reject: false });
  if (r.exitCode !== 0) throw new Error(`prlimit --pid ${pid} --${resource}=${value}: ${r.stderr || `exit ${r.exitCode}`} (Debian package util-linux)`);
}

/** Open descriptors of `pid` (entries of /proc/<pid>/fd), or -1 once it is gone. */
export function openFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return -1;
  }
}
