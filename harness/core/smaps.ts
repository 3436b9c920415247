// Where a process's resident memory sits, as the kernel counts it: /proc/<pid>/smaps split
// into the brk heap, other anonymous memory, thread stacks, file-backed pages and the rest
// (vdso, shared memory), with the LazyFree pages (freed with MADV_FREE, still resident until
// the kernel needs them) shown apart. Thread stacks are found from each thread's stack
// pointer (/proc/<pid>/task/<tid>/syscall, readable while the thread waits in the kernel);
// a thread that is running at that moment has no known stack pointer, and its stack counts
// as anonymous memory (the split says how many it located). The parsers are pure; the
// readers return null when the process is gone or the file is unreadable.
import { readFileSync, readdirSync } from 'node:fs';

/** One mapping of /proc/<pid>/smaps: its range, permissions, what backs it, and its pages. */
export interface SmapsMapping {
  start: bigint;
  end: bigint;
  perms: string;
  /** The file, a kernel name in brackets ([heap], [stack], [vdso], [anon:x]), or '' for anonymous. */
  path: string;
  inode: number;
  rss: number;
  anonymous: number;
  lazyFree: number;
  swap: number;
}

const HEADER = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) [0-9a-f]+ \S+ (\d+)\s*(.*)$/;
const FIELD = /^(\w+):\s+(\d+) kB$/;

/** Parses the text of /proc/<pid>/smaps (sizes in bytes). */
export function parseSmaps(text: string): SmapsMapping[] {
  const out: SmapsMapping[] = [];
  let cur: SmapsMapping | null = null;
  for (const line of text.split('\n')) {
    const h = HEADER.exec(line);
    if (h) {
      cur = { start: BigInt(`0x${h[1]}`), end: BigInt(`0x${h[2]}`), perms: h[3]!, inode: Number(h[4]), path: h[5]!.trim(), rss: 0, anonymous: 0, lazyFree: 0, swap: 0 };
      out.push(cur);
      continue;
    }
    const f = FIELD.exec(line);
    if (!f || !cur) continue;
    const bytes = Number(f[2]) * 1024;
    if (f[1] === 'Rss') cur.rss = bytes;
    else if (f[1] === 'Anonymous') cur.anonymous = bytes;
    else if (f[1] === 'LazyFree') cur.lazyFree = bytes;
    else if (f[1] === 'Swap') cur.swap = bytes;
  }
  return out;
}

/** The stack pointer in one line of /proc/<pid>/task/<tid>/syscall ("nr a1..a6 sp pc", or
 * "-1 sp pc" when blocked outside a system call), or null ("running", unreadable). */
export function parseSyscallSp(text: string): bigint | null {
  const t = text.trim().split(/\s+/);
  if (t.length < 3 || t[0] === 'running') return null;
  const sp = t[t.length - 2]!;
  return /^0x[0-9a-f]+$/.test(sp) ? BigInt(sp) : null;
}

/** Resident bytes by where they sit. The buckets add up to `rss` (smaps' own total). */
export interface RssSplit {
  rss: number;
  /** The brk heap ([heap]): glibc's main arena, or nothing under the mmap-only allocators. */
  brkHeap: number;
  /** Anonymous private memory that is neither the brk heap nor a located stack: the
   * allocator's mmapped arenas, spans and segments, and the program's own mmaps. */
  anonymous: number;
  /** Thread stacks: [stack] and the mappings that hold a thread's stack pointer. */
  stacks: number;
  /** Pages of files: the program's and its libraries' code and data, mapped files. */
  file: number;
  /** vdso, vvar, shared memory and other special mappings. */
  other: number;
  /** Of all the above, pages freed with MADV_FREE and not yet reclaimed (resident). */
  lazyFree: number;
  /** Threads, and how many of their stacks were located by their stack pointer. */
  threads: number;
  threadsLocated: number;
}

const SPECIAL = /^\[(vdso|vvar|vsyscall|uprobes)\]$|^\/dev\/shm\/|^\/memfd:|^\/SYSV|\(deleted\)$/;

/** Splits the mappings; `sps` are the threads' stack pointers that could be read, of `threads`. */
export function splitRss(maps: readonly SmapsMapping[], sps: readonly bigint[], threads: number): RssSplit {
  const s: RssSplit = { rss: 0, brkHeap: 0, anonymous: 0, stacks: 0, file: 0, other: 0, lazyFree: 0, threads, threadsLocated: 0 };
  const located = new Set<bigint>();
  for (const m of maps) {
    s.rss += m.rss;
    s.lazyFree += m.lazyFree;
    const holdsSp = sps.filter((sp) => sp >= m.start && sp < m.end);
    holdsSp.forEach((sp) => located.add(sp));
    if (m.path === '[stack]' || holdsSp.length > 0) s.stacks += m.rss;
    else if (m.path === '[heap]') s.brkHeap += m.rss;
    else if (SPECIAL.test(m.path)) s.other += m.rss;
    else if (m.path.startsWith('/')) s.file += m.rss;
    else s.anonymous += m.rss;
  }
  s.threadsLocated = located.size;
  return s;
}

/** The stack pointers of a process's threads that are waiting in the kernel, and how many
 * threads it has; null when the process is gone. */
export function readStackPointers(pid: number): { sps: bigint[]; threads: number } | null {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  const sps: bigint[] = [];
  for (const tid of tids) {
    try {
      const sp = parseSyscallSp(readFileSync(`/proc/${pid}/task/${tid}/syscall`, 'latin1'));
      if (sp !== null) sps.push(sp);
    } catch {
      // a thread that just ended, or no permission to read it: its stack stays unlocated
    }
  }
  return { sps, threads: tids.length };
}

/** The RSS split of a live process, or null when it is gone. */
export function readRssSplit(pid: number): RssSplit | null {
  const stacks = readStackPointers(pid);
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps`, 'latin1');
  } catch {
    return null;
  }
  if (!stacks) return null;
  return splitRss(parseSmaps(text), stacks.sps, stacks.threads);
}
