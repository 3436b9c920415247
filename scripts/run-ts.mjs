// node scripts/run-ts.mjs <entry.ts> [args...]: how `npm run lab` and `npm run bench` start.
//
// It bundles the entry and everything it imports from the repository into one JavaScript
// file with esbuild (harness/core/bundle.mjs), writes it under build/js/, and runs it in this
// process. Fresh on every start (about 0.1 s), so it is never stale.
//
// Why not tsx: on Node 20, tsx loads TypeScript through module hooks that run on a worker
// thread of their own for the life of the process, plus a parent process that waits for
// it. The hooks thread is idle after start-up, yet V8's memory reducer kept collecting its
// heap: about 0.5% of a core, as much as the harness's own main thread (docs/benches.md,
// harness). Scenario and ceilings files given as .ts are bundled the same way when loaded
// (harness/core/load-module.ts).
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bundle, writeAtomically } from '../harness/core/bundle.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const entry = process.argv[2];
if (!entry || !entry.endsWith('.ts')) {
  process.stderr.write('usage: node scripts/run-ts.mjs <entry.ts> [args...]\n');
  process.exit(2);
}
const outFile = join(ROOT, 'build', 'js', basename(entry, '.ts') + '.mjs');
let code;
try {
  code = await bundle(resolve(ROOT, entry));
} catch (err) {
  process.stderr.write(`error: cannot compile ${entry}: ${err.message}\n`);
  process.exit(2);
}
try {
  writeAtomically(outFile, code);
} catch (err) {
  process.stderr.write(`error: cannot write ${outFile}: ${err.message} (the lab writes its compiled harness under build/; make that folder writable)\n`);
  process.exit(3);  // an environment error (docs/architecture.md, exit codes)
}
process.argv.splice(2, 1);  // the entry sees its own arguments, as under tsx
await import(pathToFileURL(outFile).href);
