// npm run bench -- <native|harness|report> [--rounds N]
import { Command } from 'commander';
import { stopAll } from '../harness/procs.js';
import { benchHarness } from './harness.js';
import { benchNative } from './native.js';
import { benchReport } from './render.js';

const program = new Command('bench').description('leak-lab benchmarks: print a table and write JSON under results/');
program.command('native')
  .description('relay req/s per allocator vs the load generator ceiling and HAProxy (1 KiB, 64 connections, no upstream delay)')
  .option('--rounds <n>', 'rounds (median reported)', '3')
  .action(async (o: { rounds: string }) => benchNative(Math.max(1, Number(o.rounds) || 3)));
program.command('harness')
  .description('harness overhead on burst --quick: wall/scripted time, sampler jitter, peak/VmHWM, CPU, cost of one sample')
  .action(benchHarness);
program.command('report')
  .description('time to read a synthetic run of N samples and write report.md + report.html; report.html size')
  .option('--samples <n>', 'samples in the run (4 variants)', '1000000')
  .option('--rounds <n>', 'rounds (median reported)', '3')
  .action(async (o: { samples: string; rounds: string }) => benchReport(Math.max(1000, Number(o.samples) || 1_000_000), Math.max(1, Number(o.rounds) || 3)));
try {
  await program.parseAsync(process.argv.slice(2), { from: 'user' });
} finally {
  await stopAll();
}
