// lab detect: the same small scenario run once natively (the lab's own verdict) and once
// under each classic leak checker, each relay driven by the real load-generator schedule
// through runTrial; then, per tool, what it reported, whether that finds the leak, and how
// much it slowed the relay down.
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { execa } from 'execa';
import { type Verdict, diagnose } from '../analysis/diagnosis.js';
import { summarize, trialMetrics } from '../analysis/metrics.js';
import type { NativeProcess } from '../core/procs.js';
import { runTrial } from '../trial/runner.js';
import type { Launch, SubjectFacts, SubjectKind, TrialHook } from '../subjects/subject.js';
import { subjectFor } from '../subjects/index.js';
import { type Scenario, applyQuick } from '../scenario/scenario.js';
import { type DumpEvent, type Trace } from '../core/types.js';
import { type Variant, findVariant } from '../allocators/variants.js';
import { type ToolReport, parseHeapCheck, parseLsan, parseMemcheck } from './parse.js';
import { join } from 'node:path';
import { PROFILE_GROWTH_FLOOR } from '../analysis/profile-verdict.js';
import { formatBinary } from '../analysis/growth.js';
import { growthPair, symbolizeGrowth } from '../run/profile.js';
import { profileHook } from '../trial/profile-dump.js';
import { type Profiler, profilerFor } from '../allocators/registry.js';

export const TOOLS = ['native', 'memcheck', 'heapcheck-normal', 'heapcheck-draconian', 'lsan', 'growth-profile'] as const;
export type ToolId = (typeof TOOLS)[number];

/** How `lab detect` shrinks a scenario: its --quick form, then every phase and the
 * upstream delay x durationFactor (at least minPhaseMs), and the load capped, so that a
 * memcheck run takes about a minute. The in-flight memory stays above the verdict floors
 * (harness/analysis/diagnosis.ts) for the native run. */
export const DETECT_SCALE = {
  durationFactor: 0.5,
  minPhaseMs: 250,
  /** Closed load: concurrent requests; open load: requests in flight. */
  maxConcurrency: 128,
  /** Open load: requests per second. */
  maxRate: 2000,
  maxConnections: 32,
  /** A phase sized by request count (leak) runs timed here, this long: under memcheck the
   * relay is far too slow for the count, and every tool runs the same shape. 3 s: at 1.5 s a
   * loaded 2-core machine leaked 8.9 MiB, under the 32 MiB floor. */
  countPhaseMs: 3000,
} as const;

export function scaleForDetect(s: Scenario): Scenario {
  const q = applyQuick(s);
  const k = DETECT_SCALE;
  const ms = (v: number) => Math.max(k.minPhaseMs, Math.round(v * k.durationFactor));
  const delay = typeof q.upstream.delay === 'number'
    ? Math.round(q.upstream.delay * k.durationFactor)
    : { min: Math.round(q.upstream.delay.min * k.durationFactor), max: Math.round(q.upstream.delay.max * k.durationFactor) };
  return {
    ...q,
    upstream: { ...q.upstream, delay },
    connections: Math.min(q.connections, k.maxConnections),
    phases: q.phases.map((p) => ({
      ...p,
      // A phase that lasts until its load command exits keeps its limit: a tool slows the
      // subject, and the command's own work sets the phase's length.
      duration: p.load?.mode === 'command' && p.load.until === 'exit' ? p.duration
        : p.load && p.load.mode !== 'command' && p.load.requests ? k.countPhaseMs : ms(p.duration),
      load: !p.load ? undefined
        : p.load.mode === 'closed'
          ? { ...p.load, requests: undefined, concurrency: Math.min(p.load.concurrency, k.maxConcurrency) }
          : p.load.mode === 'open'
            ? { ...p.load, requests: undefined, rate: Math.min(p.load.rate, k.maxRate), maxInFlight: Math.min(p.load.maxInFlight, k.maxConcurrency) }
            : p.load,
    })),
  };
}

/** found: flagged a leak and the program did leak; missed: it leaked, nothing flagged;
 * false-alarm: flagged, nothing leaked; clean: neither; no-report: the tool did not report;
 * unknown: the tool reported, but the program's own count of what it leaked is not known
 * (a user's server: no ground truth); not-run: the tool could not run on this subject. */
export type Outcome = 'found' | 'missed' | 'false-alarm' | 'clean' | 'no-report' | 'unknown' | 'not-run';

export interface DetectRow {
  tool: ToolId;
  /** What ran: the subject, its variant and the tool's switches; or why the tool could not run. */
  how: string;
  status: Trace['status'] | 'not-run';
  error: string | null;
  /** null for the native row. */
  report: ToolReport | null;
  /** The native row: the lab's diagnosis of the run. */
  verdict: Verdict | null;
  /** What the program itself counted as leaked (the relay's never-erased requests, a
   * target's `truth` command): the truth the tools are judged by; null when unknown. */
  leakedBytes: number | null;
  flagged: boolean;
  outcome: Outcome;
  /** The subject's exit (a heap checker exits 1 when it finds leaks). */
  exit: string | null;
  peakRssBytes: number | null;
  retainedRssBytes: number | null;
  /** From spawn to ready, and from spawn to exit (the tool's check at exit included). */
  startMs: number | null;
  wallMs: number | null;
  requestsServed: number;
  rps: number | null;
  /** tool wall / native wall, and native rps / tool rps (x times slower). */
  wallSlowdown: number | null;
  rpsSlowdown: number | null;
  /** The tool's raw output, in the run folder. */
  logFile: string | null;
}

export interface DetectResult {
  scenario: string;
  file: string;
  /** How the subject is named ("the built-in relay", "target /usr/sbin/x"). */
  subject: string;
  variant: string;
  seed: number;
  scale: typeof DETECT_SCALE;
  /** The scenario as run (scaled). */
  scaled: Scenario;
  rows: DetectRow[];
  startedAt: string;
  endedAt: string;
}

interface ToolSpec {
  variant: Variant;
  launch: Launch;
  how: string;
  parse: ((text: string, exitedNormally: boolean) => ToolReport) | null;
  /** growth-profile: the trial runs with heap dumps, symbolized after it by this profiler. */
  profiler?: Profiler;
  /** Ask the subject for the tool's leak check before it is stopped (a subject stopped by a
   * signal never reaches the check at exit): its control channel's `leak-check`. */
  checkBeforeStop?: boolean;
}

/** Where Debian's clang puts the AddressSanitizer runtime, which carries LeakSanitizer and
 * can be preloaded into a program that was not built with it (Debian ships no standalone
 * LeakSanitizer shared object). */
const ASAN_RUNTIME_GLOB = /^libclang_rt\.asan-x86_64\.so$/;

export function asanRuntime(): string | null {
  for (const base of ['/usr/lib']) {
    let llvms: string[] = [];
    try {
      llvms = readdirSync(base).filter((d) => /^llvm-\d+$/.test(d)).sort().reverse();
    } catch {
      continue;
    }
    for (const l of llvms) {
      const clang = join(base, l, 'lib', 'clang');
      for (const v of safeList(clang)) {
        const dir = join(clang, v, 'lib', 'linux');
        const hit = safeList(dir).find((f) => ASAN_RUNTIME_GLOB.test(f));
        if (hit) return join(dir, hit);
      }
    }
  }
  return null;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** The growth profile's variant: --variant when its allocator can profile, else jemalloc. */
function profiledVariant(variant: Variant): { variant: Variant; profiler: Profiler } {
  const own = profilerFor(variant.allocator);
  if ('tool' in own) return { variant, profiler: own };
  const jemalloc = findVariant('jemalloc')!;
  return { variant: jemalloc, profiler: profilerFor('jemalloc') as Profiler };
}

async function commandMissing(tool: string, pkg: string): Promise<string | null> {
  const r = await execa('sh', ['-c', 'command -v "$1"', 'sh', tool], { reject: false });
  return r.exitCode === 0 ? null : `${tool} is not installed (sudo apt-get install ${pkg})`;
}

/** What each tool needs and why it cannot run here, or null: checked before anything runs,
 * so a tool that cannot run is a row that says why, not a failed run. */
export async function toolObstacle(tool: ToolId, kind: SubjectKind, facts: SubjectFacts, variant: Variant): Promise<string | null> {
  const preloads = tool === 'lsan' || tool.startsWith('heapcheck') || tool === 'growth-profile';
  if (tool !== 'native' && facts.staticBinary) return `${facts.program ?? 'the program'} is statically linked: ${tool === 'memcheck' ? 'valgrind cannot replace its malloc' : 'nothing can be preloaded into it'}`;
  if (preloads && !kind.variantApplies((tool === 'growth-profile' ? profiledVariant(variant).variant : findVariant('tcmalloc')!).id)) return `${kind.description} cannot take the preload it needs`;
  if (tool === 'memcheck') return commandMissing('valgrind', 'valgrind');
  if (tool === 'lsan') return asanRuntime() ? null : 'the AddressSanitizer runtime (LeakSanitizer) is not installed (sudo apt-get install libclang-rt-dev)';
  if (tool === 'growth-profile') {
    const p = profiledVariant(variant).profiler;
    return commandMissing(p.tool, p.pkg);
  }
  return null;
}

/** How each tool runs, on any kind of subject: memcheck wraps the program as it is built
 * (no probe: valgrind replaces malloc); LeakSanitizer is the AddressSanitizer runtime
 * preloaded; the heap checker is gperftools' tcmalloc (preloaded, or linked into the relay)
 * with HEAPCHECK; the growth profile is a profiling allocator's heap dumps. */
function toolSpec(tool: ToolId, kind: SubjectKind, variant: Variant, dumpDir: string): ToolSpec {
  const plain = kind.plainVariant();
  const tcmalloc = variant.allocator === 'tcmalloc' ? variant : findVariant('tcmalloc')!;
  const on = (v: Variant) => `${kind.description} (${v.id})`;
  switch (tool) {
    case 'native':
      return { variant, launch: {}, how: on(variant), parse: null };
    case 'memcheck': {
      const args = ['--tool=memcheck', '--leak-check=full', '--show-leak-kinds=all'];
      return {
        variant: plain, how: `valgrind ${args.slice(1).join(' ')} ${on(plain)}`, parse: (t) => parseMemcheck(t),
        launch: { wrapper: { command: 'valgrind', args }, noProbe: true, readyTimeoutMs: 60_000, stopGraceMs: 120_000 },
      };
    }
    case 'heapcheck-normal':
    case 'heapcheck-draconian': {
      const mode = tool.slice('heapcheck-'.length);
      return {
        variant: tcmalloc, how: `HEAPCHECK=${mode} ${on(tcmalloc)}`, parse: (t) => parseHeapCheck(t), checkBeforeStop: true,
        launch: { env: { HEAPCHECK: mode, HEAP_CHECK_DUMP_DIRECTORY: dumpDir }, readyTimeoutMs: 30_000, stopGraceMs: 60_000 },
      };
    }
    case 'growth-profile': {
      const { variant: v, profiler } = profiledVariant(variant);
      return {
        variant: v, profiler, parse: null, launch: { env: profiler.env(dumpDir, v.env) },
        how: `${on(v)} with ${Object.entries(profiler.env(dumpDir, v.env)).map(([k, x]) => `${k}=${x}`).join(' ')}, dumps at phase ends, ${profiler.tool} --base`,
      };
    }
    case 'lsan':
      return {
        variant: plain, how: `${on(plain)} with the AddressSanitizer runtime preloaded (LeakSanitizer)`, parse: parseLsan, checkBeforeStop: true,
        launch: { preload: [asanRuntime() ?? ''], env: { ASAN_OPTIONS: 'detect_leaks=1:verify_asan_link_order=0', LSAN_OPTIONS: 'fast_unwind_on_malloc=0' }, readyTimeoutMs: 30_000, stopGraceMs: 60_000 },
      };
  }
}

export interface DetectOptions {
  scenario: Scenario;
  file: string;
  variant: Variant;
  tools: readonly ToolId[];
  seed?: number;
  /** Where the tools' raw output goes (the run folder). */
  writeLog: (name: string, text: string) => void;
  dumpDir: string;
  signal: AbortSignal;
  onStart?: (tool: ToolId, how: string) => void;
  onDone?: (row: DetectRow) => void;
}

export async function runDetect(o: DetectOptions): Promise<DetectResult> {
  const startedAt = new Date().toISOString();
  const scaled = scaleForDetect(o.scenario);
  const seed = o.seed ?? scaled.seed;
  const kind = subjectFor(scaled, o.file);
  const tools: ToolId[] = ['native', ...o.tools.filter((t) => t !== 'native')];
  const rows: DetectRow[] = [];
  for (const tool of tools) {
    if (o.signal.aborted) break;
    const row = await runTool(o, tool, kind, scaled, seed);
    rows.push(row);
    o.onDone?.(row);
  }
  const native = rows.find((r) => r.tool === 'native');
  for (const r of rows) {
    r.wallSlowdown = native?.wallMs && r.wallMs !== null ? r.wallMs / native.wallMs : null;
    r.rpsSlowdown = native?.rps && r.rps ? native.rps / r.rps : null;
  }
  return {
    scenario: o.scenario.name, file: o.file, subject: kind.description, variant: o.variant.id, seed, scale: DETECT_SCALE, scaled,
    rows, startedAt, endedAt: new Date().toISOString(),
  };
}

/** A row for a tool that could not run here, saying why. */
function notRun(tool: ToolId, why: string): DetectRow {
  return {
    tool, how: `not run: ${why}`, status: 'not-run', error: null, report: null, verdict: null, leakedBytes: null, flagged: false, outcome: 'not-run',
    exit: null, peakRssBytes: null, retainedRssBytes: null, startMs: null, wallMs: null, requestsServed: 0, rps: null, wallSlowdown: null, rpsSlowdown: null, logFile: null,
  };
}

/** One tool's trial: the subject started under it, its leak check asked for before the
 * stop, the program's own count of what it leaked read, its output kept, its row. */
async function runTool(o: DetectOptions, tool: ToolId, kind: SubjectKind, scaled: Scenario, seed: number): Promise<DetectRow> {
  const spec = toolSpec(tool, kind, o.variant, o.dumpDir);
  const facts = kind.check([spec.variant], { probe: true });
  const obstacle = await toolObstacle(tool, kind, facts, o.variant);
  if (obstacle) return notRun(tool, obstacle);
  o.onStart?.(tool, spec.how);
  const stderr: string[] = [];
  const times = { spawnedAt: 0, readyAt: null as number | null, exitedAt: null as number | null };
  let proc: NativeProcess | undefined;
  const profileDir = join(o.dumpDir, 'growth-profile');
  if (spec.profiler) mkdirSync(profileDir, { recursive: true });
  const truth = { bytes: null as number | null };
  // A tool that replaces malloc runs without the probe: a release would measure nothing there.
  const scenario = spec.launch.noProbe ? { ...scaled, phases: scaled.phases.map((p) => ({ ...p, actions: p.actions.filter((a) => a !== 'release') })) } : scaled;
  const { trace } = await runTrial({
    scenario, subject: kind, facts, variant: spec.variant, trial: 1, trials: 1, seed, signal: o.signal,
    hooks: [...(spec.profiler ? [profileHook(profileDir)] : []), endHook(spec, truth)],
    onSample: () => {}, onEvent: () => {}, workDir: join(o.dumpDir, 'trials', tool),
    launch: {
      ...spec.launch,
      onSpawn: (p) => {
        proc = p;
        times.spawnedAt = performance.now();
        p.onStderr((l) => stderr.push(l));
        p.onJson((l) => { if (l.event === 'ready') times.readyAt ??= performance.now(); });
        void p.exited.then(() => { times.exitedAt = performance.now(); });
      },
    },
  });
  let text = stderr.join('\n') + '\n';
  let growth: ToolReport | null = null;
  if (spec.profiler && trace.status === 'complete') {
    const g = await profileReport(spec.profiler, kind.programFor(spec.variant, facts) ?? '', trace, profileDir);
    growth = g.report;
    text = g.text;
  }
  const logFile = `${tool}.log`;
  o.writeLog(logFile, text);
  const noProfile = { reported: false, definitelyLost: null, indirectlyLost: null, possiblyLost: null, stillReachable: null, leaked: null, headline: 'no growth profile (the run did not complete)' };
  return makeRow(tool, { ...spec, ...(spec.profiler ? { parse: () => growth ?? noProfile } : {}) }, trace, text, proc?.exit ?? null, {
    startMs: times.readyAt === null ? null : times.readyAt - times.spawnedAt,
    wallMs: times.exitedAt === null ? null : times.exitedAt - times.spawnedAt,
  }, logFile, truth.bytes);
}

/** At the end of the phases, before the stop: the tool's leak check asked for through the
 * control channel (a subject stopped by a signal never reaches the one at exit), and the
 * program's own count of what it leaked. */
function endHook(spec: ToolSpec, truth: { bytes: number | null }): TrialHook {
  return {
    end: async (ctx) => {
      if (spec.checkBeforeStop && ctx.subject.control) {
        await ctx.subject.control.command('leak-check', 120_000).catch(() => undefined);
      }
      truth.bytes = await ctx.subject.leakedBytes().catch(() => null);
    },
  };
}

function makeRow(tool: ToolId, spec: ToolSpec, trace: Trace, text: string, exit: { code: number | null; signal: string | null } | null,
  times: { startMs: number | null; wallMs: number | null }, logFile: string, leakedBytes: number | null): DetectRow {
  const metrics = trialMetrics(trace);
  const exitedNormally = exit !== null && exit.signal === null;
  const report = spec.parse ? spec.parse(text, exitedNormally) : null;
  const verdict = tool === 'native' && trace.status === 'complete' ? diagnose(summarize([trace], [metrics])) : null;
  const flagged = verdict ? verdict.kind === 'leak' : (report?.leaked?.bytes ?? 0) > 0;
  const reported = tool === 'native' ? verdict !== null : report?.reported === true;
  const outcome: Outcome = !reported ? 'no-report' : leakedBytes === null ? 'unknown'
    : flagged ? (leakedBytes > 0 ? 'found' : 'false-alarm') : (leakedBytes > 0 ? 'missed' : 'clean');
  const loadPhases = trace.phases.filter((p) => p.sent > 0);
  const served = trace.phases.reduce((n, p) => n + p.completed, 0);
  const loadMs = loadPhases.reduce((n, p) => n + p.durationMs, 0);
  return {
    tool, how: spec.how, status: trace.status, error: trace.error ?? null, report, verdict, leakedBytes, flagged, outcome,
    exit: exit ? (exit.signal ? `killed by ${exit.signal}` : `exit ${exit.code}`) : null,
    peakRssBytes: metrics.peakRss ?? null, retainedRssBytes: metrics.retainedRss ?? null,
    startMs: times.startMs, wallMs: times.wallMs,
    requestsServed: served, rps: loadMs > 0 ? served / (loadMs / 1000) : null,
    wallSlowdown: null, rpsSlowdown: null, logFile,
  };
}

/** The growth profile as a tool report: "leaked" = the growth between the end of the
 * baseline and the point before release when it reaches PROFILE_GROWTH_FLOOR, in the top
 * site's objects; the headline names the site. The text is the symbolized diff. */
async function profileReport(p: Profiler, binary: string, trace: Trace, dir: string): Promise<{ report: ToolReport; text: string }> {
  const none = { definitelyLost: null, indirectlyLost: null, possiblyLost: null, stillReachable: null };
  const pair = growthPair(trace.events.filter((e): e is DumpEvent => e.type === 'profile'));
  if ('error' in pair) return { report: { reported: false, ...none, leaked: null, headline: pair.error }, text: `${pair.error}\n` };
  try {
    const g = await symbolizeGrowth(p, binary, pair.base.path, pair.end.path, dir);
    const top = g.growth[0];
    const flagged = g.grownBytes >= PROFILE_GROWTH_FLOOR && top !== undefined;
    const busy = pair.end.quiet?.timedOut ? `; ${pair.end.quiet.inFlight} requests still in flight at the pre-release dump after ${pair.end.quiet.waitedMs} ms` : '';
    const headline = (top
      ? `${formatBinary(g.grownBytes)} grew between the dumps; top site ${top.site} (${Math.round(top.share * 100)}%)`
      : 'no call site grew between the dumps') + busy;
    const leaked = flagged ? { bytes: g.grownBytes, blocks: g.growth.reduce((n, s) => n + (s.objects ?? 0), 0) } : { bytes: 0, blocks: 0 };
    return { report: { reported: true, ...none, leaked, headline }, text: readFileSync(g.files.text, 'utf8') };
  } catch (err) {
    return { report: { reported: false, ...none, leaked: null, headline: (err as Error).message.split('\n')[0]! }, text: `${(err as Error).message}\n` };
  }
}
