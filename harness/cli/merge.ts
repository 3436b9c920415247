// `lab merge`: shard run folders joined into one, with its reports and summary table.
import pc from 'picocolors';
import { ExitCode } from '../core/errors.js';
import { describeMerge, mergeRuns } from '../results/merge.js';
import { summaryTable } from '../report/terminal.js';
import { writeReports } from '../report/write.js';
import type { Io } from './io.js';

export async function mergeCommand(dirs: string[], flags: { out: string }, argv: string[], io: Io): Promise<number> {
  const merged = mergeRuns(dirs, flags.out, ['npm', 'run', 'lab', '--', ...argv]);
  await writeReports(merged.dir);  // report.md and report.html of the joined run, from its files
  io.stdout.write(`merged ${describeMerge(merged)}\n`);
  io.stdout.write('\n' + summaryTable(merged.summary, Boolean(io.stdout.isTTY)) + '\n\n');
  io.stdout.write(`results: ${merged.dir}\n`);
  io.stdout.write(`report: ${merged.dir}/report.html (and report.md)\n`);
  if (merged.info.status !== 'complete') {
    io.stderr.write(`${pc.red('merged run is ' + merged.info.status)}:\n${merged.info.errors.map((e) => `  ${e}`).join('\n')}\n`);
    return merged.info.status === 'interrupted' ? ExitCode.interrupted : ExitCode.failed;
  }
  return ExitCode.ok;
}
