import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, FrameType } from '../../harness/subjects/protocol/codec.js';
import { binaryPath } from '../../harness/core/paths.js';

describe('frame codec (TypeScript side)', () => {
  it('encodes to the literal wire bytes of PROTOCOL.md', () => {
    const bytes = encodeFrame(FrameType.request, 0x0102030405060708n, Buffer.from('hi'));
    expect(bytes.toString('hex')).toBe('00000002' + '01' + '00' + '0000' + '0102030405060708' + '6869');
  });
  it('decodes a frame and leaves the rest', () => {
    const two = Buffer.concat([encodeFrame(FrameType.adminReply, 7n, '{}'), Buffer.from([0, 0])]);
    const d = decodeFrame(two);
    expect(d.kind).toBe('frame');
    if (d.kind !== 'frame') return;
    expect(d.frame).toEqual({ type: 5, id: 7n, payload: Buffer.from('{}') });
    expect([...d.rest]).toEqual([0, 0]);
  });
  it('needs more at every split point of a frame', () => {
    const whole = encodeFrame(FrameType.response, 1n, Buffer.alloc(5, 1));
    for (let n = 0; n < whole.length; n++) expect(decodeFrame(whole.subarray(0, n)).kind).toBe('needMore');
  });
  it('rejects oversize lengths and nonzero flags before the payload arrives', () => {
    const header = Buffer.from('7fffffff01000000' + '0000000000000001', 'hex');
    expect(decodeFrame(header)).toMatchObject({ kind: 'error', message: expect.stringContaining('exceeds') });
    const flags = Buffer.from('0000000001010000' + '0000000000000001', 'hex');
    expect(decodeFrame(flags)).toMatchObject({ kind: 'error', message: expect.stringContaining('flags') });
  });
});

describe('frame codec (C++ side, native/test/codec_test.cc)', () => {
  it('passes its checks against literal wire bytes', async () => {
    const r = await execa(binaryPath('codec_test'), [], { reject: false });
    expect(r.stdout + r.stderr).toMatch(/\b[1-9]\d* passed, 0 failed/);
    expect(r.exitCode).toBe(0);
  });
});
