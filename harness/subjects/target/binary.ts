// What a target's program is: where it resolves on PATH, whether it is executable, ELF
// facts (static or dynamic, GNU build id), its sha256, the Debian package it comes from,
// and the allocator libraries it links. For run.json's provenance and for refusing a
// preload variant that could not take (a static binary, a binary linking its own allocator).
import { accessSync, closeSync, constants, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { execaSync } from 'execa';
import { ALLOCATORS, type Allocator, allocatorsNamedIn } from '../../allocators/registry.js';

export interface BinaryInfo {
  /** The program as written in the scenario, and the file it resolved to. */
  program: string;
  path: string;
  /** ELF facts; null when the file is not an ELF executable (a script). */
  elf: { static: boolean; buildId: string | null } | null;
  sha256: string;
  /** The Debian package that installed the file, and its version (null when none did). */
  debianPackage: string | null;
  debianVersion: string | null;
  /** Allocator libraries the program links (from ldd), e.g. ['jemalloc'] for Debian's Redis. */
  linkedAllocators: Allocator[];
}

/** `program` resolved as execvp would (a name without a slash is looked up on PATH;
 * otherwise relative to `cwd`); null when no executable file is found. */
export function resolveProgram(program: string, cwd: string, pathEnv = process.env.PATH ?? ''): { path: string | null; reason: string } {
  const candidates = program.includes('/')
    ? [isAbsolute(program) ? program : resolve(cwd, program)]
    : pathEnv.split(delimiter).filter(Boolean).map((d) => join(resolve(cwd, d), program));
  let found: string | null = null;
  for (const c of candidates) {
    try {
      if (!statSync(c).isFile()) continue;
      found ??= c;
      accessSync(c, constants.X_OK);
      return { path: c, reason: '' };
    } catch {
      // next candidate
    }
  }
  if (found) return { path: null, reason: `${found} is not executable (chmod +x, or check the path)` };
  return { path: null, reason: program.includes('/') ? `no such file ${candidates[0]}` : `'${program}' is not on PATH (${pathEnv || 'empty'})` };
}

const PT_INTERP = 3;
const PT_NOTE = 4;
const NT_GNU_BUILD_ID = 3;

/** Static or dynamic, and the GNU build id, from the program headers (64-bit little-endian
 * ELF, what leak-lab runs on); null for anything else. */
export function readElf(path: string): BinaryInfo['elf'] {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(64);
    if (readSync(fd, head, 0, 64, 0) < 64 || head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2 || head[5] !== 1) return null;
    const phoff = Number(head.readBigUInt64LE(32));
    const phentsize = head.readUInt16LE(54);
    const phnum = head.readUInt16LE(56);
    const ph = Buffer.alloc(phentsize * phnum);
    readSync(fd, ph, 0, ph.length, phoff);
    let interp = false;
    let buildId: string | null = null;
    for (let i = 0; i < phnum; i++) {
      const o = i * phentsize;
      const type = ph.readUInt32LE(o);
      if (type === PT_INTERP) interp = true;
      if (type === PT_NOTE && buildId === null) {
        const off = Number(ph.readBigUInt64LE(o + 8));
        const size = Number(ph.readBigUInt64LE(o + 32));
        const notes = Buffer.alloc(Math.min(size, 1 << 16));
        readSync(fd, notes, 0, notes.length, off);
        buildId = findBuildId(notes);
      }
    }
    // No interpreter, no ld.so: nothing reads LD_PRELOAD (static and static-pie alike).
    return { static: !interp, buildId };
  } finally {
    closeSync(fd);
  }
}

function findBuildId(notes: Buffer): string | null {
  const align4 = (n: number) => (n + 3) & ~3;
  for (let p = 0; p + 12 <= notes.length;) {
    const namesz = notes.readUInt32LE(p);
    const descsz = notes.readUInt32LE(p + 4);
    const type = notes.readUInt32LE(p + 8);
    const name = notes.subarray(p + 12, p + 12 + namesz).toString('latin1').replace(/\0+$/, '');
    const desc = p + 12 + align4(namesz);
    if (type === NT_GNU_BUILD_ID && name === 'GNU') return notes.subarray(desc, desc + descsz).toString('hex');
    p = desc + align4(descsz);
  }
  return null;
}

function quiet(cmd: string, args: string[]): string | null {
  try {
    const r = execaSync(cmd, args, { reject: false, timeout: 10_000 });
    return r.exitCode === 0 ? r.stdout : null;
  } catch {
    return null;
  }
}

/** The allocator libraries ldd lists for a dynamic binary. */
export function linkedAllocators(path: string): Allocator[] {
  const out = quiet('ldd', [path]) ?? '';
  const found = new Set(out.split('\n').flatMap(allocatorsNamedIn));
  return ALLOCATORS.filter((a) => found.has(a));
}

export function inspectBinary(program: string, path: string): BinaryInfo {
  const elf = readElf(path);
  const sha256 = createHash('sha256').update(readFileSync(path)).digest('hex');
  // dpkg -S knows the path as installed (/usr/bin/x), also when PATH found it under /bin.
  const owner = quiet('dpkg', ['-S', path]) ?? quiet('dpkg', ['-S', path.replace(/^\/(s?bin)\//, '/usr/$1/')]);
  const debianPackage = owner ? (owner.split('\n')[0]!.split(':')[0] ?? null) : null;
  const debianVersion = debianPackage ? quiet('dpkg-query', ['-W', '-f=${Version}', debianPackage]) : null;
  return {
    program, path, elf, sha256, debianPackage, debianVersion: debianVersion || null,
    linkedAllocators: elf && !elf.static ? linkedAllocators(path) : [],
  };
}
