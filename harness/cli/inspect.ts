// `lab inspect <pid>`: a live process, inspected (harness/inspect/). Progress goes to stderr;
// stdout gets the table, or with --json / --md only that. Exit 0 with a verdict, 2 for a
// pid that is no process, 3 when the inspector is refused (ptrace not allowed, already
// traced, ...), 1 when a call fails or would stop a thread longer than --max-stop.
import { ExitCode, LabError } from '../core/errors.js';
import { inspect } from '../inspect/inspect.js';
import { inspectJson, inspectMarkdown, inspectTerminal } from '../inspect/render.js';
import type { Io } from './io.js';
import { onSignals } from './signals.js';

export interface InspectFlags {
  release?: boolean;
  watch?: number;
  every: number;
  maxStop: number;
  json?: boolean;
  md?: boolean;
}

export async function inspectCommand(pid: number, flags: InspectFlags, io: Io): Promise<number> {
  if (flags.json && flags.md) throw new LabError('badFlag', { flag: '--md', value: 'with --json', valid: 'one of --json and --md' });
  if (flags.watch !== undefined && flags.every > flags.watch) {
    throw new LabError('badFlag', { flag: '--every', value: `${flags.every} ms`, valid: `an interval no longer than --watch (${flags.watch} ms)` });
  }
  const controller = new AbortController();
  const undo = onSignals(controller, io);
  try {
    const r = await inspect({
      pid, release: flags.release === true, watchMs: flags.watch ?? null, everyMs: flags.every, maxStopMs: flags.maxStop,
      signal: controller.signal, progress: (l) => io.stderr.write(`${l}\n`),
    });
    io.stdout.write(flags.json ? inspectJson(r) : flags.md ? inspectMarkdown(r) : inspectTerminal(r));
    return r.partial === 'interrupted' ? ExitCode.interrupted : ExitCode.ok;
  } finally {
    undo();
  }
}
