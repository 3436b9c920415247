// `lab report <run-dir>` and `lab compare <base-run> <head-run> [--md FILE]`: they read
// run folders only; nothing is run again.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { compareRuns } from '../analysis/compare.js';
import { ExitCode, LabError } from '../core/errors.js';
import { loadSummary } from '../results/reader.js';
import { compareMarkdown, compareTerminal } from '../report/compare.js';
import { writeReports } from '../report/write.js';
import type { Io } from './io.js';

export async function reportCommand(dir: string, io: Io): Promise<number> {
  for (const path of await writeReports(resolve(dir))) io.stdout.write(`${path}\n`);
  return ExitCode.ok;
}

export async function compareCommand(baseDir: string, headDir: string, flags: { md?: string; all?: boolean }, io: Io): Promise<number> {
  const base = loadSummary(resolve(baseDir));
  const head = loadSummary(resolve(headDir));
  const comparison = compareRuns(base.info.runId, base.summary, head.info.runId, head.summary);
  io.stdout.write(compareTerminal(comparison, Boolean(io.stdout.isTTY), Boolean(flags.all)));
  if (flags.md) {
    try {
      writeFileSync(flags.md, compareMarkdown(comparison));
    } catch (err) {
      throw new LabError('badFlag', { flag: '--md', value: flags.md, valid: `a writable file path (${(err as Error).message})` });
    }
    io.stderr.write(`markdown: ${flags.md}\n`);
  }
  return ExitCode.ok;
}
