// A framed TCP client for 127.0.0.1: the harness's admin channel, and the tests' way of
// talking to the relay and upstream.
import { Socket, connect } from 'node:net';
import { type Frame, FrameType, decodeFrame, encodeFrame } from './codec.js';

export class FrameClient {
  private buffered: Buffer = Buffer.alloc(0);
  private readonly waiters = new Map<bigint, { resolve: (f: Frame) => void; reject: (e: Error) => void }>();
  private readonly anyFrame: Array<(f: Frame) => void> = [];
  private closeError: Error | undefined;
  readonly frames: Frame[] = [];  // frames nobody waited for
  closed: Promise<void>;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk) => this.onData(chunk));
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', (err) => { this.closeError = err; });
    socket.once('close', () => {
      const err = this.closeError ?? new Error('connection closed');
      for (const w of this.waiters.values()) w.reject(err);
      this.waiters.clear();
    });
  }

  static open(port: number): Promise<FrameClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.off('error', reject);
        s.setNoDelay(true);
        resolve(new FrameClient(s));
      });
      s.once('error', reject);
    });
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    for (;;) {
      const d = decodeFrame(this.buffered);
      if (d.kind !== 'frame') break;
      this.buffered = Buffer.from(d.rest);
      const frame = { ...d.frame, payload: Buffer.from(d.frame.payload) };
      const waiter = this.waiters.get(frame.id);
      if (waiter) {
        this.waiters.delete(frame.id);
        waiter.resolve(frame);
      } else if (this.anyFrame.length) {
        this.anyFrame.shift()!(frame);
      } else {
        this.frames.push(frame);
      }
    }
  }

  writeRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  send(type: number, id: bigint, payload: Buffer | string = Buffer.alloc(0)): void {
    this.socket.write(encodeFrame(type, id, payload));
  }

  /** Sends a frame and resolves with the answer carrying the same id. */
  call(type: number, id: bigint, payload: Buffer | string = Buffer.alloc(0), timeoutMs = 10_000): Promise<Frame> {
    return new Promise<Frame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(id);
        reject(new Error(`no answer to frame ${id} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(id, {
        resolve: (f) => { clearTimeout(timer); resolve(f); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      this.send(type, id, payload);
    });
  }

  /** Resolves with the next frame nobody is waiting for by id. */
  next(timeoutMs = 10_000): Promise<Frame> {
    const queued = this.frames.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no frame within ${timeoutMs} ms`)), timeoutMs);
      this.anyFrame.push((f) => { clearTimeout(timer); resolve(f); });
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

/** The relay's admin channel: one command per call, JSON answers. */
export class AdminClient {
  private nextId = 1n;
  /** `port`: the admin port on 127.0.0.1 (the native sampler opens its own connection). */
  private constructor(private readonly client: FrameClient, readonly port: number) {}

  static async open(port: number): Promise<AdminClient> {
    return new AdminClient(await FrameClient.open(port), port);
  }

  async command<T = Record<string, unknown>>(cmd: string, timeoutMs = 30_000): Promise<T> {
    const frame = await this.client.call(FrameType.admin, this.nextId++, cmd, timeoutMs);
    if (frame.type !== FrameType.adminReply) {
      throw new Error(`admin '${cmd}': expected ADMIN_REPLY, got type ${frame.type}: ${frame.payload.toString('utf8')}`);
    }
    return JSON.parse(frame.payload.toString('utf8')) as T;
  }

  close(): void {
    this.client.close();
  }
}
