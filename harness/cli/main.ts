// The lab's command line: options declared with commander, the work delegated to the
// core; the exit code is decided here and only here.
import { resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import pc from 'picocolors';
import { SANITIZE_BUILD_DIR, buildNative } from '../build.js';
import { AdminClient } from '../native/client.js';
import { ExitCode, LabError } from '../errors.js';
import { BUILD_DIR, RESULTS_DIR } from '../paths.js';
import { killAllNow, stopAll } from '../procs.js';
import { summaryCsv } from '../report/csv.js';
import { summaryJson } from '../report/json.js';
import { rssCharts, summaryTable } from '../report/terminal.js';
import { executeRun } from '../run.js';
import { checkBaselineFolder, gateRunFolder, loadCeilings, writeGateFiles, type GateOptions } from '../gate/apply.js';
import { parseRegression } from '../gate/gate.js';
import { gateText } from '../report/gate.js';
import { describeMerge, mergeRuns } from '../merge.js';
import { type Shard, parseShard } from '../shard.js';
import { applyQuick, expandArms, listScenarioNames, loadScenario } from '../scenario.js';
import { VARIANTS, type Variant, variantStatus } from '../variants.js';
import { progressView } from './progress.js';
import { type DetectFlags, detectCommand } from './detect.js';
import { compareCommand, reportCommand } from './report-commands.js';
import { writeReports } from '../report/write.js';

export interface Io {
  stdout: { write(s: string): unknown; isTTY?: boolean };
  stderr: { write(s: string): unknown; isTTY?: boolean };
}

interface RunFlags {
  scenario?: string[];
  variants?: string;
  trials?: number;
  seed?: number;
  quick?: boolean;
  out?: string;
  json?: boolean;
  gate?: boolean;
  ceilings?: string;
  baseline?: string;
  maxRegression?: number;
  shard?: Shard;
  statsPoll?: boolean;
}

interface GateFlags {
  ceilings?: string;
  baseline?: string;
  maxRegression?: number;
  json?: boolean;
}

function regressionFlag(value: string): number {
  const r = parseRegression(value);
  if (r === undefined) throw new LabError('badFlag', { flag: '--max-regression', value, valid: 'a percentage such as 10% (or a fraction up to 1 such as 0.1)' });
  return r;
}

function shardFlag(value: string): Shard {
  const s = parseShard(value);
  if (!s) throw new LabError('badFlag', { flag: '--shard', value, valid: 'i/n with 1 <= i <= n, e.g. 1/4' });
  return s;
}

function intFlag(flag: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new LabError('badFlag', { flag, value, valid: `an integer >= ${min}` });
    }
    return n;
  };
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function buildProgram(io: Io, actions: {
  run: (flags: RunFlags) => Promise<number>;
  build: (flags: { sanitize?: boolean }) => Promise<number>;
  list: (flags: { json?: boolean }) => Promise<number>;
  admin: (port: number, command: string) => Promise<number>;
  gate?: (dir: string, flags: GateFlags) => Promise<number>;
  merge?: (dirs: string[], flags: { out: string }) => Promise<number>;
  report?: (dir: string) => Promise<number>;
  compare?: (base: string, head: string, flags: { md?: string }) => Promise<number>;
  detect?: (flags: DetectFlags) => Promise<number>;
}): { program: Command; result: () => number } {
  let code: number = ExitCode.ok;
  const program = new Command('lab')
    .description('leak-lab: how much memory does each allocator keep, and what does a release give back?')
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });

  program.command('run', { isDefault: true })
    .description('run scenarios on variants and write results/<run-id>/ (the default command)')
    .addOption(new Option('--scenario <name|path>', 'scenario name (scenarios/<name>.ts) or file; repeatable').argParser(collect))
    .option('--variants <ids>', 'comma-separated variant ids (default: every available default variant; see `lab list`)')
    .addOption(new Option('--trials <n>', 'trials per scenario x variant (default: the scenario\'s)').argParser(intFlag('--trials', 1)))
    .addOption(new Option('--seed <n>', 'seed for the request sizes and upstream delays (default: the scenario\'s)').argParser(intFlag('--seed', 0)))
    .option('--quick', 'the scenario\'s short form (for tests and a first look)')
    .option('--out <dir>', 'folder under which the run folder is created', RESULTS_DIR)
    .option('--json', 'print summary.json to stdout and nothing else there')
    .option('--gate', 'after the run, check it against the ceilings (exit 1 when one is exceeded)')
    .option('--ceilings <file>', 'ceilings file for --gate (default: scenarios/ceilings.ts)')
    .option('--baseline <run-dir>', 'with --gate: also hold each gated metric to this run\'s value + --max-regression')
    .addOption(new Option('--max-regression <pct>', 'how much worse than --baseline a metric may be').default(0.1, '10%').argParser(regressionFlag))
    .addOption(new Option('--shard <i/n>', 'run only slice i of n of the scenario x trial x variant matrix (join with `lab merge`)').argParser(shardFlag))
    .option('--no-stats-poll', 'do not ask the relay for its counters every 100 ms (RSS and smaps are still read from outside; live-bytes metrics come from the final sample only)')
    .exitOverride()
    .action(async (flags: RunFlags) => { code = await actions.run(flags); });

  program.command('build')
    .description('configure and build native/ into build/native (incremental)')
    .option('--sanitize', 'build with clang, ASan and UBSan into build/native-sanitize instead (run on it with LEAKLAB_BUILD_DIR=build/native-sanitize)')
    .exitOverride()
    .action(async (flags: { sanitize?: boolean }) => { code = await actions.build(flags); });

  program.command('list')
    .description('list variants: available or not, why not, and the allocator library version')
    .option('--json', 'print a JSON array of { id, allocator, available, version, reason }')
    .exitOverride()
    .action(async (flags: { json?: boolean }) => { code = await actions.list(flags); });

  program.command('admin')
    .description('send one admin command to a relay started by hand, print its JSON answer')
    .argument('<port>', 'the relay\'s admin_port (from its ready line)', intFlag('<port>', 1))
    .argument('<command...>', 'ping | stats | stats-counters | release | config | set <key> <value>')
    .exitOverride()
    .action(async (port: number, command: string[]) => { code = await actions.admin(port, command.join(' ')); });

  program.command('gate')
    .description('check a run folder against the ceilings (and optionally a baseline run); exit 1 when one is exceeded')
    .argument('<run-dir>', 'a run folder, e.g. results/latest')
    .option('--ceilings <file>', 'ceilings file (default: scenarios/ceilings.ts)')
    .option('--baseline <run-dir>', 'also hold each gated metric to this run\'s value + --max-regression')
    .addOption(new Option('--max-regression <pct>', 'how much worse than --baseline a metric may be').default(0.1, '10%').argParser(regressionFlag))
    .option('--json', 'print the checks as JSON on stdout')
    .exitOverride()
    .action(async (dir: string, flags: GateFlags) => { code = await actions.gate!(dir, flags); });

  program.command('merge')
    .description('join shard run folders (--shard i/n) into one run folder with a recomputed summary')
    .argument('<run-dir...>', 'the shard run folders')
    .requiredOption('--out <dir>', 'the merged run folder to create (new or empty)')
    .exitOverride()
    .action(async (dirs: string[], flags: { out: string }) => { code = await actions.merge!(dirs, flags); });

  program.command('report')
    .description('re-render report.md and report.html of a run folder from its raw files (byte-identical to the run\'s)')
    .argument('<run-dir>', 'a run folder, e.g. results/latest')
    .exitOverride()
    .action(async (dir: string) => { code = await actions.report!(dir); });

  program.command('compare')
    .description('compare two runs: base, head, delta and delta % per scenario x variant x metric; ! = beyond the trials\' ranges')
    .argument('<base-run>', 'the run folder to compare against')
    .argument('<head-run>', 'the run folder to compare')
    .option('--md <file>', 'also write the comparison as Markdown to this file')
    .exitOverride()
    .action(async (base: string, head: string, flags: { md?: string }) => { code = await actions.compare!(base, head, flags); });

  program.command('detect')
    .description('run a small version of a scenario under valgrind memcheck, gperftools\' heap checker (normal, draconian) and LeakSanitizer, and natively for the lab\'s verdict; tabulate what each reports')
    .option('--scenario <name|path>', 'scenario name (leak, burst, ...) or file')
    .option('--variant <id>', 'variant of the native run (heap checkers use it when it is a tcmalloc variant)', 'tcmalloc')
    .option('--tools <ids>', 'comma-separated: memcheck, heapcheck-normal, heapcheck-draconian, lsan (default: all)')
    .addOption(new Option('--seed <n>', 'seed (default: the scenario\'s)').argParser(intFlag('--seed', 0)))
    .option('--out <dir>', 'folder under which the run folder is created', RESULTS_DIR)
    .option('--json', 'print detect.json to stdout and nothing else there')
    .exitOverride()
    .action(async (flags: DetectFlags) => { code = await actions.detect!(flags); });

  return { program, result: () => code };
}

export async function main(argv: string[], io: Io): Promise<number> {
  const { program, result } = buildProgram(io, {
    run: (flags) => runCommand(flags, argv, io),
    build: async (flags) => {
      const dir = flags.sanitize ? SANITIZE_BUILD_DIR : BUILD_DIR;
      const r = await buildNative((l) => io.stderr.write(`${l}\n`), dir);
      io.stderr.write(`native/ built into ${dir} in ${(r.ms / 1000).toFixed(1)} s\n`);
      return ExitCode.ok;
    },
    list: async (flags) => listCommand(flags, io),
    gate: async (dir, flags) => gateCommand(dir, flags, io),
    merge: async (dirs, flags) => mergeCommand(dirs, flags, argv, io),
    report: async (dir) => reportCommand(dir, io),
    compare: async (base, head, flags) => compareCommand(base, head, flags, io),
    detect: async (flags) => detectCommand(flags, argv, io),
    admin: async (port, command) => {
      let client: AdminClient;
      try {
        client = await AdminClient.open(port);
      } catch (err) {
        throw new LabError('badFlag', { flag: '<port>', value: String(port), valid: `the admin_port of a running relay (${(err as Error).message})` });
      }
      try {
        const reply = await client.command<Record<string, unknown>>(command);
        io.stdout.write(JSON.stringify(reply, null, 2) + '\n');
        return reply.ok === true ? ExitCode.ok : ExitCode.usage;
      } finally {
        client.close();
      }
    },
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return result();
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.ok;
      if (err.code === 'commander.unknownOption' || err.code === 'commander.unknownCommand' || err.code === 'commander.excessArguments') {
        io.stderr.write(`run \`npm run lab -- --help\` for every command and flag\n`);
      }
      return ExitCode.usage;
    }
    if (err instanceof LabError) {
      io.stderr.write(`${pc.red('error')}: ${err.message}\n`);
      return err.exitCode;
    }
    io.stderr.write(`${pc.red('internal error')}: ${(err as Error).stack ?? String(err)}\n`);
    return ExitCode.failed;
  } finally {
    await stopAll();
  }
}

async function listCommand(flags: { json?: boolean }, io: Io): Promise<number> {
  const statuses = VARIANTS.map(variantStatus);
  if (flags.json) {
    io.stdout.write(JSON.stringify(statuses, null, 2) + '\n');
    return ExitCode.ok;
  }
  for (const s of statuses) {
    const v = VARIANTS.find((x) => x.id === s.id)!;
    const mark = s.available ? 'yes' : 'no ';
    io.stdout.write(`${s.id.padEnd(18)} ${mark}  ${(s.version ?? '-').padEnd(20)} ${s.available ? v.description : s.reason}\n`);
  }
  return ExitCode.ok;
}

/** The ids of --variants, each known; throws LabError('unknownVariant') otherwise. */
function checkVariantIds(spec: string): string[] {
  const valid = VARIANTS.map((v) => v.id);
  const ids = spec.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = ids.filter((id) => !valid.includes(id));
  if (unknown.length || ids.length === 0) throw new LabError('unknownVariant', { ids: unknown.length ? unknown : [spec], valid });
  return [...new Set(ids)];
}

/** --variants, or else the union of the scenarios' own `variants` lists (the default
 * variants for a scenario without one), skipping (with a warning) what is not built. */
function resolveVariants(spec: string | undefined, io: Io, scenarioDefaults: Array<string[] | undefined> = [undefined]): Variant[] {
  if (spec !== undefined) {
    const chosen = checkVariantIds(spec).map((id) => VARIANTS.find((v) => v.id === id)!);
    for (const v of chosen) {
      const st = variantStatus(v);
      if (!st.available) throw new LabError('unavailableVariant', { id: v.id, reason: st.reason ?? 'unknown' });
    }
    return chosen;
  }
  const wanted = new Set(scenarioDefaults.flatMap((ids) => ids ?? VARIANTS.filter((x) => x.isDefault).map((x) => x.id)));
  const chosen: Variant[] = [];
  for (const v of VARIANTS.filter((x) => wanted.has(x.id))) {
    const st = variantStatus(v);
    if (st.available) chosen.push(v);
    else io.stderr.write(`${pc.yellow('warning')}: skipping variant ${v.id}: ${st.reason}\n`);
  }
  if (chosen.length === 0) throw new LabError('noVariants');
  return chosen;
}

async function runCommand(flags: RunFlags, argv: string[], io: Io): Promise<number> {
  if (!flags.scenario?.length) {
    throw new LabError('badFlag', { flag: '--scenario', value: '', valid: `one of ${listScenarioNames().join(', ')} (or a scenario file)` });
  }
  // Everything the user typed is checked before anything starts.
  const scenarios = [];
  for (const name of flags.scenario) {
    const loaded = await loadScenario(name);
    for (const scenario of expandArms(flags.quick ? applyQuick(loaded.scenario) : loaded.scenario)) {
      scenarios.push({ ...loaded, scenario });
    }
  }
  if (flags.variants !== undefined) checkVariantIds(flags.variants);
  if (!flags.gate && (flags.ceilings !== undefined || flags.baseline !== undefined)) {
    throw new LabError('badFlag', { flag: flags.ceilings !== undefined ? '--ceilings' : '--baseline', value: flags.ceilings ?? flags.baseline ?? '', valid: 'it together with --gate (or use `lab gate <run-dir>`)' });
  }

  const build = await buildNative((l) => io.stderr.write(`${l}\n`));
  if (build.skipped.length) io.stderr.write(`${pc.yellow('warning')}: ${build.skipped.join('; ')}\n`);
  const variants = resolveVariants(flags.variants, io, scenarios.map((s) => s.scenario.variants));
  if (flags.gate) await precheckGate(flags, scenarios.map((s) => s.scenario), variants.map((v) => v.id));

  const controller = new AbortController();
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
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const onExit = () => killAllNow();
  process.on('exit', onExit);

  const color = Boolean(io.stdout.isTTY) && !flags.json;
  const progress = progressView(io.stderr);
  try {
    const outcome = await executeRun({
      scenarios, variants, trials: flags.trials, seed: flags.seed, quick: Boolean(flags.quick),
      outDir: resolve(flags.out ?? RESULTS_DIR), argv: ['npm', 'run', 'lab', '--', ...argv], shard: flags.shard,
      statsPolling: flags.statsPoll !== false,
    }, controller.signal, {
      onProgress: (p) => progress.update(p),
      onTrialDone: (trace) => {
        if (trace.status !== 'complete') progress.line(`${pc.red(trace.status)}: ${trace.scenario} / ${trace.variant} / trial ${trace.trial}: ${trace.error}`);
      },
    });
    progress.stop();
    const { store, info, summary, curves } = outcome;
    store.writeText('summary.csv', summaryCsv(summary));
    await writeReports(store.dir);  // from the files on disk, as `lab report` does: byte-identical
    if (flags.json) {
      io.stdout.write(summaryJson(summary));
    } else {
      io.stdout.write('\n' + summaryTable(summary, color) + '\n\n');
      for (const name of info.scenarios.map((s) => s.name)) {
        const c = curves.filter((x) => x.scenario === name);
        if (c.length) io.stdout.write(rssCharts(name, c, color) + '\n\n');
      }
      io.stdout.write(`results: ${store.dir}\n`);
      io.stdout.write(`report: ${store.dir}/report.html (and report.md)\n`);
    }
    if (info.status === 'interrupted') return ExitCode.interrupted;
    const gated = flags.gate ? await gateAndReport(store.dir, { ...flags, json: false }, io, flags.json ? io.stderr : io.stdout) : ExitCode.ok;
    if (info.status === 'failed') {
      io.stderr.write(`${pc.red('run failed')}:\n${info.errors.map((e) => `  ${e}`).join('\n')}\n`);
      return ExitCode.failed;
    }
    return gated;
  } finally {
    progress.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
  }
}

function gateOptions(flags: GateFlags): GateOptions {
  return { ceilings: flags.ceilings, baseline: flags.baseline, maxRegression: flags.maxRegression ?? 0.1 };
}

/** --gate: the ceilings file, the baseline and an applicable entry are checked before the
 * run starts, so a typo costs seconds, not a whole run. */
async function precheckGate(flags: RunFlags, scenarios: Array<{ name: string; phases: Array<{ name: string }> }>, variantIds: string[]): Promise<void> {
  const ceilings = await loadCeilings(flags.ceilings, scenarios.map((s) => ({ name: s.name, phases: s.phases.map((p) => p.name) })));
  const quick = Boolean(flags.quick);
  const names = scenarios.map((s) => s.name);
  const applies = ceilings.entries.some((e) => e.quick === quick && names.includes(e.scenario) && (e.variant === '*' || variantIds.includes(e.variant)));
  if (!applies) throw new LabError('noCeilings', { file: ceilings.file, keys: [...new Set(names.map((n) => (quick ? `${n} --quick` : n)))] });
  if (flags.baseline !== undefined) checkBaselineFolder(flags.baseline, quick);
}

/** Gates a run folder, prints the table, writes junit.xml (and the step summary); the exit code. */
async function gateAndReport(dir: string, flags: GateFlags, io: Io, out: Io['stdout']): Promise<number> {
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

async function gateCommand(dir: string, flags: GateFlags, io: Io): Promise<number> {
  return gateAndReport(resolve(dir), flags, io, io.stdout);
}

async function mergeCommand(dirs: string[], flags: { out: string }, argv: string[], io: Io): Promise<number> {
  const merged = mergeRuns(dirs, flags.out, ['npm', 'run', 'lab', '--', ...argv]);
  await writeReports(merged.dir);  // report.md and report.html of the joined run, from its files
  io.stdout.write(`merged ${describeMerge(merged)}\n`);
  io.stdout.write('\n' + summaryTable(merged.summary, Boolean(io.stdout.isTTY)) + '\n\n');
  io.stdout.write(`results: ${merged.dir}\n`);
  io.stdout.write(`report: ${merged.dir}/report.html (and report.md)\n`);
  if (merged.info.status !== 'complete') {
    io.stderr.write(`${pc.red('merged run is ' + merged.info.status)}:\n${merged.info.errors.map((e) => `  ${e}`).join('\n')}\n`);
    return merged.info.status === 'interrupted' ? ExitCode.interrupted : ExitCode.failed;
  }
  return ExitCode.ok;
}
