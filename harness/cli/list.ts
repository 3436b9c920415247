// `lab list`: every variant, available or not and why, with its library version; with
// --scenario, the variants that scenario runs without --variants (for a target: `as-built`
// and the preload variants it takes, or why one is refused).
import { ExitCode } from '../core/errors.js';
import { loadScenario } from '../scenario/scenario.js';
import { ALL_VARIANTS, AS_BUILT_VARIANT, VARIANTS, type VariantStatus, variantStatus } from '../allocators/variants.js';
import { subjectFor } from '../subjects/index.js';
import type { Io } from './io.js';

function statusLine(s: VariantStatus, extra = ''): string {
  const v = ALL_VARIANTS.find((x) => x.id === s.id)!;
  const mark = s.available ? 'yes' : 'no ';
  return `${s.id.padEnd(18)} ${mark}  ${(s.version ?? '-').padEnd(20)} ${extra}${s.available ? v.description : s.reason}\n`;
}

export async function listCommand(flags: { json?: boolean; scenario?: string }, io: Io): Promise<number> {
  if (flags.scenario !== undefined) return listScenario(flags.scenario, Boolean(flags.json), io);
  const statuses = VARIANTS.map(variantStatus);
  if (flags.json) {
    io.stdout.write(JSON.stringify([...statuses, variantStatus(AS_BUILT_VARIANT)], null, 2) + '\n');
    return ExitCode.ok;
  }
  for (const s of statuses) io.stdout.write(statusLine(s));
  io.stdout.write(statusLine(variantStatus(AS_BUILT_VARIANT), 'targets only: '));
  return ExitCode.ok;
}

/** The variants of one scenario: those it runs by default first, then those --variants may add. */
async function listScenario(name: string, json: boolean, io: Io): Promise<number> {
  const { scenario, file } = await loadScenario(name);
  const subject = subjectFor(scenario, file);
  const runs = subject.defaultVariantIds();
  const applicable = ALL_VARIANTS.filter((v) => subject.variantApplies(v.id));
  const ordered = [...applicable.filter((v) => runs.includes(v.id)), ...applicable.filter((v) => !runs.includes(v.id))];
  const rows = subject.variantStatuses(ordered).map((st) => ({ ...st, runs: runs.includes(st.id) }));
  if (json) {
    io.stdout.write(JSON.stringify({ scenario: scenario.name, target: subject.command, variants: rows }, null, 2) + '\n');
    return ExitCode.ok;
  }
  io.stdout.write(`${scenario.name} (${subject.description}) runs by default: ${rows.filter((r) => r.runs).map((r) => r.id).join(', ')}\n`);
  for (const r of rows) io.stdout.write(statusLine(r, r.runs ? 'runs: ' : 'with --variants: '));
  return ExitCode.ok;
}
