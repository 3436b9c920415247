// Ceilings: upper bounds on summary metrics per scenario, variant (or `*`) and metric, in
// one checked-in file (scenarios/ceilings.ts). Validated like scenarios: nothing is
// checked before every entry is known to name a real scenario, variant and metric with a
// limit in the metric's unit.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { LabError } from '../core/errors.js';
import { METRICS, metricUnit, type MetricUnit } from '../analysis/metrics.js';
import { DURATION_HELP, SIZE_HELP, parseDuration, parseSize } from '../core/units.js';
import { importModule } from '../core/load-module.js';

/** A limit as written: "512MiB" (bytes), "40ms" (times), 0.2 or "20%" (ratios), 3 (counts). */
export type LimitInput = string | number;
/** `{ '<scenario>' | '<scenario> --quick': { '<variant>' | '*': { '<metric>': limit } } }` */
export type CeilingsInput = Record<string, Record<string, Record<string, LimitInput>>>;

/** Identity, for typing: `export default defineCeilings({ ... })`. */
export function defineCeilings(c: CeilingsInput): CeilingsInput {
  return c;
}

export interface Ceiling {
  scenario: string;
  /** Entries keyed `<scenario> --quick` hold --quick runs only; the others full runs only. */
  quick: boolean;
  /** A variant id, or `*` for every variant of the run. */
  variant: string;
  metric: string;
  /** In the metric's base unit: bytes, ms, a fraction, a count. */
  limit: number;
  /** The limit as written in the file. */
  text: string;
}

export interface Ceilings {
  file: string;
  entries: Ceiling[];
}

/** What exists, so that an entry naming something that does not is an error. `phases`
 * (per scenario) checks `p50.<phase>` / `p99.<phase>` where it is known. */
export interface KnownNames {
  scenarios: readonly string[];
  variants: readonly string[];
  /** Remedy ids: a remedied row is named '<variant>+<remedy>' (lab run --remedies). */
  remedies?: readonly string[];
  phases?: Readonly<Record<string, readonly string[]>>;
}

/** A variant id the ceilings may name: a variant, or a variant remedied by a known remedy. */
function knownVariant(known: KnownNames, id: string): boolean {
  if (known.variants.includes(id)) return true;
  const plus = id.indexOf('+');
  return plus > 0 && known.variants.includes(id.slice(0, plus)) && (known.remedies ?? []).includes(id.slice(plus + 1));
}

const shape = z.record(z.string(), z.record(z.string(), z.record(z.string(), z.union([z.number(), z.string()]), {
  errorMap: () => ({ message: 'expected { <metric>: <limit> }' }),
}), { errorMap: () => ({ message: 'expected { <variant or *>: { <metric>: <limit> } }' }) }), {
  errorMap: () => ({ message: 'expected an object { <scenario> | "<scenario> --quick": { <variant or *>: { <metric>: <limit> } } }' }),
});

const SCENARIO_KEY = /^([a-z0-9][a-z0-9-]*)( --quick)?$/;
const PHASE_METRIC = /^(p50|p99|throughput)\.([a-z0-9][a-z0-9-]*)$/;

function formatPath(path: readonly (string | number)[]): string {
  return path.map((p, i) => {
    const s = String(p);
    const plain = /^[A-Za-z_$][\w$]*$/.test(s) || s === '*';
    return plain ? (i === 0 ? s : `.${s}`) : `['${s}']`;
  }).join('');
}

/** Parses a limit in `unit`; a message when it is not one. */
export function parseLimit(value: LimitInput, unit: MetricUnit): number | string {
  switch (unit) {
    case 'bytes':
    case 'bytes/request': {
      const b = typeof value === 'number' ? (Number.isFinite(value) && value >= 0 ? value : undefined) : parseSize(value);
      return b ?? `'${value}' is not a size; expected ${SIZE_HELP}`;
    }
    case 'ms':
      return parseDuration(value) ?? `'${value}' is not a duration; expected ${DURATION_HELP}`;
    case 'ratio': {
      const m = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(value) : null;
      const r = typeof value === 'number' ? value : m ? Number(m[1]) / (m[2] ? 100 : 1) : NaN;
      return Number.isFinite(r) && r >= 0 ? r : `'${value}' is not a ratio; expected a fraction such as 0.2 or a percentage such as "20%"`;
    }
    case 'count': {
      const n = typeof value === 'number' ? value : /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
      return Number.isSafeInteger(n) && n >= 0 ? n : `'${value}' is not a count; expected a whole number such as 3`;
    }
    case 'rps':
      return 'throughput is higher-is-better; a ceiling (an upper bound) cannot guard it';
  }
}

function metricProblem(metric: string, scenario: string, known: KnownNames): string | undefined {
  const phase = PHASE_METRIC.exec(metric);
  if (phase) {
    const phases = known.phases?.[scenario];
    if (phases && !phases.includes(phase[2]!)) return `no phase named '${phase[2]}' in scenario '${scenario}'; phases are ${phases.join(', ')}`;
    return undefined;
  }
  if ((METRICS as readonly string[]).includes(metric)) return undefined;
  return `unknown metric '${metric}'; valid: ${METRICS.join(', ')}, p50.<phase>, p99.<phase>`;
}

/** Validates raw ceilings data against the names that exist; throws
 * LabError('badCeilings') naming the file and every bad field. */
export function parseCeilings(raw: unknown, file: string, known: KnownNames): Ceilings {
  const parsed = shape.safeParse(raw);
  if (!parsed.success) {
    throw new LabError('badCeilings', { file, issues: parsed.error.issues.map((i) => `${formatPath(i.path) || '(top level)'}: ${i.message}`) });
  }
  const issues: string[] = [];
  const entries: Ceiling[] = [];
  for (const [key, variants] of Object.entries(parsed.data)) {
    const m = SCENARIO_KEY.exec(key);
    if (!m) {
      issues.push(`${formatPath([key])}: expected '<scenario>' or '<scenario> --quick' (lower-case letters, digits, dashes)`);
      continue;
    }
    const scenario = m[1]!;
    const quick = Boolean(m[2]);
    if (!known.scenarios.includes(scenario)) {
      issues.push(`${formatPath([key])}: no scenario named '${scenario}'; scenarios are ${known.scenarios.join(', ')}`);
      continue;
    }
    for (const [variant, metrics] of Object.entries(variants)) {
      if (variant !== '*' && !knownVariant(known, variant)) {
        const remedied = known.remedies?.length ? `, or <variant>+<remedy> with a remedy of ${known.remedies.join(', ')}` : '';
        issues.push(`${formatPath([key, variant])}: unknown variant '${variant}'; valid: *, ${known.variants.join(', ')}${remedied}`);
        continue;
      }
      for (const [metric, value] of Object.entries(metrics)) {
        const path = formatPath([key, variant, metric]);
        const problem = metricProblem(metric, scenario, known);
        if (problem) {
          issues.push(`${path}: ${problem}`);
          continue;
        }
        const limit = parseLimit(value, metricUnit(metric));
        if (typeof limit === 'string') issues.push(`${path}: ${limit}`);
        else entries.push({ scenario, quick, variant, metric, limit, text: String(value) });
      }
    }
  }
  if (issues.length) throw new LabError('badCeilings', { file, issues });
  return { file, entries };
}

/** Reads a ceilings file (.ts/.js default export, or .json) without validating it. */
export async function readCeilingsFile(path: string): Promise<{ raw: unknown; file: string }> {
  const file = resolve(path);
  if (!existsSync(file)) throw new LabError('ceilingsLoad', { file: path, reason: 'no such file' });
  let raw: unknown;
  try {
    if (file.endsWith('.json')) raw = JSON.parse(readFileSync(file, 'utf8'));
    else raw = (await importModule(file)).default;
  } catch (err) {
    throw new LabError('ceilingsLoad', { file: path, reason: (err as Error).message });
  }
  if (raw === undefined) throw new LabError('ceilingsLoad', { file: path, reason: 'the file has no default export' });
  return { raw, file };
}
