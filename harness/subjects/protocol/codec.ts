// The wire protocol of native/PROTOCOL.md, for the harness's admin client and tests.
export const HEADER_SIZE = 16;
export const DEFAULT_MAX_FRAME = 16 * 1024 * 1024;

export const FrameType = { request: 1, response: 2, error: 3, admin: 4, adminReply: 5 } as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

export interface Frame {
  type: number;
  id: bigint;
  payload: Buffer;
}

export function encodeFrame(type: number, id: bigint, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const header = Buffer.alloc(HEADER_SIZE);
  header.writeUInt32BE(body.length, 0);
  header.writeUInt8(type, 4);
  header.writeBigUInt64BE(id, 8);
  return Buffer.concat([header, body]);
}

export type Decoded =
  | { kind: 'frame'; frame: Frame; rest: Buffer }
  | { kind: 'needMore' }
  | { kind: 'error'; message: string };

/** Decodes the first frame of `buf` (a client-side decoder: any type is accepted). */
export function decodeFrame(buf: Buffer, maxFrame = DEFAULT_MAX_FRAME): Decoded {
  if (buf.length < HEADER_SIZE) return { kind: 'needMore' };
  const length = buf.readUInt32BE(0);
  if (length > maxFrame) return { kind: 'error', message: `frame length ${length} exceeds ${maxFrame}` };
  if (buf[5] !== 0 || buf[6] !== 0 || buf[7] !== 0) return { kind: 'error', message: 'flags and reserved bytes must be zero' };
  if (buf.length < HEADER_SIZE + length) return { kind: 'needMore' };
  return {
    kind: 'frame',
    frame: { type: buf.readUInt8(4), id: buf.readBigUInt64BE(8), payload: buf.subarray(HEADER_SIZE, HEADER_SIZE + length) },
    rest: buf.subarray(HEADER_SIZE + length),
  };
}
