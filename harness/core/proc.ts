// What the kernel says of a process, read from /proc/<pid>/: RSS (statm), smaps_rollup,
// VmHWM, CPU time. Each reader returns null when the process is gone or the file is
// unreadable; none of them throws.
import { readFileSync, readdirSync } from 'node:fs';

export const PAGE_SIZE = 4096;

export function readStatmRss(pid: number): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/statm`, 'latin1').split(' ');
    return Number(fields[1]) * PAGE_SIZE;
  } catch {
    return null;
  }
}

export interface SmapsRollup {
  rssBytes: number;
  privateDirtyBytes: number;
  lazyfreeBytes: number;
}

export function parseSmapsRollup(text: string): SmapsRollup {
  const kb = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : 0;
  };
  return { rssBytes: kb('Rss'), privateDirtyBytes: kb('Private_Dirty'), lazyfreeBytes: kb('LazyFree') };
}

export function readSmapsRollup(pid: number): SmapsRollup | null {
  try {
    return parseSmapsRollup(readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1'));
  } catch {
    return null;
  }
}

/** VmHWM (the kernel's RSS high-water mark) from /proc/<pid>/status. */
export function readVmHwm(pid: number): number | null {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** CPU time (user + system, ms) a process has used, from /proc/<pid>/stat: every thread,
 * those that have exited too; counted in clock ticks. */
export function readCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/** CPU time (ms) of a process's live threads, from each one's schedstat: nanoseconds on
 * the CPU, exact. Clock ticks over-count a process that wakes every 10 ms on the timer
 * tick, as the native sampler does; exited threads are not counted here. */
export function readThreadsCpuMs(pid: number): number | null {
  try {
    let ns = 0;
    for (const t of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'latin1').split(' ')[0]);
    return ns / 1e6;
  } catch {
    return readCpuMs(pid);
  }
}

/** USER_HZ: 100 on every Linux architecture leak-lab runs on. */
const CLOCK_TICKS = 100;

