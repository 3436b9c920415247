// `lab build`: configure and build native/ (or its sanitizer build), incrementally.
import { ExitCode } from '../core/errors.js';
import { BUILD_DIR } from '../core/paths.js';
import { SANITIZE_BUILD_DIR, buildNative } from '../tooling/build.js';
import type { Io } from './io.js';

export async function buildCommand(flags: { sanitize?: boolean }, io: Io): Promise<number> {
  const dir = flags.sanitize ? SANITIZE_BUILD_DIR : BUILD_DIR;
  const r = await buildNative((l) => io.stderr.write(`${l}\n`), dir);
  io.stderr.write(`native/ built into ${dir} in ${(r.ms / 1000).toFixed(1)} s\n`);
  return ExitCode.ok;
}
