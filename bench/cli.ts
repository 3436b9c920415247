// npm run bench -- <name> [flags]: a thin entry over the
// command table (program.ts); docs/benches.md describes each bench.
import { stopAll } from '../harness/core/procs.js';
import { buildBenchProgram } from './program.js';

// A reader that goes away (`... | head`) ends the output, not the bench (harness/cli.ts).
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => { if (err.code !== 'EPIPE') throw err; });
}

try {
  await buildBenchProgram().parseAsync(process.argv.slice(2), { from: 'user' });
} finally {
  await stopAll();
}
