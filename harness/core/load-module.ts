// Loads a scenario or ceilings file given as a module (.ts, .js, .mjs) and returns its exports.
//
// Under a TypeScript-aware loader (vitest, tsx) a .ts file is imported as it is. Under plain
// Node, which is how `npm run lab` runs (scripts/run-ts.mjs), Node cannot import .ts: the file
// is bundled with esbuild (what it imports from the repository inlined, npm packages left
// external) into build/js/loaded/ and imported from there.
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './paths.js';

export async function importModule(file: string): Promise<Record<string, unknown>> {
  try {
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw err;
  }
  const { build, stop } = await import('esbuild');
  let code: Uint8Array;
  try {
    const result = await build({
      entryPoints: [file], bundle: true, platform: 'node', format: 'esm', target: 'node20',
      packages: 'external', write: false, logLevel: 'silent', outfile: 'module.mjs', absWorkingDir: dirname(file),
    });
    code = result.outputFiles[0]!.contents;
  } catch (err) {
    const first = (err as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] }).errors?.[0];
    if (!first) throw err;
    const loc = first.location;
    const at = loc ? `${loc.file === basename(file) ? '' : `${loc.file} `}line ${loc.line}, column ${loc.column + 1}: ` : '';
    throw new Error(`${at}${first.text}`);
  } finally {
    await stop();  // its service process would otherwise live as long as the run
  }
  const dir = join(ROOT, 'build', 'js', 'loaded');
  mkdirSync(dir, { recursive: true });
  // Named by content: a file loaded twice (or by two runs at once) maps to one module.
  const out = join(dir, `${basename(file).replace(/\.[^.]*$/, '')}-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.mjs`);
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, code);
  renameSync(tmp, out);
  return (await import(pathToFileURL(out).href)) as Record<string, unknown>;
}
