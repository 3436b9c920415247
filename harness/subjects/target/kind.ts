// A user's target as a kind of subject: its own default variants (as-built, or the
// scenario's list), every check before a run (target/check.ts), its start (target/start.ts),
// and a trial hook that looks at the processes it forked, which the lab does not measure.
import { AS_BUILT, AS_BUILT_VARIANT, VARIANTS, type Variant, type VariantStatus, variantStatus } from '../../allocators/variants.js';
import { LabError } from '../../core/errors.js';
import { BUILD_DIR } from '../../core/paths.js';
import { readStatmRss } from '../../core/proc.js';
import type { Scenario, Target } from '../../scenario/scenario.js';
import type { SubjectFacts, SubjectKind, TrialHook } from '../subject.js';
import type { BinaryInfo } from './binary.js';
import { checkPreload, checkTarget } from './check.js';
import { descendants } from './procs.js';
import { startTarget } from './start.js';

export function targetSubject(scenario: Scenario & { target: Target }, file: string): SubjectKind {
  return {
    description: `target ${scenario.target.command[0]!.replaceAll('{lab_build}', BUILD_DIR)}`,
    command: scenario.target.command,
    needsRelayBinaries: false,
    defaultVariantIds: () => scenario.variants ?? [AS_BUILT],
    plainVariant: () => AS_BUILT_VARIANT,
    variantApplies: (id) => id === AS_BUILT || VARIANTS.some((v) => v.id === id),
    variantStatuses: (variants) => targetStatuses(scenario, file, variants),
    check: (variants, o) => {
      const binary = checkTarget(scenario, file, variants, o);
      return { program: binary.path, staticBinary: binary.elf?.static === true, binary };
    },
    programFor: (_variant, facts) => facts.program,
    trialHooks: () => [descendantsHook()],
    start: (o, facts) => startTarget({ ...o, scenario, staticBinary: facts.staticBinary }),
  };
}

/** Whether each variant can run on the target: the same checks as a run (the programs
 * resolve, the preload takes, the allocator library and the probe are there); why not otherwise. */
function targetStatuses(s: Scenario & { target: Target }, file: string, variants: readonly Variant[]): VariantStatus[] {
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

/** A target's memory outside its first process (prefork workers, say) is not measured: it is
 * looked at each phase start and at the end, so the run can say so (trace.descendants). */
export function descendantsHook(): TrialHook {
  const look = (pid: number, trace: { descendants?: { processes: number; rssBytes: number } }) => {
    const pids = descendants(pid);
    const rssBytes = pids.reduce((a, p) => a + (readStatmRss(p) ?? 0), 0);
    const d = trace.descendants ?? { processes: 0, rssBytes: 0 };
    trace.descendants = { processes: Math.max(d.processes, pids.length), rssBytes: Math.max(d.rssBytes, rssBytes) };
  };
  return {
    phaseStart: (ctx) => look(ctx.subject.pid, ctx.trace),
    end: (ctx) => look(ctx.subject.pid, ctx.trace),
  };
}

export type { SubjectFacts };
