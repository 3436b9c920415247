// The `target` section of a scenario: a user's own server run in place of the built-in
// relay (docs/targets.md). Its argv, readiness rule, helper processes, release method, and
// the external load commands of its phases; placeholders such as {port} in any of them
// are filled with free loopback ports at run time. Schema and pure checks only.
import { z } from 'zod';
import { argv, duration, env, name } from './fields.js';

/** Placeholders: {port} and any {port<suffix>} ({port2}, {port_admin}) get a free loopback
 * port each (the same value everywhere in one trial); {run_dir} is the trial's folder;
 * {pid} the target's pid (load and release commands only). `{{` and `}}` are literal braces. */
export const PLACEHOLDER_HELP = "{port}, {port<suffix>} (e.g. {port2}, {port_admin}), {run_dir}, {lab_build} (the lab's native build folder), in load and release commands {pid}, and {repetition} (a phase's repetition in a repeated group, 0 outside one); '{{' and '}}' for literal braces";
const PORT_NAME = /^port[a-z0-9_]*$/;
const TOKEN = /\{\{|\}\}|\{([^{}]*)\}/g;

export function isPortPlaceholder(n: string): boolean {
  return PORT_NAME.test(n);
}

/** The placeholder names used in `text`, and the ones that are not valid where `allowPid` says. */
export function placeholdersIn(text: string, allowPid: boolean): { names: string[]; bad: string[] } {
  const names: string[] = [];
  const bad: string[] = [];
  for (const m of text.matchAll(TOKEN)) {
    if (m[1] === undefined) continue;
    const n = m[1];
    if (PORT_NAME.test(n) || n === 'run_dir' || n === 'lab_build' || ((n === 'pid' || n === 'repetition') && allowPid)) names.push(n);
    else bad.push(`{${n}}`);
  }
  // A lone brace that is not part of a token or an escape.
  const rest = text.replace(TOKEN, '');
  if (/[{}]/.test(rest)) bad.push(`a lone '${/[{}]/.exec(rest)![0]}'`);
  return { names, bad };
}

/** `text` with each placeholder replaced by its value (every name must have one). */
export function fillPlaceholders(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(TOKEN, (tok, n: string | undefined) => {
    if (n === undefined) return tok[0]!;
    const v = values[n];
    if (v === undefined) throw new Error(`placeholder {${n}} has no value`);
    return v;
  });
}

const regex = z.string().min(1).refine((r) => {
  try {
    new RegExp(r);
    return true;
  } catch {
    return false;
  }
}, { message: 'not a valid regular expression' });

/** Readiness: a TCP port that accepts connections, or a line on stdout/stderr. */
export const readiness = z.union([
  z.object({ tcp: z.union([z.number().int().min(1).max(65535), z.string()]), timeout: duration.default(15_000) }).strict()
    .transform((r) => ({ kind: 'tcp' as const, port: String(r.tcp), timeoutMs: r.timeout })),
  z.object({ line: regex, stream: z.enum(['stdout', 'stderr']).default('stdout'), timeout: duration.default(15_000) }).strict()
    .transform((r) => ({ kind: 'line' as const, pattern: r.line, stream: r.stream, timeoutMs: r.timeout })),
], { errorMap: () => ({ message: "expected { tcp: '{port}', timeout? } or { line: '<regex>', stream?: 'stdout' | 'stderr', timeout? }" }) });
export type Readiness = z.output<typeof readiness>;

const helper = z.object({
  name,
  command: argv,
  cwd: z.string().optional(),
  env,
  ready: readiness.optional(),
}).strict();

export const RELEASE_METHODS = ['probe', 'command', 'attach'] as const;

const release = z.object({
  method: z.enum(RELEASE_METHODS, { errorMap: () => ({ message: `expected one of ${RELEASE_METHODS.join(', ')}` }) }),
  command: argv.optional(),
  timeout: duration.default(60_000),
}).strict().superRefine((r, ctx) => {
  if (r.method === 'command' && !r.command) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['command'], message: "required when method is 'command': the argv to run, e.g. ['redis-cli', '-p', '{port}', 'memory', 'purge']" });
  if (r.method !== 'command' && r.command) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['command'], message: `only with method 'command' (method is '${r.method}')` });
});

/** What the --quick form of a scenario may replace in its target. */
export const quickTarget = z.object({
  command: argv.optional(),
  env: z.record(z.string(), z.string()).optional(),
  helpers: z.array(helper).optional(),
}).strict();

export const target = z.object({
  command: argv,
  cwd: z.string().optional(),
  env,
  ready: readiness.default({ tcp: '{port}' }),
  /** The port the built-in load generator connects to (servers that speak the lab's protocol). */
  port: z.string().default('{port}'),
  /** Processes started before the target, in order (e.g. the upstream of the lab's relay). */
  helpers: z.array(helper).default([]),
  release: release.default({ method: 'probe' }),
  /** How long the target gets to exit after SIGTERM before SIGKILL. */
  stopGrace: duration.default(3_000),
  /** The program's own count of what it leaked, when it keeps one (the lab's test server
   * does): a command run after the phases whose output's last JSON line holds that many
   * bytes in `field`. `lab detect` judges the leak checkers against it; without it, a
   * target has no ground truth (docs/detect.md). */
  truth: z.object({ command: argv, field: z.string().min(1) }).strict().optional(),
}).strict();
export type Target = z.output<typeof target>;

/** An external load command of one phase: started at the phase start, stopped at its end
 * (`until: 'phase-end'`), or awaited (`until: 'exit'`: the phase lasts until it exits, its
 * duration is then a time limit). */
export const commandLoad = z.object({
  command: argv,
  until: z.enum(['phase-end', 'exit'], { errorMap: () => ({ message: "expected 'phase-end' or 'exit'" }) }).default('phase-end'),
  cwd: z.string().optional(),
  env,
}).strict().transform((l) => ({ mode: 'command' as const, argv: l.command, until: l.until, cwd: l.cwd, env: l.env }));
export type CommandLoad = z.output<typeof commandLoad>;

/** Whether a phase's raw `load` is meant as a command (it names `command` or `until`). */
export function isCommandLoadInput(v: unknown): boolean {
  return typeof v === 'object' && v !== null && ('command' in v || 'until' in v);
}

interface Issue {
  path: (string | number)[];
  message: string;
}

/** Cross-field checks of a scenario with a target: placeholders everywhere, the readiness
 * port named in the command, and load modes that fit together. */
export function checkTarget(t: Target | undefined, phases: ReadonlyArray<{ load?: { mode: string; until?: string } | undefined }>,
  rawLoads: ReadonlyArray<CommandLoad | undefined>): Issue[] {
  const issues: Issue[] = [];
  const check = (text: string, path: (string | number)[], allowPid: boolean) => {
    const { bad } = placeholdersIn(text, allowPid);
    if (bad.length) issues.push({ path, message: `unknown placeholder ${bad.join(', ')}; valid: ${PLACEHOLDER_HELP}` });
  };
  const checkArgv = (a: readonly string[], path: (string | number)[], allowPid: boolean) => a.forEach((x, i) => check(x, [...path, i], allowPid));
  const checkEnv = (e: Record<string, string>, path: (string | number)[], allowPid: boolean) => {
    for (const [k, v] of Object.entries(e)) check(v, [...path, k], allowPid);
  };
  const builtIn = phases.some((p) => p.load && p.load.mode !== 'command');
  if (!t) {
    phases.forEach((p, i) => {
      if (p.load?.mode === 'command') issues.push({ path: ['phases', i, 'load', 'command'], message: 'a load command needs a `target` (the built-in relay is driven by the built-in load generator)' });
    });
    return issues;
  }
  checkArgv(t.command, ['target', 'command'], false);
  checkEnv(t.env, ['target', 'env'], false);
  if (t.cwd) check(t.cwd, ['target', 'cwd'], false);
  t.helpers.forEach((h, i) => {
    checkArgv(h.command, ['target', 'helpers', i, 'command'], false);
    checkEnv(h.env, ['target', 'helpers', i, 'env'], false);
  });
  if (t.release.command) checkArgv(t.release.command, ['target', 'release', 'command'], true);
  if (t.truth) checkArgv(t.truth.command, ['target', 'truth', 'command'], true);
  rawLoads.forEach((l, i) => {
    if (!l) return;
    checkArgv(l.argv, ['phases', i, 'load', 'command'], true);
    checkEnv(l.env, ['phases', i, 'load', 'env'], true);
    if (l.until === 'exit' && builtIn) issues.push({ path: ['phases', i, 'load', 'until'], message: "'exit' cannot be combined with built-in load phases (the load generator's clock drives those phases); use 'phase-end'" });
  });
  const targetText = [...t.command, ...Object.values(t.env), t.cwd ?? ''].join('\u0000');
  const portRef = (ref: string, path: (string | number)[], texts: string) => {
    if (/^\d+$/.test(ref)) return;
    const m = /^\{([^{}]+)\}$/.exec(ref);
    if (!m || !isPortPlaceholder(m[1]!)) {
      issues.push({ path, message: `'${ref}' is not a port: expected a number or a port placeholder such as '{port}'` });
    } else if (!texts.includes(ref)) {
      issues.push({ path, message: `${ref} does not appear in the command or env it belongs to: the program would never listen there` });
    }
  };
  if (t.ready.kind === 'tcp') portRef(t.ready.port, ['target', 'ready', 'tcp'], targetText);
  if (builtIn) portRef(t.port, ['target', 'port'], targetText);
  t.helpers.forEach((h, i) => {
    if (h.ready?.kind === 'tcp') portRef(h.ready.port, ['target', 'helpers', i, 'ready', 'tcp'], [...h.command, ...Object.values(h.env)].join('\u0000'));
  });
  return issues;
}
