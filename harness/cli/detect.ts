// `lab detect`: the leak checkers side by side (harness/detect/). Writes
// results/<run-id>-detect/{detect.json, detect.md, <tool>.log} and prints the table.
import { mkdirSync, writeFileSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pc from 'picocolors';
import { buildNative } from '../tooling/build.js';
import { type DetectResult, TOOLS, type ToolId, runDetect } from '../detect/detect.js';
import { detectMarkdown, detectTerminal } from '../detect/table.js';
import { ExitCode, LabError } from '../core/errors.js';
import { RESULTS_DIR } from '../core/paths.js';
import { loadScenario } from '../scenario/scenario.js';
import { makeRunId } from '../results/store.js';
import { VARIANTS } from '../allocators/variants.js';
import { subjectFor } from '../subjects/index.js';
import type { Io } from './io.js';
import { onSignals } from './signals.js';

export interface DetectFlags {
  scenario?: string;
  variant?: string;
  tools?: string;
  seed?: number;
  out?: string;
  json?: boolean;
}

export function parseTools(spec: string | undefined): ToolId[] {
  if (spec === undefined) return TOOLS.filter((t) => t !== 'native');
  const ids = spec.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = ids.filter((id) => !(TOOLS as readonly string[]).includes(id));
  if (bad.length || ids.length === 0) throw new LabError('badFlag', { flag: '--tools', value: spec, valid: `a comma-separated list of ${TOOLS.filter((t) => t !== 'native').join(', ')}` });
  return [...new Set(ids)] as ToolId[];
}

export async function detectCommand(flags: DetectFlags, argv: string[], io: Io): Promise<number> {
  if (!flags.scenario) throw new LabError('badFlag', { flag: '--scenario', value: '', valid: 'a scenario name (leak, burst, ...) or file' });
  const { scenario, file } = await loadScenario(flags.scenario);
  const variantId = flags.variant ?? 'tcmalloc';
  const variant = VARIANTS.find((v) => v.id === variantId);
  if (!variant) throw new LabError('unknownVariant', { ids: [variantId], valid: VARIANTS.map((v) => v.id) });
  const tools = parseTools(flags.tools);

  const log = (l: string) => io.stderr.write(`${l}\n`);
  await buildNative(log);
  // The native run's variant must run on this subject; a tool that cannot run is a row
  // that says why (runDetect), not a failed command.
  const kind = subjectFor(scenario, file);
  if (!kind.variantApplies(variant.id)) throw new LabError('badFlag', { flag: '--variant', value: variant.id, valid: `a variant ${kind.description} takes` });
  const st = kind.variantStatuses([variant])[0]!;
  if (!st.available) throw new LabError('unavailableVariant', { id: variant.id, reason: st.reason ?? 'unknown' });

  const outDir = resolve(flags.out ?? RESULTS_DIR);
  const dir = join(outDir, `${makeRunId(new Date(), [scenario.name])}-detect`);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new LabError('outDir', { dir: outDir, reason: (err as Error).message });
  }
  const write = (name: string, text: string) => {
    const tmp = join(dir, `.${name}.tmp`);
    writeFileSync(tmp, text);
    renameSync(tmp, join(dir, name));
  };

  const controller = new AbortController();
  const stopSignals = onSignals(controller, io);
  let result: DetectResult;
  try {
    result = await runDetect({
      scenario, file, variant, tools, seed: flags.seed, signal: controller.signal,
      writeLog: write, dumpDir: dir,
      onStart: (tool, how) => log(`detect: ${scenario.name}: ${tool}: ${how}`),
      onDone: (r) => log(`detect: ${scenario.name}: ${r.tool}: ${r.status}${r.error ? ` (${r.error.split('\n')[0]})` : ''}, ${r.outcome}`),
    });
  } finally {
    stopSignals();
  }
  const json = JSON.stringify({ command: ['npm', 'run', 'lab', '--', ...argv], ...result }, null, 2) + '\n';
  write('detect.json', json);
  write('detect.md', detectMarkdown(result));
  if (flags.json) io.stdout.write(json);
  else io.stdout.write(`\n${detectTerminal(result, Boolean(io.stdout.isTTY))}\nresults: ${dir}\n`);
  if (controller.signal.aborted) return ExitCode.interrupted;
  const ran = result.rows.filter((r) => r.tool !== 'native' && r.status !== 'not-run');
  if (ran.length === 0) {
    io.stderr.write(`${pc.red('no leak checker could run')} on ${kind.description}:\n${result.rows.filter((r) => r.status === 'not-run').map((r) => `  ${r.tool}: ${r.how}`).join('\n')}\n`);
    return ExitCode.usage;
  }
  const failed = result.rows.filter((r) => r.status !== 'complete' && r.status !== 'not-run');
  if (failed.length) {
    io.stderr.write(`${pc.red('detect failed')}:\n${failed.map((r) => `  ${r.tool}: ${r.error}`).join('\n')}\n`);
    return ExitCode.failed;
  }
  return ExitCode.ok;
}
