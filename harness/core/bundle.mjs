// esbuild, as the lab uses it to run TypeScript under plain Node: scripts/run-ts.mjs bundles
// the harness's entry at start-up, harness/core/load-module.ts a .ts scenario or ceilings
// file when it is loaded. What the entry imports from the repository is inlined, npm
// packages stay external.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { build, stop } from 'esbuild';

/** The bundle of `entry` as ES module code. A file that does not compile throws an Error
 * whose message is "line L, column C: what" (and the file, when it is not `entry`). */
export async function bundle(entry) {
  try {
    const result = await build({
      entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', target: 'node20',
      packages: 'external', write: false, logLevel: 'silent', outfile: 'bundle.mjs', absWorkingDir: dirname(entry),
    });
    return result.outputFiles[0].contents;
  } catch (err) {
    const first = err.errors?.[0];
    if (!first) throw err;
    const loc = first.location;
    const at = loc ? `${loc.file === basename(entry) ? '' : `${loc.file} `}line ${loc.line}, column ${loc.column + 1}: ` : '';
    throw new Error(`${at}${first.text}`);
  } finally {
    await stop();  // esbuild's service process would otherwise live, and ping, as long as the run
  }
}

/** Writes `code` to `path` through a file of this process's own, renamed into place: two
 * runs starting at once never see half a file. */
export function writeAtomically(path, code) {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, code);
  renameSync(tmp, path);
}
