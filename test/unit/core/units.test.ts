import { describe, expect, it } from 'vitest';
import { formatBytes, parseDuration, parseSize } from '../../../harness/core/units.js';

describe('parseSize', () => {
  it.each([
    ['512', 512], [512, 512], ['64KiB', 65536], ['1.5MiB', 1572864], ['1GiB', 1073741824],
    ['4kb', 4000], ['2 MiB', 2097152], ['0', 0], ['10B', 10],
  ])('%s -> %d bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });
  it.each(['', 'KiB', '-1', '1.5.2MiB', '64 Kibibytes', '1e3', '64PiB'])('rejects %j', (text) => {
    expect(parseSize(text)).toBeUndefined();
  });
  it('rejects negative and non-finite numbers', () => {
    expect(parseSize(-1)).toBeUndefined();
    expect(parseSize(Number.NaN)).toBeUndefined();
  });
});

describe('parseDuration', () => {
  it.each([['250ms', 250], ['3s', 3000], ['1.5s', 1500], ['2m', 120000], [40, 40], ['0s', 0]])('%s -> %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
  it.each(['3', '3 sec', 's', '-1s', '1h'])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('formatBytes', () => {
  it('picks a readable unit', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(450 * 1024 * 1024)).toBe('450 MiB');
    expect(formatBytes(3 * 1024 ** 3)).toBe('3 GiB');
  });
});
