// Running the libFuzzer target frame_fuzz (native/fuzz/) and reading its final figures.
// Used by `npm run bench -- fuzz` and test/native/fuzz.test.ts.
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { buildFuzzer } from './build.js';
import { NATIVE_DIR } from '../core/paths.js';

export const FUZZ_CORPUS_DIR = join(NATIVE_DIR, 'fuzz', 'corpus');

export interface FuzzLimit {
  /** -runs=N, or -max_total_time=N seconds. */
  runs?: number;
  seconds?: number;
  maxLen?: number;
}

export interface FuzzResult {
  exitCode: number;
  /** Executions, exec/s, edges covered (cov:) and features (ft:), from libFuzzer's DONE line. */
  runs: number | undefined;
  execPerSec: number | undefined;
  cov: number | undefined;
  ft: number | undefined;
  corpusFiles: number;
  seconds: number;
  /** libFuzzer's whole stderr (its progress lines, and a report if something crashed). */
  output: string;
}

/** Parses libFuzzer's final "#N DONE cov: C ft: F ... exec/s: E" line and "Done N runs". */
export function parseFuzzOutput(output: string): Pick<FuzzResult, 'runs' | 'execPerSec' | 'cov' | 'ft'> {
  const done = /^#(\d+)\s+DONE\s+cov: (\d+) ft: (\d+) .*exec\/s: (\d+)/m.exec(output);
  const runs = /^Done (\d+) runs in/m.exec(output);
  const num = (s: string | undefined) => (s === undefined ? undefined : Number(s));
  return { runs: num(runs?.[1] ?? done?.[1]), execPerSec: num(done?.[4]), cov: num(done?.[2]), ft: num(done?.[3]) };
}

/** Builds frame_fuzz if needed and runs it on a temporary copy of the seed corpus (the
 * checked-in corpus never changes); crash files, if any, go to that folder too. */
export async function runFuzzer(limit: FuzzLimit, log: (line: string) => void = () => {}): Promise<FuzzResult> {
  const binary = await buildFuzzer(log);
  const dir = mkdtempSync(join(tmpdir(), 'leaklab-fuzz-'));
  const corpus = join(dir, 'corpus');
  cpSync(FUZZ_CORPUS_DIR, corpus, { recursive: true });
  const args = [
    `-max_len=${limit.maxLen ?? 4096}`, `-artifact_prefix=${dir}/`, '-print_final_stats=1',
    ...(limit.runs !== undefined ? [`-runs=${limit.runs}`] : []),
    ...(limit.seconds !== undefined ? [`-max_total_time=${limit.seconds}`] : []),
    corpus,
  ];
  const started = performance.now();
  try {
    const r = await execa(binary, args, { reject: false, all: true, cwd: dir });
    const output = r.all ?? '';
    return { exitCode: r.exitCode ?? -1, ...parseFuzzOutput(output), corpusFiles: readdirSync(corpus).length, seconds: (performance.now() - started) / 1000, output };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
