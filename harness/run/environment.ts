// Provenance: what machine, kernel, libraries and commit produced a run.
import { readFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { execaSync } from 'execa';
import { relative } from 'node:path';
import { BUILD_DIR, ROOT } from '../core/paths.js';
import { ALLOCATOR, ALLOCATORS } from '../allocators/registry.js';
import { debianVersion } from '../allocators/variants.js';
import type { Environment } from '../results/schema.js';

function firstLine(cmd: string, args: string[]): string | null {
  try {
    const r = execaSync(cmd, args, { reject: false, cwd: ROOT });
    return r.exitCode === 0 ? (r.stdout.split('\n')[0] ?? '').trim() : null;
  } catch {
    return null;
  }
}

function readOr(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}


export function collectEnvironment(): Environment {
  const cpuinfo = readOr('/proc/cpuinfo') ?? '';
  const meminfo = readOr('/proc/meminfo') ?? '';
  const thpRaw = readOr('/sys/kernel/mm/transparent_hugepage/enabled');
  const status = firstLine('git', ['status', '--porcelain']);
  const allocators: Environment['allocators'] = {};
  for (const a of ALLOCATORS) allocators[a] = { debian: debianVersion(ALLOCATOR[a].packages.runtime), reported: null };
  return {
    kernel: release(),
    glibc: firstLine('getconf', ['GNU_LIBC_VERSION']),
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? null,
    cores: cpus().length,
    memTotalBytes: Number(/^MemTotal:\s+(\d+) kB/m.exec(meminfo)?.[1] ?? NaN) * 1024 || null,
    thp: thpRaw ? (/\[(\w+)\]/.exec(thpRaw)?.[1] ?? thpRaw) : null,
    node: process.version,
    compiler: firstLine('c++', ['--version']),
    cmake: firstLine('cmake', ['--version']),
    allocators,
    buildDir: relative(ROOT, BUILD_DIR) || BUILD_DIR,
    git: {
      commit: firstLine('git', ['rev-parse', 'HEAD']),
      dirty: status === null ? null : status.length > 0,
    },
  };
}
