// The bench command table (`npm run bench -- <name>`): every bench and its flags, declared
// with commander. Parsing only; bench/cli.ts runs it. docs/benches.md documents each one
// (test/docs.test.ts checks that every bench and flag here is there).
import { Command } from 'commander';
import { benchFuzz } from './fuzz.js';
import { benchHarness } from './harness.js';
import { benchHostile } from './hostile.js';
import { benchInspect } from './inspect.js';
import { benchLedger } from './ledger.js';
import { benchMemory } from './memory.js';
import { benchNative } from './native.js';
import { benchObserver } from './observer.js';
import { benchProbe } from './probe.js';
import { benchProbeLedger, benchProbePoll } from './probe-poll.js';
import { benchProfile } from './profile.js';
import { benchReach } from './reach.js';
import { benchReport } from './render.js';
import { benchRepro } from './repro.js';

export function buildBenchProgram(): Command {
  const program = new Command('bench').description('leak-lab benchmarks: print a table and write JSON under results/');
  program.command('native')
    .description('relay req/s per allocator vs the load generator ceiling and HAProxy (1 KiB, 64 connections, no upstream delay)')
    .option('--rounds <n>', 'rounds (median reported)', '3')
    .action(async (o: { rounds: string }) => benchNative(Math.max(1, Number(o.rounds) || 3)));
  program.command('harness')
    .description('harness overhead on burst --quick: wall/scripted time, sampler jitter, peak/VmHWM, steady-state CPU (goal <= 2% of a core), cost of one sample')
    .option('--rounds <n>', 'runs of burst --quick on every default variant (median and range reported)', '3')
    .action(async (o: { rounds: string }) => benchHarness(Math.max(1, Number(o.rounds) || 3)));
  program.command('report')
    .description('time to read a synthetic run of N samples and write report.md + report.html; report.html size')
    .option('--samples <n>', 'samples in the run (4 variants)', '1000000')
    .option('--rounds <n>', 'rounds (median reported)', '3')
    .action(async (o: { samples: string; rounds: string }) => benchReport(Math.max(1000, Number(o.samples) || 1_000_000), Math.max(1, Number(o.rounds) || 3)));
  program.command('fuzz')
    .description('libFuzzer on the frame codec and admin command parser (ASan + UBSan): executions, exec/s, coverage')
    .option('--seconds <n>', 'how long to fuzz', '60')
    .action(async (o: { seconds: string }) => benchFuzz(Math.max(1, Number(o.seconds) || 60)));
  program.command('hostile')
    .description('the relay under each hostile-input case: survival, peak RSS (VmHWM), address space, CPU while out of descriptors (LEAKLAB_BUILD_DIR=<dir> measures another build)')
    .option('--rounds <n>', 'rounds per case (median reported)', '3')
    .option('--cases <list>', 'only these cases (comma-separated)')
    .action(async (o: { rounds: string; cases?: string }) => benchHostile(Math.max(1, Number(o.rounds) || 3), o.cases));
  program.command('repro')
    .description('reproducibility: N trials of burst --quick per default variant; coefficient of variation of peak, retained and released RSS (goal <= 3%)')
    .option('--trials <n>', 'trials per variant', '5')
    .action(async (o: { trials: string }) => benchRepro(Math.max(2, Number(o.trials) || 5)));
  program.command('memory')
    .description('the harness\'s own RSS over one long run (steady, its steady phase stretched): peak (goal <= 150 MiB) and slope after the first minute')
    .option('--minutes <n>', 'length of the steady phase', '10')
    .action(async (o: { minutes: string }) => benchMemory(Math.max(0.1, Number(o.minutes) || 10)));
  program.command('profile')
    .description('growth profiling cost: relay req/s and peak RSS with and without --profile (goals: ratio >= 0.95, <= 1.05), time of a heap dump and a symbolized diff')
    .option('--rounds <n>', 'rounds (median reported)', '3')
    .action(async (o: { rounds: string }) => benchProfile(Math.max(1, Number(o.rounds) || 3)));
  program.command('observer')
    .description('a scenario with the subject\'s 100 ms counters poll and ledger readings on and off: retainedRss and releasedRss per variant side by side (goal: differ by <= 1% of peak or 1 MiB)')
    .option('--rounds <n>', 'rounds of on + off (median reported)', '3')
    .option('--quick', 'the scenario\'s --quick form')
    .option('--scenario <name>', 'scenario to run (a file in scenarios/)', 'burst')
    .option('--variants <ids>', 'comma-separated variants (default: the default ones)')
    .action(async (o: { rounds: string; quick?: boolean; scenario: string; variants?: string }) => benchObserver({
      rounds: Math.max(1, Number(o.rounds) || 3), quick: Boolean(o.quick), scenario: o.scenario, variants: o.variants ? o.variants.split(',').map((v) => v.trim()) : null,
    }));
  program.command('reach')
    .description('what a release reaches with a live transient (thread churn) thread: RSS after release while it is alive, after it exits, and without churn, per allocator')
    .option('--rounds <n>', 'rounds (median reported)', '3')
    .action(async (o: { rounds: string }) => benchReach(Math.max(1, Number(o.rounds) || 3)));
  program.command('probe')
    .description('the probe\'s cost to a target (relay-glibc, each allocator preloaded): req/s and peak RSS with and without it (goal: ratios >= 0.98, <= 1.02), and one gdb attach release per allocator')
    .option('--rounds <n>', 'paired rounds (off and on, interleaved; the ratio with its 95% confidence interval)', '3')
    .option('--poll', 'instead: the counters poll\'s own cost inside the target per allocator (stats_us, time in allocator calls), idle and with a 1 GiB heap')
    .option('--ledger', 'with --poll: the ledger command\'s cost under glibc (ledger_us), idle, with thread arenas, a 1 GiB heap and every other block of it freed')
    .action(async (o: { rounds: string; poll?: boolean; ledger?: boolean }) =>
      (o.poll ? (o.ledger ? benchProbeLedger() : benchProbePoll()) : benchProbe(Math.max(2, Number(o.rounds) || 3))));
  program.command('inspect')
    .description('what one lab inspect call costs a live process: stop overhead and the allocator calls\' own time per counters snapshot and per release, per allocator and heap size (median and p99)')
    .option('--snapshots <n>', 'counters snapshots per allocator and heap', '50')
    .option('--releases <n>', 'releases per allocator and heap (the first reported apart)', '11')
    .option('--heaps <list>', 'heap sizes in MiB, comma-separated', '256,1024')
    .action(async (o: { snapshots: string; releases: string; heaps: string }) => benchInspect(Math.max(1, Number(o.snapshots) || 50), Math.max(2, Number(o.releases) || 11),
      o.heaps.split(',').map((x) => Math.max(1, Number(x) || 256))));
  program.command('ledger')
    .description('the cost of one ledger reading (smaps, stats-counters, ledger) per allocator, on the kv server under the probe at 200 MiB, 1 GiB and a fragmented 1 GiB: median and p99, each part, the time inside the target, the target\'s RSS change')
    .option('--reads <n>', 'readings per allocator and size', '30')
    .action(async (o: { reads: string }) => benchLedger(Math.max(1, Number(o.reads) || 30)));
  return program;
}
