// The RSS split of a real process (harness/core/smaps.ts) against the kernel's own totals:
// the lab's key-value server (build/native/leaklab-kv, mode free, glibc) with three client
// connections open (one thread each, all waiting in read), filled with 64 MiB of 256-512 KiB
// values (above glibc's 128 KiB mmap threshold, so each value is its own anonymous mapping),
// then cleared (glibc unmaps them at once).
import { type ChildProcess, spawn } from 'node:child_process';
import { type Socket, connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { KV, startKv } from '../support/kv.js';
import { readSmapsRollup } from '../../harness/core/proc.js';
import { type RssSplit, readRssSplit } from '../../harness/core/smaps.js';

const MiB = 1024 * 1024;

let server: ChildProcess;
let port = 0;
const sockets: Socket[] = [];

beforeAll(async () => {
  const kv = await startKv(['--mode', 'free']);
  server = kv.proc;
  port = kv.port;
  for (let i = 0; i < 3; i++) {
    const s = connect(port, '127.0.0.1');
    await new Promise<void>((r) => s.once('connect', () => r()));
    sockets.push(s);
  }
  // Each connection's thread answers one PING, so all three exist and wait in read.
  for (const s of sockets) {
    s.write('PING\n');
    await new Promise<void>((r) => s.once('data', () => r()));
  }
});

afterAll(() => {
  for (const s of sockets) s.destroy();
  server?.kill('SIGKILL');
});

const client = (...words: string[]) => execa(KV, ['client', '--port', String(port), ...words]);

/** The split, and smaps_rollup's total read right after it (an idle process: nothing moves
 * between the two reads; measured equal to the byte). */
function splitAndRollup(): { split: RssSplit; rollup: number } {
  const split = readRssSplit(server.pid!)!;
  const rollup = readSmapsRollup(server.pid!)!.rssBytes;
  return { split, rollup };
}

describe('the RSS split of a live process', () => {
  it('accounts for every resident byte the kernel counts (smaps_rollup), and locates every waiting thread\'s stack', () => {
    const { split, rollup } = splitAndRollup();
    expect(Math.abs(split.rss - rollup)).toBeLessThanOrEqual(256 * 1024);
    // main (accept), the signal-waiting thread, 3 connection threads: all blocked in the kernel.
    expect(split.threads).toBe(5);
    expect(split.threadsLocated).toBe(5);
    // Each waiting thread has touched a few pages of its stack: 60 KiB for the five
    // (measured 2026-12-03), a guard page and 8 MiB reserved each, not resident.
    expect(split.stacks).toBeGreaterThanOrEqual(30 * 1024);
    expect(split.stacks).toBeLessThanOrEqual(120 * 1024);
    // libc, libstdc++ and the program's own code and data: measured 2.8 MiB.
    expect(split.file).toBeGreaterThan(1.4 * MiB);
    expect(split.file).toBeLessThan(6 * MiB);
    // Nothing stored yet: measured 64 KiB of anonymous memory, 16 KiB of brk heap.
    expect(split.anonymous).toBeLessThan(1 * MiB);
    expect(split.lazyFree).toBe(0);
  });

  it('a 64 MiB fill of large values lands in anonymous memory and leaves with CLEAR; the brk heap stays small', async () => {
    const before = readRssSplit(server.pid!)!;
    await client('FILL', '64MiB', '256KiB', '512KiB', '1');
    const filled = readRssSplit(server.pid!)!;
    expect(filled.anonymous - before.anonymous).toBeGreaterThan(60 * MiB);
    expect(filled.anonymous - before.anonymous).toBeLessThan(72 * MiB);
    expect(filled.brkHeap).toBeLessThan(8 * MiB);
    await client('CLEAR');
    const cleared = readRssSplit(server.pid!)!;
    expect(filled.anonymous - cleared.anonymous).toBeGreaterThan(60 * MiB);
    expect(cleared.file).toBe(filled.file);
  });

  it('a process that is gone reads as null', async () => {
    const p = spawn('true');
    await new Promise((r) => p.on('exit', r));
    expect(readRssSplit(p.pid!)).toBeNull();
  });
});
