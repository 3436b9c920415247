// Where things are on disk. The harness is run from anywhere; paths are relative to the
// repository root: the nearest folder above this module that holds package.json and
// harness/ (this file is harness/core/paths.ts, or part of a bundle in build/js/).
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function repositoryRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'harness'))) return dir;
    if (dirname(dir) === dir) throw new Error(`leak-lab: no repository root (package.json and harness/) above ${from}`);
  }
}

export const ROOT = repositoryRoot(dirname(fileURLToPath(import.meta.url)));
export const NATIVE_DIR = join(ROOT, 'native');
// LEAKLAB_BUILD_DIR=build/native-sanitize runs on the ASan + UBSan build (see harness/subject/build.ts).
export const BUILD_DIR = process.env.LEAKLAB_BUILD_DIR ? resolve(process.env.LEAKLAB_BUILD_DIR) : join(ROOT, 'build', 'native');
export const SCENARIOS_DIR = join(ROOT, 'scenarios');
export const RESULTS_DIR = join(ROOT, 'results');

export function binaryPath(name: string): string {
  return join(BUILD_DIR, name);
}
