// The option table: every command and flag of `lab`, declared with commander. Parsing
// only: each command's work is an action passed in (main.ts wires them).
import { Command, Option } from 'commander';
import { ExitCode } from '../core/errors.js';
import { RESULTS_DIR } from '../core/paths.js';
import type { DetectFlags } from './detect.js';
import type { InspectFlags } from './inspect.js';
import { type GateFlags, type RunFlags, collect, durationFlag, intFlag, regressionFlag, shardFlag, sizeFlag, rateFlag } from './flags.js';
import type { Io } from './io.js';

/** Each command's work, passed in by main.ts. */
export interface Actions {
  run: (flags: RunFlags) => Promise<number>;
  build: (flags: { sanitize?: boolean }) => Promise<number>;
  list: (flags: { json?: boolean; scenario?: string }) => Promise<number>;
  admin: (port: number, command: string) => Promise<number>;
  gate?: (dir: string, flags: GateFlags) => Promise<number>;
  merge?: (dirs: string[], flags: { out: string }) => Promise<number>;
  report?: (dir: string) => Promise<number>;
  compare?: (base: string, head: string, flags: { md?: string; all?: boolean }) => Promise<number>;
  detect?: (flags: DetectFlags) => Promise<number>;
  inspect?: (pid: number, flags: InspectFlags) => Promise<number>;
}

/** Adds one command to the program; `done` records its exit code. */
type AddCommand = (program: Command, actions: Actions, done: (code: number) => void) => void;

const addRun: AddCommand = (program, actions, done) => {
  program.command('run', { isDefault: true })
    .description('run scenarios on variants and write results/<run-id>/ (the default command)')
    .addOption(new Option('--scenario <name|path>', 'scenario name (scenarios/<name>.ts) or file; repeatable').argParser(collect))
    .option('--variants <ids>', 'comma-separated variant ids (default: every available default variant; see `lab list`)')
    .addOption(new Option('--trials <n>', 'trials per scenario x variant (default: the scenario\'s)').argParser(intFlag('--trials', 1)))
    .addOption(new Option('--seed <n>', 'seed for the request sizes and upstream delays (default: the scenario\'s)').argParser(intFlag('--seed', 0)))
    .option('--quick', 'the scenario\'s short form (for tests and a first look)')
    .addOption(new Option('--out <dir>', 'folder under which the run folder is created').default(RESULTS_DIR, 'results/'))
    .option('--json', 'print summary.json to stdout and nothing else there')
    .option('--gate', 'after the run, check it against the ceilings (exit 1 when one is exceeded)')
    .option('--ceilings <file>', 'ceilings file for --gate (default: scenarios/ceilings.ts)')
    .option('--baseline <run-dir>', 'with --gate: also hold each gated metric to this run\'s value + --max-regression')
    .addOption(new Option('--max-regression <pct>', 'how much worse than --baseline a metric may be').default(0.1, '10%').argParser(regressionFlag))
    .addOption(new Option('--shard <i/n>', 'run only slice i of n of the scenario x trial x variant matrix (join with `lab merge`)').argParser(shardFlag))
    .option('--no-stats-poll', 'do not ask the relay for its counters every 100 ms (RSS and smaps are still read from outside; live-bytes metrics come from the final sample only)')
    .option('--profile', 'growth profiles: heap dumps at phase ends on the jemalloc and tcmalloc variants, the call sites whose live bytes grew (docs/profiles.md)')
    .addOption(new Option('--memory-limit <size>', 'a leak verdict forecasts when RSS reaches this limit, e.g. 16GiB').argParser(sizeFlag('--memory-limit')))
    .addOption(new Option('--rate <rps>', 'with --memory-limit: the production request rate (default: the rate measured in the run)').argParser(rateFlag))
    .option('--remedies', 'after the verdicts, re-run each retention and fragmentation row with each remedy of its allocator (a tuned variant, a periodic release, a swap) and measure it (docs/remedies.md)')
    .addOption(new Option('--remedy-budget <n>', 'with --remedies: at most this many remedied runs (each with the scenario\'s trials)').argParser(intFlag('--remedy-budget', 1)))
    .exitOverride()
    .action(async (flags: RunFlags) => { done(await actions.run(flags)); });
};

const addBuild: AddCommand = (program, actions, done) => {
  program.command('build')
    .description('configure and build native/ into build/native (incremental)')
    .option('--sanitize', 'build with clang, ASan and UBSan into build/native-sanitize instead (run on it with LEAKLAB_BUILD_DIR=build/native-sanitize)')
    .exitOverride()
    .action(async (flags: { sanitize?: boolean }) => { done(await actions.build(flags)); });
};

const addList: AddCommand = (program, actions, done) => {
  program.command('list')
    .description('list variants: available or not, why not, and the allocator library version')
    .option('--scenario <name|path>', 'the variants this scenario runs without --variants (a target: as-built and the preload variants it takes), then the others')
    .option('--json', 'print a JSON array of { id, allocator, available, version, reason } (with --scenario: { scenario, target, variants } and `runs` per variant)')
    .exitOverride()
    .action(async (flags: { json?: boolean; scenario?: string }) => { done(await actions.list(flags)); });
};

const addAdmin: AddCommand = (program, actions, done) => {
  program.command('admin')
    .description('send one admin command to a relay started by hand, print its JSON answer')
    .argument('<port>', 'the relay\'s admin_port (from its ready line)', intFlag('<port>', 1))
    .argument('<command...>', 'ping | stats | stats-counters | release | config | set <key> <value> | profile-dump <absolute path>')
    .exitOverride()
    .action(async (port: number, command: string[]) => { done(await actions.admin(port, command.join(' '))); });
};

const addGate: AddCommand = (program, actions, done) => {
  program.command('gate')
    .description('check a run folder against the ceilings (and optionally a baseline run); exit 1 when one is exceeded')
    .argument('<run-dir>', 'a run folder, e.g. results/latest')
    .option('--ceilings <file>', 'ceilings file (default: scenarios/ceilings.ts)')
    .option('--baseline <run-dir>', 'also hold each gated metric to this run\'s value + --max-regression')
    .addOption(new Option('--max-regression <pct>', 'how much worse than --baseline a metric may be').default(0.1, '10%').argParser(regressionFlag))
    .option('--json', 'print the checks as JSON on stdout')
    .exitOverride()
    .action(async (dir: string, flags: GateFlags) => { done(await actions.gate!(dir, flags)); });
};

const addMerge: AddCommand = (program, actions, done) => {
  program.command('merge')
    .description('join shard run folders (--shard i/n) into one run folder with a recomputed summary')
    .argument('<run-dir...>', 'the shard run folders')
    .requiredOption('--out <dir>', 'the merged run folder to create (new or empty)')
    .exitOverride()
    .action(async (dirs: string[], flags: { out: string }) => { done(await actions.merge!(dirs, flags)); });
};

const addReport: AddCommand = (program, actions, done) => {
  program.command('report')
    .description('re-render report.md and report.html of a run folder from its raw files (byte-identical to the run\'s)')
    .argument('<run-dir>', 'a run folder, e.g. results/latest')
    .exitOverride()
    .action(async (dir: string) => { done(await actions.report!(dir)); });
};

const addCompare: AddCommand = (program, actions, done) => {
  program.command('compare')
    .description('compare two runs: a headline per variant (verdict, peak, retained, released RSS), then the flagged metrics; ! = beyond noise (trial ranges, or the noise floor with 1 trial)')
    .argument('<base-run>', 'the run folder to compare against')
    .argument('<head-run>', 'the run folder to compare')
    .option('--md <file>', 'also write the comparison as Markdown to this file (headline, then every metric under <details>)')
    .option('--all', 'in the terminal, show every metric, not only the flagged ones')
    .exitOverride()
    .action(async (base: string, head: string, flags: { md?: string; all?: boolean }) => { done(await actions.compare!(base, head, flags)); });
};

const addDetect: AddCommand = (program, actions, done) => {
  program.command('detect')
    .description('run a small version of a scenario under valgrind memcheck, gperftools\' heap checker (normal, draconian) and LeakSanitizer, and natively for the lab\'s verdict; tabulate what each reports')
    .option('--scenario <name|path>', 'scenario name (leak, burst, ...) or file')
    .option('--variant <id>', 'variant of the native run (heap checkers use it when it is a tcmalloc variant)', 'tcmalloc')
    .option('--tools <ids>', 'comma-separated: memcheck, heapcheck-normal, heapcheck-draconian, lsan, growth-profile (default: all)')
    .addOption(new Option('--seed <n>', 'seed (default: the scenario\'s)').argParser(intFlag('--seed', 0)))
    .addOption(new Option('--out <dir>', 'folder under which the run folder is created').default(RESULTS_DIR, 'results/'))
    .option('--json', 'print detect.json to stdout and nothing else there')
    .exitOverride()
    .action(async (flags: DetectFlags) => { done(await actions.detect!(flags)); });
};

const addInspect: AddCommand = (program, actions, done) => {
  program.command('inspect')
    .description('look at a live process the lab did not start, without a preload or a restart: where its RSS sits, the allocator\'s counters, a verdict (docs/inspect.md)')
    .argument('<pid>', 'the process to inspect', intFlag('<pid>', 1))
    .option('--release', 'call the allocator\'s release in the process and report RSS before and after')
    .addOption(new Option('--watch <duration>', 'take snapshots for this long (e.g. 30s, 5m): does the in-use memory grow?').argParser(durationFlag('--watch')))
    .addOption(new Option('--every <interval>', 'with --watch: time between snapshots').default(1000, '1s').argParser(durationFlag('--every')))
    .addOption(new Option('--max-stop <ms>', 'refuse a call that would keep the thread stopped longer than this').default(50, '50 ms').argParser(intFlag('--max-stop', 1)))
    .option('--json', 'print the inspection as JSON and nothing else on stdout')
    .option('--md', 'print the inspection as Markdown and nothing else on stdout')
    .exitOverride()
    .action(async (pid: number, flags: InspectFlags) => { done(await actions.inspect!(pid, flags)); });
};

const COMMANDS: readonly AddCommand[] = [addRun, addBuild, addList, addAdmin, addGate, addMerge, addReport, addCompare, addDetect, addInspect];

export function buildProgram(io: Io, actions: Actions): { program: Command; result: () => number } {
  let code: number = ExitCode.ok;
  const program = new Command('lab')
    .description('leak-lab: how much memory does each allocator keep, and what does a release give back?')
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  for (const add of COMMANDS) add(program, actions, (c) => { code = c; });
  return { program, result: () => code };
}
