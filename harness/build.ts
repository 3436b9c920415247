// Configures and builds native/ with CMake into build/native (git-ignored). Incremental:
// a build with nothing to do takes well under two seconds.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { LabError } from './errors.js';
import { BUILD_DIR, NATIVE_DIR } from './paths.js';

export interface BuildResult {
  /** Relays CMake skipped, with the Debian package that would bring them. */
  skipped: string[];
  ms: number;
}

async function requireTool(tool: string, install: string): Promise<void> {
  const r = await execa('sh', ['-c', 'command -v "$1"', 'sh', tool], { reject: false });
  if (r.exitCode !== 0) throw new LabError('missingTool', { tool, install });
}

export async function buildNative(log: (line: string) => void = () => {}): Promise<BuildResult> {
  const started = performance.now();
  await requireTool('cmake', 'sudo apt-get install cmake');
  await requireTool('c++', 'sudo apt-get install g++');
  let skipped: string[] = [];
  if (!existsSync(join(BUILD_DIR, 'CMakeCache.txt'))) {
    log(`configuring native/ into ${BUILD_DIR}`);
    const conf = await execa('cmake', ['-S', NATIVE_DIR, '-B', BUILD_DIR, '-DCMAKE_BUILD_TYPE=RelWithDebInfo'], { reject: false, all: true });
    if (conf.exitCode !== 0) throw new LabError('buildFailed', { step: 'cmake configure', output: tail(conf.all ?? '') });
    skipped = [...(conf.all ?? '').matchAll(/leak-lab: (skipping [^\n]*)/g)].map((m) => m[1]!);
    for (const s of skipped) log(s);
  }
  const build = await execa('cmake', ['--build', BUILD_DIR, '-j', '2'], { reject: false, all: true });
  if (build.exitCode !== 0) throw new LabError('buildFailed', { step: 'cmake --build', output: tail(build.all ?? '') });
  return { skipped, ms: performance.now() - started };
}

/** Where `lab detect` builds its AddressSanitizer relay (next to BUILD_DIR). */
export const ASAN_BUILD_DIR = `${BUILD_DIR}-asan`;

/** Builds relay-glibc with clang and -fsanitize=address (LeakSanitizer) into ASAN_BUILD_DIR,
 * for `lab detect`; incremental like buildNative. Returns the binary's path. */
export async function buildAsanRelay(log: (line: string) => void = () => {}): Promise<string> {
  await requireTool('cmake', 'sudo apt-get install cmake');
  await requireTool('clang++', 'sudo apt-get install clang libclang-rt-dev');
  if (!existsSync(join(ASAN_BUILD_DIR, 'CMakeCache.txt'))) {
    log(`configuring native/ with clang and -fsanitize=address into ${ASAN_BUILD_DIR}`);
    const conf = await execa('cmake', ['-S', NATIVE_DIR, '-B', ASAN_BUILD_DIR, '-DCMAKE_BUILD_TYPE=RelWithDebInfo',
      '-DCMAKE_CXX_COMPILER=clang++', '-DLEAKLAB_SANITIZE=address'], { reject: false, all: true });
    if (conf.exitCode !== 0) throw new LabError('buildFailed', { step: 'cmake configure (ASan)', output: tail(conf.all ?? '') });
  }
  const build = await execa('cmake', ['--build', ASAN_BUILD_DIR, '-j', '2', '--target', 'relay-glibc'], { reject: false, all: true });
  if (build.exitCode !== 0) {
    const out = build.all ?? '';
    // clang links but finds no ASan runtime: Debian ships it apart (libclang-rt-<version>-dev).
    if (/libclang_rt\.asan/.test(out)) throw new LabError('missingTool', { tool: 'the clang AddressSanitizer runtime (libclang_rt.asan)', install: 'sudo apt-get install libclang-rt-dev' });
    throw new LabError('buildFailed', { step: 'cmake --build (ASan relay-glibc)', output: tail(out) });
  }
  return join(ASAN_BUILD_DIR, 'relay-glibc');
}

function tail(text: string, lines = 40): string {
  return text.split('\n').slice(-lines).join('\n');
}
