// Configures and builds native/ with CMake into build/native (git-ignored). Incremental:
// a build with nothing to do takes well under two seconds.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { LabError } from '../core/errors.js';
import { BUILD_DIR, NATIVE_DIR, ROOT } from '../core/paths.js';

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

interface CmakeBuild {
  dir: string;
  /** Build with clang++ (the sanitizer and fuzzer builds) instead of the system c++. */
  clang: boolean;
  /** Extra -D options, given when the folder is first configured. */
  defines: string[];
  /** Only this target (else everything). */
  target?: string;
  /** What this build is, for messages: "", "ASan relay-glibc", "frame_fuzz", ... */
  label: string;
  /** Extra environment for CMake (tests: PKG_CONFIG_LIBDIR to hide an allocator). */
  env?: Record<string, string>;
}

const CLANG_RUNTIME = /libclang_rt\.(asan|ubsan|fuzzer)/;

/** Configures `dir` once (incremental afterwards) and builds it; errors say what to install. */
async function cmakeBuild(b: CmakeBuild, log: (line: string) => void): Promise<string[]> {
  const what = b.label ? ` (${b.label})` : '';
  await requireTool('cmake', 'sudo apt-get install cmake');
  if (b.clang) await requireTool('clang++', 'sudo apt-get install clang libclang-rt-dev');
  else await requireTool('c++', 'sudo apt-get install g++');
  let skipped: string[] = [];
  const fresh = !existsSync(join(b.dir, 'CMakeCache.txt'));
  const missing = fresh ? [] : skippedRelays(b.dir);
  if (fresh || missing === null || missing.length) {
    // A relay skipped at the last configure: configure again, so an allocator package
    // installed since is found (CMake re-checks what it did not find; it keeps what it did).
    log(fresh ? `configuring native/ into ${b.dir}${b.defines.length ? ` with ${b.defines.join(' ')}` : ''}`
      : `reconfiguring ${b.dir}: ${missing === null ? 'it predates the skipped-relay list' : `looking again for ${missing.join(', ')}`}`);
    const compiler = b.clang ? ['-DCMAKE_CXX_COMPILER=clang++'] : [];
    const conf = await execa('cmake', ['-S', NATIVE_DIR, '-B', b.dir, '-DCMAKE_BUILD_TYPE=RelWithDebInfo', ...compiler, ...b.defines], { reject: false, all: true, env: b.env });
    if (conf.exitCode !== 0) throw new LabError('buildFailed', { step: `cmake configure${what}`, output: tail(conf.all ?? '') });
    skipped = [...(conf.all ?? '').matchAll(/leak-lab: (skipping [^\n]*)/g)].map((m) => m[1]!);
    for (const line of skipped) log(line);
  }
  const target = b.target ? ['--target', b.target] : [];
  const build = await execa('cmake', ['--build', b.dir, '-j', '2', ...target], { reject: false, all: true, env: b.env });
  if (build.exitCode !== 0) {
    const out = build.all ?? '';
    // clang links but finds no sanitizer runtime: Debian ships it apart (libclang-rt-<version>-dev).
    if (b.clang && CLANG_RUNTIME.test(out)) throw new LabError('missingTool', { tool: 'the clang sanitizer runtimes (libclang_rt)', install: 'sudo apt-get install libclang-rt-dev' });
    throw new LabError('buildFailed', { step: `cmake --build${what}`, output: tail(out) });
  }
  return skipped;
}

/** Builds `dir` (BUILD_DIR unless told); SANITIZE_BUILD_DIR gets the sanitizer configuration. */
export async function buildNative(log: (line: string) => void = () => {}, dir = BUILD_DIR, only?: { target?: string; env?: Record<string, string> }): Promise<BuildResult> {
  const started = performance.now();
  const sanitize = resolve(dir) === SANITIZE_BUILD_DIR;
  const skipped = await cmakeBuild({
    dir, clang: sanitize, defines: sanitize ? ['-DLEAKLAB_SANITIZE=address,undefined'] : [], label: sanitize ? 'ASan + UBSan' : '',
    target: only?.target, env: only?.env,
  }, log);
  return { skipped, ms: performance.now() - started };
}

/** Where the libFuzzer target frame_fuzz is built (clang, -DLEAKLAB_FUZZ=ON). */
export const FUZZ_BUILD_DIR = join(ROOT, 'build', 'native-fuzz');

/** Builds frame_fuzz (native/fuzz/) with clang into FUZZ_BUILD_DIR, on demand and
 * incrementally like buildNative. Returns the binary's path. */
export async function buildFuzzer(log: (line: string) => void = () => {}): Promise<string> {
  await cmakeBuild({ dir: FUZZ_BUILD_DIR, clang: true, defines: ['-DLEAKLAB_FUZZ=ON'], target: 'frame_fuzz', label: 'frame_fuzz' }, log);
  return join(FUZZ_BUILD_DIR, 'frame_fuzz');
}

/** The relays the last configure of `dir` skipped (leaklab-skipped.txt, written by
 * native/CMakeLists.txt), or null when the folder has no such list. */
export function skippedRelays(dir: string): string[] | null {
  const file = join(dir, 'leaklab-skipped.txt');
  if (!existsSync(file)) return null;
  return readFileSync(file, 'utf8').split('\n').filter(Boolean);
}

function tail(text: string, lines = 40): string {
  return text.split('\n').slice(-lines).join('\n');
}
