// Where things are on disk. The harness is run from anywhere; paths are relative to the
// repository root (the folder above harness/).
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const NATIVE_DIR = join(ROOT, 'native');
// LEAKLAB_BUILD_DIR=build/native-sanitize runs on the ASan + UBSan build (see harness/subject/build.ts).
export const BUILD_DIR = process.env.LEAKLAB_BUILD_DIR ? resolve(process.env.LEAKLAB_BUILD_DIR) : join(ROOT, 'build', 'native');
export const SCENARIOS_DIR = join(ROOT, 'scenarios');
export const RESULTS_DIR = join(ROOT, 'results');

export function binaryPath(name: string): string {
  return join(BUILD_DIR, name);
}
