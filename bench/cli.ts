// npm run bench -- <native|harness> [--rounds N]
import { Command } from 'commander';
import { stopAll } from '../harness/procs.js';
import { benchHarness } from './harness.js';
import { benchNative } from './native.js';

const program = new Command('bench').description('leak-lab benchmarks: print a table and write JSON under results/');
program.command('native')
  .description('relay req/s per allocator vs the load generator ceiling and HAProxy (1 KiB, 64 connections, no upstream delay)')
  .option('--rounds <n>', 'rounds (median reported)', '3')
  .action(async (o: { rounds: string }) => benchNative(Math.max(1, Number(o.rounds) || 3)));
program.command('harness')
  .description('harness overhead on burst --quick: wall/scripted time, sampler jitter, peak/VmHWM, CPU, cost of one sample')
  .action(benchHarness);
try {
  await program.parseAsync(process.argv.slice(2), { from: 'user' });
} finally {
  await stopAll();
}
