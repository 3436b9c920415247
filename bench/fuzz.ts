// npm run bench -- fuzz [--seconds N]: the libFuzzer target frame_fuzz (frame codec +
// admin command parser, ASan + UBSan) for N seconds from the seed corpus: executions,
// exec/s and coverage (cov: edges, ft: features) from libFuzzer's final line.
import { runFuzzer } from '../harness/tooling/fuzz.js';
import { table, writeBench } from './report.js';

export async function benchFuzz(seconds: number): Promise<void> {
  process.stderr.write(`frame_fuzz for ${seconds} s\n`);
  const r = await runFuzzer({ seconds }, (l) => process.stderr.write(`${l}\n`));
  if (r.exitCode !== 0) {
    process.stderr.write(r.output.split('\n').slice(-60).join('\n') + '\n');
    throw new Error(`frame_fuzz exited ${r.exitCode}: it found a crash (report above)`);
  }
  const figures = { target: 'frame_fuzz', seconds, maxLen: 4096, runs: r.runs, execPerSec: r.execPerSec, cov: r.cov, ft: r.ft, corpusFiles: r.corpusFiles };
  const file = writeBench('fuzz', figures);
  console.log(table(['target', 'seconds', 'executions', 'exec/s', 'cov (edges)', 'ft (features)', 'corpus files'],
    [[figures.target, seconds, r.runs ?? '-', r.execPerSec ?? '-', r.cov ?? '-', r.ft ?? '-', r.corpusFiles]]));
  console.log(JSON.stringify({ bench: 'fuzz', ...figures }));
  console.log(`written: ${file}`);
}
