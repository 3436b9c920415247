// SIGINT and SIGTERM while a command runs its subjects: the first stops the work (children
// stopped, results kept and marked interrupted), a second exits at once; every child is
// killed when the process exits.
import { ExitCode } from '../core/errors.js';
import { killAllNow } from '../core/procs.js';
import type { Io } from './io.js';

/** SIGINT/SIGTERM stop the run (children stopped, results kept and marked interrupted); a
 * second one exits at once. Returns what undoes the handlers. */
export function onSignals(controller: AbortController, io: Io): () => void {
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      killAllNow();
      process.exit(ExitCode.interrupted);
    }
    io.stderr.write(`\n${sig}: stopping; partial results are kept and marked interrupted\n`);
    controller.abort();
  };
  const onExit = () => killAllNow();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', onExit);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
  };
}

