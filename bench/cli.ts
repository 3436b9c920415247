// npm run bench -- <name> [flags]: a thin entry over the
// command table (program.ts); docs/benches.md describes each bench.
import { stopAll } from '../harness/run/procs.js';
import { buildBenchProgram } from './program.js';

try {
  await buildBenchProgram().parseAsync(process.argv.slice(2), { from: 'user' });
} finally {
  await stopAll();
}
