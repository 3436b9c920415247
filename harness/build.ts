// Configures and builds native/ with CMake into build/native (git-ignored). Incremental:
// a build with nothing to do takes well under two seconds.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { LabError } from './errors.js';
import { BUILD_DIR, NATIVE_DIR, ROOT } from './paths.js';

export interface BuildResult {
  /** Relays CMake skipped, with the Debian package that would bring them. */
  skipped: string[];
  ms: number;
}

async function requireTool(tool: string, install: string): Promise<void> {
  const r = await execa('sh', ['-c', 'command -v "$1"', 'sh', tool], { reject: false });
  if (r.exitCode !== 0) throw new LabError('missingTool', { tool, install });
}

/** The AddressSanitizer + UndefinedBehaviorSanitizer build (clang; relay-glibc, upstream,
 * loadgen, sampler): `lab build --sanitize`, or any command with
 * LEAKLAB_BUILD_DIR=build/native-sanitize, which buildNative then configures this way. */
export const SANITIZE_BUILD_DIR = join(ROOT, 'build', 'native-sanitize');

/** Builds `dir` (BUILD_DIR unless told); SANITIZE_BUILD_DIR gets the sanitizer configuration. */
export async function buildNative(log: (line: string) => void = () => {}, dir = BUILD_DIR): Promise<BuildResult> {
  const started = performance.now();
  const sanitize = resolve(dir) === SANITIZE_BUILD_DIR;
  await requireTool('cmake', 'sudo apt-get install cmake');
  if (sanitize) await requireTool('clang++', 'sudo apt-get install clang libclang-rt-dev');
  else await requireTool('c++', 'sudo apt-get install g++');
  let skipped: string[] = [];
  if (!existsSync(join(dir, 'CMakeCache.txt'))) {
    log(`configuring native/ into ${dir}${sanitize ? ' with clang and -fsanitize=address,undefined' : ''}`);
    const flags = sanitize ? ['-DCMAKE_CXX_COMPILER=clang++', '-DLEAKLAB_SANITIZE=address,undefined'] : [];
    const conf = await execa('cmake', ['-S', NATIVE_DIR, '-B', dir, '-DCMAKE_BUILD_TYPE=RelWithDebInfo', ...flags], { reject: false, all: true });
    if (conf.exitCode !== 0) throw new LabError('buildFailed', { step: 'cmake configure', output: tail(conf.all ?? '') });
    skipped = [...(conf.all ?? '').matchAll(/leak-lab: (skipping [^\n]*)/g)].map((m) => m[1]!);
    for (const s of skipped) log(s);
  }
  const build = await execa('cmake', ['--build', dir, '-j', '2'], { reject: false, all: true });
  if (build.exitCode !== 0) {
    if (sanitize && /libclang_rt\.(asan|ubsan)/.test(build.all ?? '')) throw new LabError('missingTool', { tool: 'the clang sanitizer runtimes (libclang_rt.asan)', install: 'sudo apt-get install libclang-rt-dev' });
    throw new LabError('buildFailed', { step: 'cmake --build', output: tail(build.all ?? '') });
  }
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

/** Where the libFuzzer target frame_fuzz is built (clang, -DLEAKLAB_FUZZ=ON). */
export const FUZZ_BUILD_DIR = join(ROOT, 'build', 'native-fuzz');

/** Builds frame_fuzz (native/fuzz/) with clang into FUZZ_BUILD_DIR, on demand and
 * incrementally like buildNative. Returns the binary's path. */
export async function buildFuzzer(log: (line: string) => void = () => {}): Promise<string> {
  await requireTool('cmake', 'sudo apt-get install cmake');
  await requireTool('clang++', 'sudo apt-get install clang libclang-rt-dev');
  if (!existsSync(join(FUZZ_BUILD_DIR, 'CMakeCache.txt'))) {
    log(`configuring native/ with clang and -DLEAKLAB_FUZZ=ON into ${FUZZ_BUILD_DIR}`);
    const conf = await execa('cmake', ['-S', NATIVE_DIR, '-B', FUZZ_BUILD_DIR, '-DCMAKE_BUILD_TYPE=RelWithDebInfo',
      '-DCMAKE_CXX_COMPILER=clang++', '-DLEAKLAB_FUZZ=ON'], { reject: false, all: true });
    if (conf.exitCode !== 0) throw new LabError('buildFailed', { step: 'cmake configure (fuzz)', output: tail(conf.all ?? '') });
  }
  const build = await execa('cmake', ['--build', FUZZ_BUILD_DIR, '-j', '2', '--target', 'frame_fuzz'], { reject: false, all: true });
  if (build.exitCode !== 0) {
    const out = build.all ?? '';
    if (/libclang_rt\.(fuzzer|asan|ubsan)/.test(out)) throw new LabError('missingTool', { tool: 'the clang libFuzzer/sanitizer runtimes (libclang_rt.fuzzer)', install: 'sudo apt-get install libclang-rt-dev' });
    throw new LabError('buildFailed', { step: 'cmake --build (frame_fuzz)', output: tail(out) });
  }
  return join(FUZZ_BUILD_DIR, 'frame_fuzz');
}

function tail(text: string, lines = 40): string {
  return text.split('\n').slice(-lines).join('\n');
}
