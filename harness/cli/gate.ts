// `lab gate <run-dir>` (and the gate step of `lab run --gate`): checks, table, junit.xml;
// the exit code of the gate.
import { resolve } from 'node:path';
import pc from 'picocolors';
import { ExitCode } from '../core/errors.js';
import { gateRunFolder, type GateOptions } from '../gate/apply.js';
import { gateText } from '../report/gate.js';
import type { GateFlags } from './flags.js';
import type { Io } from './io.js';
import { writeGateFiles } from '../report/gate-files.js';

export function gateOptions(flags: GateFlags): GateOptions {
  return { ceilings: flags.ceilings, baseline: flags.baseline, maxRegression: flags.maxRegression ?? 0.1 };
}

/** Gates a run folder, prints the table, writes junit.xml (and the step summary); the exit code. */
export async function gateAndReport(dir: string, flags: GateFlags, io: Io, out: Io['stdout']): Promise<number> {
  const { result, info } = await gateRunFolder(dir, gateOptions(flags));
  const written = writeGateFiles(dir, result);
  if (flags.json) {
    io.stdout.write(JSON.stringify(result, null, 2) + '\n');
  } else {
    out.write('\n' + gateText(result, Boolean(out.isTTY)) + '\n');
    out.write(`junit: ${written[0]}\n`);
  }
  if (info.status !== 'complete') {
    io.stderr.write(`${pc.red('gate')}: run ${info.runId} is ${info.status}, not complete; a gate on it cannot pass\n`);
    return ExitCode.failed;
  }
  return result.failed > 0 ? ExitCode.failed : ExitCode.ok;
}

export async function gateCommand(dir: string, flags: GateFlags, io: Io): Promise<number> {
  return gateAndReport(resolve(dir), flags, io, io.stdout);
}
