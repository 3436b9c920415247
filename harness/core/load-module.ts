// Loads a scenario or ceilings file given as a module (.ts, .js, .mjs) and returns its exports.
//
// Under a TypeScript-aware loader (vitest, tsx) a .ts file is imported as it is. Under plain
// Node, which is how `npm run lab` runs (scripts/run-ts.mjs), Node cannot import .ts: the file
// is bundled with esbuild (what it imports from the repository inlined, npm packages left
// external) into build/js/loaded/ and imported from there.
import { createHash } from 'node:crypto';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundle, writeAtomically } from './bundle.mjs';
import { ROOT } from './paths.js';

export async function importModule(file: string): Promise<Record<string, unknown>> {
  try {
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw err;
  }
  const code = await bundle(file);
  // Named by content: a file loaded twice (or by two runs at once) maps to one module.
  const out = join(ROOT, 'build', 'js', 'loaded', `${basename(file).replace(/\.[^.]*$/, '')}-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.mjs`);
  writeAtomically(out, code);
  return (await import(pathToFileURL(out).href)) as Record<string, unknown>;
}
