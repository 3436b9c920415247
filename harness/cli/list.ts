// `lab list`: every variant, available or not and why, with its library version; with
// --scenario, the variants that scenario runs without --variants (for a target: `as-built`
// and the preload variants it takes, or why one is refused).
import { ExitCode, LabError } from '../core/errors.js';
import { checkPreload, checkTarget, scenarioVariantIds, variantApplies } from '../run/target-check.js';
import { type Scenario, loadScenario } from '../scenario/scenario.js';
import { AS_BUILT_VARIANT, VARIANTS, type Variant, type VariantStatus, variantStatus } from '../subject/variants.js';
import type { BinaryInfo } from '../subject/binary.js';
import type { Io } from './io.js';

const ALL: readonly Variant[] = [...VARIANTS, AS_BUILT_VARIANT];

/** Whether each variant can run on a target: the same checks as a run (the programs
 * resolve, the preload takes, the allocator library and the probe are there); why not otherwise. */
function targetStatuses(s: Scenario, file: string, variants: readonly Variant[]): VariantStatus[] {
  const status = (v: Variant, reason: string | null): VariantStatus =>
    ({ id: v.id, allocator: v.allocator, available: reason === null, version: v.allocator === null ? null : variantStatus(v).version, reason });
  const reasonOf = (f: () => void): string | null => {
    try {
      f();
      return null;
    } catch (err) {
      if (err instanceof LabError) return err.message;
      throw err;
    }
  };
  let info: BinaryInfo | undefined;
  const common = reasonOf(() => { info = checkTarget(s, file, []); });
  return variants.map((v) => status(v, common ?? reasonOf(() => checkPreload(info!, v))));
}

function statusLine(s: VariantStatus, extra = ''): string {
  const v = ALL.find((x) => x.id === s.id)!;
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
  const runs = scenarioVariantIds(scenario);
  const applicable = ALL.filter((v) => variantApplies(scenario, v.id));
  const ordered = [...applicable.filter((v) => runs.includes(v.id)), ...applicable.filter((v) => !runs.includes(v.id))];
  const statuses = scenario.target ? targetStatuses(scenario, file, ordered) : ordered.map(variantStatus);
  const rows = statuses.map((st) => ({ ...st, runs: runs.includes(st.id) }));
  if (json) {
    io.stdout.write(JSON.stringify({ scenario: scenario.name, target: scenario.target ? scenario.target.command : null, variants: rows }, null, 2) + '\n');
    return ExitCode.ok;
  }
  const subject = scenario.target ? `target ${scenario.target.command[0]}` : 'the built-in relay';
  io.stdout.write(`${scenario.name} (${subject}) runs by default: ${rows.filter((r) => r.runs).map((r) => r.id).join(', ')}\n`);
  for (const r of rows) io.stdout.write(statusLine(r, r.runs ? 'runs: ' : 'with --variants: '));
  return ExitCode.ok;
}
