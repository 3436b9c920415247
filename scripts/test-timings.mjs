#!/usr/bin/env node
// npm run test:timings: writes the last full `npm test`'s timings (build/test-timings.json,
// written by test/support/suite-reporter.ts) into docs/testing.md between its timings
// markers, and the suite's duration into the README's Quick start. Run it after a full
// `npm test` on a quiet machine; the table says when and on what load it was measured.
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const timingsFile = join(ROOT, 'build', 'test-timings.json');
let timings;
try {
  timings = JSON.parse(readFileSync(timingsFile, 'utf8'));
} catch (err) {
  console.error(`test-timings: cannot read ${timingsFile} (${err.message}); run \`npm test\` first`);
  process.exit(2);
}
const units = Object.keys(timings.projects);
if (!units.includes('unit') || !units.includes('lab')) {
  console.error(`test-timings: ${timingsFile} is from a partial run (projects: ${units.join(', ')}); run the whole \`npm test\` first`);
  process.exit(2);
}

const s = (ms) => (ms / 1000).toFixed(1);
const min = (ms) => `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`;
const p = timings.projects;
const lines = [
  '<!-- timings: written by `npm run test:timings` from the last full `npm test`; do not edit by hand -->',
  `Measured ${timings.startedAt.slice(0, 16).replace('T', ' ')} UTC (load average when written: ${loadavg()[0].toFixed(2)}): `
    + `**${min(timings.wallMs)}** for the whole suite.`,
  '',
  '| project | files | tests | expect() calls | time |',
  '|---|---:|---:|---:|---:|',
  ...['unit', 'lab'].map((name) => `| ${name} | ${p[name].files} | ${p[name].tests} | ${p[name].assertions} | ${s(p[name].wallMs)} s |`),
  '',
  '| file | project | tests | expect() calls | s |',
  '|---|---|---:|---:|---:|',
  ...timings.files.map((f) => `| \`${f.file}\` | ${f.project} | ${f.tests} | ${f.assertions} | ${s(f.wallMs)} |`),
  '<!-- /timings -->',
];

const docPath = join(ROOT, 'docs', 'testing.md');
const doc = readFileSync(docPath, 'utf8');
const start = doc.indexOf('<!-- timings');
const end = doc.indexOf('<!-- /timings -->');
if (start < 0 || end < start) {
  console.error(`test-timings: ${docPath} has no <!-- timings --> ... <!-- /timings --> section`);
  process.exit(2);
}
writeFileSync(docPath, doc.slice(0, start) + lines.join('\n') + doc.slice(end + '<!-- /timings -->'.length));

const readmePath = join(ROOT, 'README.md');
const readme = readFileSync(readmePath, 'utf8');
const minutes = Math.round(timings.wallMs / 60000);
const updated = readme.replace(/(npm test +# the test suite \()[^)]*(\))/, `$1about ${minutes} minutes on 2 cores$2`);
if (updated === readme && !readme.includes(`about ${minutes} minutes on 2 cores`)) {
  console.error('test-timings: the README has no "npm test   # the test suite (...)" line to update');
  process.exit(2);
}
writeFileSync(readmePath, updated);
console.log(`docs/testing.md and README.md: ${min(timings.wallMs)}, ${timings.files.length} files`);
