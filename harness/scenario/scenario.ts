// Scenarios as typed, validated data. A scenario file (scenarios/<name>.ts, or any .ts,
// .js or .json file) exports a plain object; loadScenario() validates it and turns sizes
// and durations into numbers. Nothing starts before a scenario is valid.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { z } from 'zod';
import { LabError } from '../core/errors.js';
import { SCENARIOS_DIR } from '../core/paths.js';
import { AS_BUILT, VARIANTS } from '../allocators/variants.js';
import { duration, name as phaseName, size } from './fields.js';
import { checkTarget, commandLoad, isCommandLoadInput, quickTarget, target } from './target.js';
import { importModule } from '../core/load-module.js';

const sizeDistribution = z.union([
  size.transform((bytes) => ({ dist: 'fixed' as const, bytes })),
  z.object({ fixed: size }).strict().transform((d) => ({ dist: 'fixed' as const, bytes: d.fixed })),
  z.object({ uniform: z.tuple([size, size]) }).strict()
    .refine((d) => d.uniform[0] <= d.uniform[1], { message: 'uniform: [min, max] needs min <= max' })
    .transform((d) => ({ dist: 'uniform' as const, min: d.uniform[0], max: d.uniform[1] })),
  z.object({ lognormal: z.object({ median: size, sigma: z.number().positive().max(4), max: size }).strict() }).strict()
    .refine((d) => d.lognormal.median <= d.lognormal.max, { message: 'lognormal: median must be <= max' })
    .transform((d) => ({ dist: 'lognormal' as const, ...d.lognormal })),
], { errorMap: () => ({ message: `expected a size, { fixed: size }, { uniform: [min, max] } or { lognormal: { median, sigma, max } }` }) });

/** Churn: each connection is closed and reopened after this many responses (0 = never). */
const reconnectEvery = z.number().int().nonnegative().max(1_000_000_000).default(0);

/** Sized by count: the phase sends this many requests and ends when all are answered; its
 * duration is then a limit, and a trial whose phase hits it fails (a machine too slow for
 * the scenario, said so instead of a smaller result). */
const requests = z.number().int().positive().max(1_000_000_000).optional();

const builtInLoad = z.union([
  z.object({ closed: z.number().int().positive().max(100_000), size: sizeDistribution, reconnectEvery, requests }).strict()
    .transform((l) => ({ mode: 'closed' as const, concurrency: l.closed, size: l.size, reconnectEvery: l.reconnectEvery, requests: l.requests })),
  z.object({ rate: z.number().positive().max(10_000_000), maxInFlight: z.number().int().positive().default(100_000), size: sizeDistribution, reconnectEvery, requests }).strict()
    .transform((l) => ({ mode: 'open' as const, rate: l.rate, maxInFlight: l.maxInFlight, size: l.size, reconnectEvery: l.reconnectEvery, requests: l.requests })),
], { errorMap: () => ({ message: 'expected { closed: <concurrency>, size, reconnectEvery?, requests? } or { rate: <requests per second>, maxInFlight?, size, reconnectEvery?, requests? }' }) });

/** A phase's load: the built-in load generator, or (for a target) an external command. */
const load = z.unknown().transform((v, ctx) => {
  const r = (isCommandLoadInput(v) ? commandLoad : builtInLoad).safeParse(v);
  if (r.success) return r.data;
  for (const i of r.error.issues) ctx.addIssue({ ...i, path: i.path });
  return z.NEVER;
}).pipe(z.custom<z.output<typeof builtInLoad> | z.output<typeof commandLoad>>());

export const ACTIONS = ['release'] as const;

const phase = z.object({
  name: phaseName,
  duration,
  load: load.optional(),
  actions: z.array(z.enum(ACTIONS)).default([]),
}).strict();

/** A group of phases run `repeat` times in a row (fill then clear, three times, say): each
 * phase becomes `<name>-<k>` with its repetition k, so growth per repetition can be measured
 * (docs/scenarios.md, "Repeated phases"; docs/metrics.md, repeatGrowthShare). */
const group = z.object({
  repeat: z.number().int().min(2).max(1000),
  phases: z.array(phase).min(1),
}).strict();

type PlainPhase = z.output<typeof phase>;
/** A phase as a run sees it: from a repeated group, its repetition and its name in the file. */
type ExpandedPhase = PlainPhase & { repetition?: number; base?: string };

const phaseOrGroup = z.unknown().transform((v, ctx): ExpandedPhase[] => {
  const isGroup = typeof v === 'object' && v !== null && 'repeat' in v;
  const r = (isGroup ? group : phase).safeParse(v);
  if (!r.success) {
    for (const i of r.error.issues) ctx.addIssue({ ...i, path: i.path });
    return z.NEVER;
  }
  if (!isGroup) return [r.data as PlainPhase];
  const g = r.data as z.output<typeof group>;
  return Array.from({ length: g.repeat }, (_, k) => g.phases.map((p) => ({ ...p, name: `${p.name}-${k + 1}`, repetition: k + 1, base: p.name }))).flat();
});

const relay = z.object({
  threads: z.number().int().min(1).max(256).default(8),
  maxFrame: size.default(16 * 1024 * 1024),
  highWater: size.default(8 * 1024 * 1024),
  /** Leak mode: this fraction of requests stays in the pending table forever. */
  leakRate: z.number().min(0).max(1).default(0),
  /** Fragmentation workload: a small long-lived record every `every` requests. */
  logRecord: z.object({ bytes: size, every: z.number().int().min(1).default(1), retention: duration.default(5000) }).strict().optional(),
  /** The relay's own release policy (each one off when absent). */
  releasePolicy: z.object({ every: duration.optional(), idle: duration.optional(), freeOver: size.optional() }).strict().optional(),
  /** Thread churn: a transient thread takes over building responses for this long, then exits. */
  threadChurn: duration.optional(),
}).strict();

const upstream = z.object({
  delay: z.union([duration, z.object({ min: duration, max: duration }).strict()]).default(0),
  response: z.union([size, z.object({ ratio: z.number().nonnegative().max(16) }).strict()]).default(1024),
  seed: z.number().int().nonnegative().optional(),
}).strict();

const quick = z.object({
  relay: relay.partial().optional(),
  upstream: upstream.partial().optional(),
  connections: z.number().int().min(1).max(4096).optional(),
  phases: z.record(phaseName, phase.partial().omit({ name: true })).default({}),
  target: quickTarget.optional(),
}).strict();

/** An arm runs the same scenario with other relay settings; each arm becomes a scenario
 * of its own, named `<scenario>-<arm>` (e.g. release-policy-idle). */
const arm = z.object({ name: phaseName, description: z.string().default(''), relay: relay.partial().default({}) }).strict();

export const scenarioSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lower-case letters, digits and dashes'),
  description: z.string().default(''),
  relay: relay.default({}),
  upstream: upstream.default({}),
  connections: z.number().int().min(1).max(4096).default(64),
  trials: z.number().int().min(1).max(1000).default(1),
  seed: z.number().int().nonnegative().default(1),
  phases: z.array(phaseOrGroup).min(1).transform((ps) => ps.flat()),
  quick: quick.optional(),
  /** Variant ids to run when --variants is not given (default: the default variants). */
  variants: z.array(z.string()).min(1).optional(),
  arms: z.array(arm).min(1).optional(),
  /** Growth profiles on the jemalloc and tcmalloc variants, as --profile does. */
  profile: z.boolean().default(false),
  /** A user's own server instead of the built-in relay (docs/targets.md). */
  target: target.optional(),
}).strict().superRefine((s, ctx) => {
  const seen = new Set<string>();
  s.phases.forEach((p, i) => {
    if (seen.has(p.name)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['phases', i, 'name'], message: `duplicate phase name '${p.name}'` });
    seen.add(p.name);
  });
  const validIds = [...(s.target ? [AS_BUILT] : []), ...VARIANTS.map((v) => v.id)];
  s.variants?.forEach((id, i) => {
    if (!validIds.includes(id)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['variants', i], message: `unknown variant '${id}'; valid: ${validIds.join(', ')}${s.target ? '' : ` ('${AS_BUILT}' only with a target)`}` });
  });
  const commandLoads = s.phases.map((p) => (p.load?.mode === 'command' ? p.load : undefined));
  for (const issue of checkTarget(s.target, s.phases, commandLoads)) ctx.addIssue({ code: z.ZodIssueCode.custom, ...issue });
  if (s.quick?.target && !s.target) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['quick', 'target'], message: 'there is no target to override' });
  if (s.quick?.target && s.target) {
    const q = { ...s.target, ...s.quick.target };
    for (const issue of checkTarget(q, s.phases, commandLoads)) ctx.addIssue({ code: z.ZodIssueCode.custom, ...issue, path: ['quick', ...issue.path] });
  }
  const arms = new Set<string>();
  s.arms?.forEach((a, i) => {
    if (arms.has(a.name)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['arms', i, 'name'], message: `duplicate arm name '${a.name}'` });
    arms.add(a.name);
  });
  const bases = new Set(s.phases.flatMap((p) => (p.base ? [p.base] : [])));
  for (const name of Object.keys(s.quick?.phases ?? {})) {
    if (!seen.has(name) && !bases.has(name)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['quick', 'phases', name], message: `no phase named '${name}'; phases are ${[...bases, ...seen].join(', ')}` });
  }
});

/** What a scenario file is written as (sizes and durations as text). */
export type ScenarioInput = z.input<typeof scenarioSchema>;
export type Scenario = z.output<typeof scenarioSchema>;
export type Phase = Scenario['phases'][number];
export type Load = NonNullable<Phase['load']>;
export type BuiltInLoad = Exclude<Load, { mode: 'command' }>;
export type SizeDistribution = BuiltInLoad['size'];
export type { Target } from './target.js';

/** Identity, for typing: `export default defineScenario({ ... })`. Scenario files outside
 * the repository import the same function from ./define.js (no run-time imports there). */
export function defineScenario(s: ScenarioInput): ScenarioInput {
  return s;
}

function formatPath(path: (string | number)[]): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

/** Validates raw scenario data; throws LabError('badScenario') naming the file and fields. */
export function parseScenario(raw: unknown, file: string): Scenario {
  const result = scenarioSchema.safeParse(raw);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${formatPath(i.path) || '(top level)'}: ${i.message}`);
    throw new LabError('badScenario', { file, issues });
  }
  const s = result.data;
  const tooBig = s.phases.flatMap((p, i) => {
    const max = p.load && p.load.mode !== 'command' ? maxSize(p.load.size) : 0;
    return max > s.relay.maxFrame ? [`phases[${i}].load.size: ${max} bytes exceeds relay.maxFrame (${s.relay.maxFrame})`] : [];
  });
  if (tooBig.length) throw new LabError('badScenario', { file, issues: tooBig });
  return s;
}

export function maxSize(d: SizeDistribution): number {
  return d.dist === 'fixed' ? d.bytes : d.max;
}

/** The --quick form: the scenario's `quick` overrides applied. */
export function applyQuick(s: Scenario): Scenario {
  const q = s.quick;
  if (!q) return s;
  return {
    ...s,
    relay: { ...s.relay, ...q.relay },
    upstream: { ...s.upstream, ...q.upstream },
    connections: q.connections ?? s.connections,
    phases: s.phases.map((p) => ({ ...p, ...(p.base ? q.phases[p.base] : undefined), ...q.phases[p.name] })),
    target: s.target && q.target ? { ...s.target, ...q.target } : s.target,
  };
}

/** One scenario per arm (`<name>-<arm>`, the arm's relay settings applied), or the
 * scenario itself when it has no arms. */
export function expandArms(s: Scenario): Scenario[] {
  if (!s.arms) return [s];
  return s.arms.map((a) => ({
    ...s,
    name: `${s.name}-${a.name}`,
    description: a.description || s.description,
    relay: { ...s.relay, ...a.relay },
    arms: undefined,
  }));
}

export function listScenarioNames(): string[] {
  if (!existsSync(SCENARIOS_DIR)) return [];
  return readdirSync(SCENARIOS_DIR)
    .filter((f) => /\.(ts|json)$/.test(f) && !f.endsWith('.d.ts') && !f.startsWith('_'))
    .map((f) => basename(f, extname(f)))
    .filter((n) => n !== 'ceilings')
    .sort();
}

/** Loads a scenario by name (scenarios/<name>.ts) or by path. */
export async function loadScenario(nameOrPath: string): Promise<{ scenario: Scenario; file: string }> {
  const looksLikePath = /[/\\]/.test(nameOrPath) || /\.(ts|js|mjs|json)$/.test(nameOrPath);
  let file: string;
  if (looksLikePath) {
    file = resolve(nameOrPath);
    if (!existsSync(file)) throw new LabError('scenarioLoad', { file: nameOrPath, reason: 'no such file' });
  } else {
    const candidates = ['.ts', '.json'].map((ext) => join(SCENARIOS_DIR, nameOrPath + ext));
    const found = candidates.find((c) => existsSync(c));
    if (!found) throw new LabError('unknownScenario', { name: nameOrPath, valid: listScenarioNames() });
    file = found;
  }
  let raw: unknown;
  try {
    if (file.endsWith('.json')) raw = JSON.parse(readFileSync(file, 'utf8'));
    else raw = (await importModule(file)).default;
  } catch (err) {
    throw new LabError('scenarioLoad', { file, reason: (err as Error).message });
  }
  if (raw === undefined) throw new LabError('scenarioLoad', { file, reason: 'the file has no default export' });
  return { scenario: parseScenario(raw, file), file };
}
