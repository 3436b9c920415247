// The lab's command line: wires each command (one file each in this folder) to the option
// table (program.ts). The exit code is decided here and only here.
import { CommanderError } from 'commander';
import pc from 'picocolors';
import { ExitCode, LabError } from '../core/errors.js';
import { stopAll } from '../core/procs.js';
import { adminCommand } from './admin.js';
import { buildCommand } from './build.js';
import { detectCommand } from './detect.js';
import { gateCommand } from './gate.js';
import { inspectCommand } from './inspect.js';
import type { Io } from './io.js';
import { listCommand } from './list.js';
import { mergeCommand } from './merge.js';
import { buildProgram } from './program.js';
import { compareCommand, reportCommand } from './report-commands.js';
import { runCommand } from './run.js';

export type { Io } from './io.js';

export async function main(argv: string[], io: Io): Promise<number> {
  const { program, result } = buildProgram(io, {
    run: (flags) => runCommand(flags, argv, io),
    build: (flags) => buildCommand(flags, io),
    list: async (flags) => listCommand(flags, io),
    gate: async (dir, flags) => gateCommand(dir, flags, io),
    merge: async (dirs, flags) => mergeCommand(dirs, flags, argv, io),
    report: async (dir) => reportCommand(dir, io),
    compare: async (base, head, flags) => compareCommand(base, head, flags, io),
    detect: async (flags) => detectCommand(flags, argv, io),
    inspect: async (pid, flags) => inspectCommand(pid, flags, io),
    admin: (port, command) => adminCommand(port, command, io),
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return result();
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.ok;
      if (err.code === 'commander.unknownOption' || err.code === 'commander.unknownCommand' || err.code === 'commander.excessArguments') {
        io.stderr.write(`run \`npm run lab -- --help\` for every command and flag\n`);
      }
      return ExitCode.usage;
    }
    if (err instanceof LabError) {
      io.stderr.write(`${pc.red('error')}: ${err.message}\n`);
      return err.exitCode;
    }
    io.stderr.write(`${pc.red('internal error')}: ${(err as Error).stack ?? String(err)}\n`);
    return ExitCode.failed;
  } finally {
    await stopAll();
  }
}
