// The smaps parser and the RSS split on hand-built text (a fake /proc file, in the kernel's
// format as proc(5) documents it), and the stack pointer in a task's syscall file.
import { describe, expect, it } from 'vitest';
import { parseSmaps, parseSyscallSp, splitRss } from '../../../harness/core/smaps.js';

const KiB = 1024;

/** One mapping in smaps' format; only the fields the split reads carry values. */
const mapping = (range: string, perms: string, inode: number, path: string, rssKb: number, anonKb: number, lazyKb = 0) => [
  `${range} ${perms} 00000000 ${inode === 0 ? '00:00' : '08:01'} ${inode}${path ? `                          ${path}` : ' '}`,
  `Size:               ${rssKb * 2} kB`, 'KernelPageSize:        4 kB', `Rss:                ${rssKb} kB`, `Pss:                ${rssKb} kB`,
  `Anonymous:          ${anonKb} kB`, `LazyFree:           ${lazyKb} kB`, 'AnonHugePages:         0 kB', 'Swap:                  0 kB',
  'THPeligible:    0', 'VmFlags: rd wr mr mw me ac sd',
].join('\n');

const FAKE_SMAPS = [
  mapping('55d0c3800000-55d0c3810000', 'r-xp', 1234, '/usr/bin/server', 40, 0),
  mapping('55d0c3a00000-55d0c5a00000', 'rw-p', 0, '[heap]', 3000, 3000),
  mapping('7f0000000000-7f0004000000', 'rw-p', 0, '', 60000, 60000, 2000),
  mapping('7f0010000000-7f0010001000', '---p', 0, '', 0, 0),
  mapping('7f0010001000-7f0010801000', 'rw-p', 0, '', 24, 24),
  mapping('7f0020000000-7f0020200000', 'r-xp', 99, '/usr/lib/x86_64-linux-gnu/libc.so.6', 900, 0),
  mapping('7f0020400000-7f0020402000', 'rw-p', 99, '/usr/lib/x86_64-linux-gnu/libc.so.6', 8, 8),
  mapping('7f0030000000-7f0030100000', 'rw-s', 7, '/dev/shm/ring', 500, 0),
  mapping('7ffc00000000-7ffc00021000', 'rw-p', 0, '[stack]', 132, 132),
  mapping('7ffc00100000-7ffc00102000', 'r-xp', 0, '[vdso]', 8, 0),
].join('\n') + '\n';

describe('parseSmaps', () => {
  it('reads each mapping\'s range, permissions, path and page counts in bytes', () => {
    const m = parseSmaps(FAKE_SMAPS);
    expect(m).toHaveLength(10);
    expect(m[1]).toEqual({ start: 0x55d0c3a00000n, end: 0x55d0c5a00000n, perms: 'rw-p', inode: 0, path: '[heap]', rss: 3000 * KiB, anonymous: 3000 * KiB, lazyFree: 0, swap: 0 });
    expect(m[2]!.path).toBe('');
    expect(m[2]!.lazyFree).toBe(2000 * KiB);
    expect(m[5]!.path).toBe('/usr/lib/x86_64-linux-gnu/libc.so.6');
    expect(m[5]!.inode).toBe(99);
  });

  it('ignores text it does not know and an empty file', () => {
    expect(parseSmaps('')).toEqual([]);
    expect(parseSmaps('Rss: 4 kB\nnonsense\n')).toEqual([]);
  });
});

describe('parseSyscallSp', () => {
  it('takes the next-to-last field of a blocked thread, in or out of a system call', () => {
    expect(parseSyscallSp('232 0x4 0x7f001f7fe9c0 0x80 0xffffffff 0x0 0x0 0x7f0010800c48 0x7f0020112a46\n')).toBe(0x7f0010800c48n);
    expect(parseSyscallSp('-1 0x7ffc00020f00 0x55d0c3801234\n')).toBe(0x7ffc00020f00n);
  });
  it('has none for a running thread or garbage', () => {
    expect(parseSyscallSp('running\n')).toBeNull();
    expect(parseSyscallSp('')).toBeNull();
    expect(parseSyscallSp('1 2 zz 3')).toBeNull();
  });
});

describe('splitRss', () => {
  it('puts every resident page in one bucket: brk heap, anonymous, stacks, file, other', () => {
    // One thread's stack pointer inside the 8 MiB anonymous mapping after the guard page,
    // one in [stack]; a third thread was running (no stack pointer).
    const s = splitRss(parseSmaps(FAKE_SMAPS), [0x7f0010800c48n, 0x7ffc00020f00n], 3);
    expect(s).toEqual({
      rss: (40 + 3000 + 60000 + 24 + 900 + 8 + 500 + 132 + 8) * KiB,
      brkHeap: 3000 * KiB,
      anonymous: 60000 * KiB,
      stacks: (24 + 132) * KiB,
      file: (40 + 900 + 8) * KiB,
      other: (500 + 8) * KiB,
      lazyFree: 2000 * KiB,
      threads: 3,
      threadsLocated: 2,
    });
  });

  it('without stack pointers, a thread\'s stack mapping counts as anonymous', () => {
    const s = splitRss(parseSmaps(FAKE_SMAPS), [], 3);
    expect(s.stacks).toBe(132 * KiB);
    expect(s.anonymous).toBe((60000 + 24) * KiB);
    expect(s.threadsLocated).toBe(0);
  });
});
