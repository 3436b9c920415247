#!/usr/bin/env node
// npm run lab -- ...: a thin entry over cli/main.ts.
import { main } from './cli/main.js';

process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
