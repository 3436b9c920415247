// The lab's command line: options declared with commander, the work delegated to the
// core; the exit code is decided here and only here.
import { resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import pc from 'picocolors';
import { buildNative } from '../build.js';
import { AdminClient } from '../native/client.js';
import { ExitCode, LabError } from '../errors.js';
import { RESULTS_DIR } from '../paths.js';
import { killAllNow, stopAll } from '../procs.js';
import { summaryCsv } from '../report/csv.js';
import { summaryJson } from '../report/json.js';
import { rssCharts, summaryTable } from '../report/terminal.js';
import { executeRun } from '../run.js';
import { applyQuick, listScenarioNames, loadScenario } from '../scenario.js';
import { VARIANTS, type Variant, variantStatus } from '../variants.js';
import { progressView } from './progress.js';

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
  build: () => Promise<number>;
  list: (flags: { json?: boolean }) => Promise<number>;
  admin: (port: number, command: string) => Promise<number>;
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
    .exitOverride()
    .action(async (flags: RunFlags) => { code = await actions.run(flags); });

  program.command('build')
    .description('configure and build native/ into build/native (incremental)')
    .exitOverride()
    .action(async () => { code = await actions.build(); });

  program.command('list')
    .description('list variants: available or not, why not, and the allocator library version')
    .option('--json', 'print a JSON array of { id, allocator, available, version, reason }')
    .exitOverride()
    .action(async (flags: { json?: boolean }) => { code = await actions.list(flags); });

  program.command('admin')
    .description('send one admin command (ping, stats, stats-counters, release) to a relay started by hand')
    .argument('<port>', 'the relay\'s admin_port (from its ready line)', intFlag('<port>', 1))
    .argument('<command>', 'ping | stats | stats-counters | release')
    .exitOverride()
    .action(async (port: number, command: string) => { code = await actions.admin(port, command); });

  return { program, result: () => code };
}

export async function main(argv: string[], io: Io): Promise<number> {
  const { program, result } = buildProgram(io, {
    run: (flags) => runCommand(flags, argv, io),
    build: async () => {
      const r = await buildNative((l) => io.stderr.write(`${l}\n`));
      io.stderr.write(`native/ built in ${(r.ms / 1000).toFixed(1)} s\n`);
      return ExitCode.ok;
    },
    list: async (flags) => listCommand(flags, io),
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

function resolveVariants(spec: string | undefined, io: Io): Variant[] {
  if (spec !== undefined) {
    const chosen = checkVariantIds(spec).map((id) => VARIANTS.find((v) => v.id === id)!);
    for (const v of chosen) {
      const st = variantStatus(v);
      if (!st.available) throw new LabError('unavailableVariant', { id: v.id, reason: st.reason ?? 'unknown' });
    }
    return chosen;
  }
  const chosen: Variant[] = [];
  for (const v of VARIANTS.filter((x) => x.isDefault)) {
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
    scenarios.push({ ...loaded, scenario: flags.quick ? applyQuick(loaded.scenario) : loaded.scenario });
  }
  if (flags.variants !== undefined) checkVariantIds(flags.variants);

  const build = await buildNative((l) => io.stderr.write(`${l}\n`));
  if (build.skipped.length) io.stderr.write(`${pc.yellow('warning')}: ${build.skipped.join('; ')}\n`);
  const variants = resolveVariants(flags.variants, io);

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
      outDir: resolve(flags.out ?? RESULTS_DIR), argv: ['npm', 'run', 'lab', '--', ...argv],
    }, controller.signal, {
      onProgress: (p) => progress.update(p),
      onTrialDone: (trace) => {
        if (trace.status !== 'complete') progress.line(`${pc.red(trace.status)}: ${trace.scenario} / ${trace.variant} / trial ${trace.trial}: ${trace.error}`);
      },
    });
    progress.stop();
    const { store, info, summary, curves } = outcome;
    store.writeText('summary.csv', summaryCsv(summary));
    if (flags.json) {
      io.stdout.write(summaryJson(summary));
    } else {
      io.stdout.write('\n' + summaryTable(summary, color) + '\n\n');
      for (const name of info.scenarios.map((s) => s.name)) {
        const c = curves.filter((x) => x.scenario === name);
        if (c.length) io.stdout.write(rssCharts(name, c, color) + '\n\n');
      }
      io.stdout.write(`results: ${store.dir}\n`);
    }
    if (info.status === 'interrupted') return ExitCode.interrupted;
    if (info.status === 'failed') {
      io.stderr.write(`${pc.red('run failed')}:\n${info.errors.map((e) => `  ${e}`).join('\n')}\n`);
      return ExitCode.failed;
    }
    return ExitCode.ok;
  } finally {
    progress.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
  }
}
