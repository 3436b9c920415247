#!/usr/bin/env node
// npm run lab -- ...: a thin entry over cli/main.ts.
import { main } from './cli/main.js';

// A reader that goes away (`npm run lab -- list | head -1`) ends the output, not the work:
// a run still finishes, stops its processes and writes its folder.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => { if (err.code !== 'EPIPE') throw err; });
}

process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
