// The lab's main() in this process, as harness/cli.ts calls it, with its output captured:
// for what exits before anything runs (bad input), at a few milliseconds a case instead of
// a process start.
import { main } from '../../harness/cli/main.js';

export async function labInProcess(args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const exitCode = await main(args, { stdout: { write: (x: string) => (stdout += x) }, stderr: { write: (x: string) => (stderr += x) } });
  return { exitCode, stdout, stderr };
}
