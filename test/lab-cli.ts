// The command `npm run lab` runs, from package.json, for tests that start the lab as a user
// does: execa(NODE, [...LAB, ...args], { cwd: ROOT }).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../harness/core/paths.js';

const script = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.lab!;
const [program, ...rest] = script.split(/\s+/);
if (program !== 'node') throw new Error(`package.json scripts.lab should start with node: ${script}`);

export const NODE = process.execPath;
export const LAB: readonly string[] = rest;
