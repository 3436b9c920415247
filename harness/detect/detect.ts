// lab detect: the same small scenario run once natively (the lab's own verdict) and once
// under each classic leak checker, each relay driven by the real load-generator schedule
// through runTrial; then, per tool, what it reported, whether that finds the leak, and how
// much it slowed the relay down.
import { existsSync, readFileSync } from 'node:fs';
import { execa } from 'execa';
import { buildAsanRelay } from '../tooling/build.js';
import { type Verdict, diagnose } from '../analysis/diagnosis.js';
import { LabError } from '../core/errors.js';
import { summarize, trialMetrics } from '../analysis/metrics.js';
import type { NativeProcess } from '../core/procs.js';
import { runTrial } from '../trial/runner.js';
import type { Launch } from '../subjects/subject.js';
import { checkedSubject } from '../subjects/index.js';
import { type Scenario, applyQuick } from '../scenario/scenario.js';
import { type DumpEvent, type Trace } from '../core/types.js';
import { type Variant, findVariant } from '../allocators/variants.js';
import { type ToolReport, parseHeapCheck, parseLsan, parseMemcheck } from './parse.js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PROFILE_GROWTH_FLOOR } from '../analysis/profile-verdict.js';
import { formatBinary } from '../analysis/growth.js';
import { growthPair, requireProfilerTool, symbolizeGrowth } from '../run/profile.js';
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
      duration: p.load && p.load.mode !== 'command' && p.load.requests ? k.countPhaseMs : ms(p.duration),
      load: !p.load ? undefined
        : p.load.mode === 'closed'
          ? { ...p.load, requests: undefined, concurrency: Math.min(p.load.concurrency, k.maxConcurrency) }
          : p.load.mode === 'open'
            ? { ...p.load, requests: undefined, rate: Math.min(p.load.rate, k.maxRate), maxInFlight: Math.min(p.load.maxInFlight, k.maxConcurrency) }
            : p.load,
    })),
  };
}

/** found: flagged a leak and the relay did leak; missed: it leaked, nothing flagged;
 * false-alarm: flagged, nothing leaked; clean: neither; no-report: the tool did not report. */
export type Outcome = 'found' | 'missed' | 'false-alarm' | 'clean' | 'no-report';

export interface DetectRow {
  tool: ToolId;
  /** What ran: the relay binary and the tool's switches. */
  how: string;
  status: Trace['status'];
  error: string | null;
  /** null for the native row. */
  report: ToolReport | null;
  /** The native row: the lab's diagnosis of the run. */
  verdict: Verdict | null;
  /** What the relay itself counted as leaked (leak mode's never-erased requests): the truth. */
  relayLeakedBytes: number | null;
  flagged: boolean;
  outcome: Outcome;
  /** The relay's exit (a heap checker exits 1 when it finds leaks). */
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
}

/** The growth profile's variant: --variant when its allocator can profile, else jemalloc. */
function profiledVariant(variant: Variant): { variant: Variant; profiler: Profiler } {
  const own = profilerFor(variant.allocator);
  if ('tool' in own) return { variant, profiler: own };
  const jemalloc = findVariant('jemalloc')!;
  return { variant: jemalloc, profiler: profilerFor('jemalloc') as Profiler };
}

async function requireCommand(tool: string, install: string): Promise<void> {
  const r = await execa('sh', ['-c', 'command -v "$1"', 'sh', tool], { reject: false });
  if (r.exitCode !== 0) throw new LabError('missingTool', { tool, install });
}

/** The native run's variant: --variant, default tcmalloc (the story's allocator). Heap
 * checkers run on relay-tcmalloc with its environment when it is a tcmalloc variant. */
function toolSpec(tool: ToolId, variant: Variant, o: { asanRelay: string | null; dumpDir: string }): ToolSpec {
  const glibc = findVariant('glibc')!;
  const tcmalloc = variant.allocator === 'tcmalloc' ? variant : findVariant('tcmalloc')!;
  switch (tool) {
    case 'native':
      return { variant, launch: {}, how: `relay-${variant.allocator} (${variant.id})`, parse: null };
    case 'memcheck': {
      // memcheck replaces malloc, so the relay's allocator does not matter: relay-glibc.
      const args = ['--tool=memcheck', '--leak-check=full', '--show-leak-kinds=all'];
      return {
        variant: glibc, how: `valgrind ${args.slice(1).join(' ')} relay-glibc`, parse: (t) => parseMemcheck(t),
        launch: { wrapper: { command: 'valgrind', args }, readyTimeoutMs: 60_000, stopGraceMs: 120_000 },
      };
    }
    case 'heapcheck-normal':
    case 'heapcheck-draconian': {
      const mode = tool.slice('heapcheck-'.length);
      return {
        variant: tcmalloc, how: `HEAPCHECK=${mode} relay-tcmalloc`, parse: (t) => parseHeapCheck(t),
        launch: { env: { HEAPCHECK: mode, HEAP_CHECK_DUMP_DIRECTORY: o.dumpDir }, readyTimeoutMs: 30_000, stopGraceMs: 60_000 },
      };
    }
    case 'growth-profile': {
      const { variant: v, profiler } = profiledVariant(variant);
      return {
        variant: v, profiler, parse: null, launch: {},
        how: `relay-${v.allocator} (${v.id}) with ${Object.entries(profiler.env(o.dumpDir, v.env)).map(([k, x]) => `${k}=${x}`).join(' ')}, dumps at phase ends, ${profiler.tool} --base`,
      };
    }
    case 'lsan':
      // ASan (and so LSan) replaces malloc too: the relay-glibc sources, built with clang.
      return {
        variant: glibc, how: 'relay-glibc built with clang -fsanitize=address (LeakSanitizer)', parse: parseLsan,
        launch: { binary: o.asanRelay ?? '', env: { ASAN_OPTIONS: 'detect_leaks=1' }, readyTimeoutMs: 30_000, stopGraceMs: 60_000 },
      };
  }
}

/** Checks (and builds) what the chosen tools need; a missing tool throws with its install command. */
export async function prepareTools(tools: readonly ToolId[], log: (line: string) => void, variant: Variant = findVariant('tcmalloc')!): Promise<{ asanRelay: string | null }> {
  if (tools.includes('memcheck')) await requireCommand('valgrind', 'sudo apt-get install valgrind');
  if (tools.includes('growth-profile')) await requireProfilerTool(profiledVariant(variant).profiler);
  let asanRelay: string | null = null;
  if (tools.includes('lsan')) asanRelay = await buildAsanRelay(log);
  return { asanRelay };
}

export interface DetectOptions {
  scenario: Scenario;
  file: string;
  variant: Variant;
  tools: readonly ToolId[];
  seed?: number;
  asanRelay: string | null;
  /** Where the tools' raw output goes (the run folder). */
  writeLog: (name: string, text: string) => void;
  dumpDir: string;
  signal: AbortSignal;
  /** Extra relay flags for every run (e.g. --leak-rate, for a scenario schema without it). */
  relayExtraArgs?: string[];
  onStart?: (tool: ToolId, how: string) => void;
  onDone?: (row: DetectRow) => void;
}

export async function runDetect(o: DetectOptions): Promise<DetectResult> {
  const startedAt = new Date().toISOString();
  const scaled = scaleForDetect(o.scenario);
  const seed = o.seed ?? scaled.seed;
  const tools: ToolId[] = ['native', ...o.tools.filter((t) => t !== 'native')];
  const rows: DetectRow[] = [];
  for (const tool of tools) {
    if (o.signal.aborted) break;
    const row = await runTool(o, tool, scaled, seed);
    rows.push(row);
    o.onDone?.(row);
  }
  const native = rows.find((r) => r.tool === 'native');
  for (const r of rows) {
    r.wallSlowdown = native?.wallMs && r.wallMs !== null ? r.wallMs / native.wallMs : null;
    r.rpsSlowdown = native?.rps && r.rps ? native.rps / r.rps : null;
  }
  return {
    scenario: o.scenario.name, file: o.file, variant: o.variant.id, seed, scale: DETECT_SCALE, scaled,
    rows, startedAt, endedAt: new Date().toISOString(),
  };
}

/** One tool's trial: the subject started under it, its output kept in the run folder, its row. */
async function runTool(o: DetectOptions, tool: ToolId, scaled: Scenario, seed: number): Promise<DetectRow> {
  const spec = toolSpec(tool, o.variant, { asanRelay: o.asanRelay, dumpDir: o.dumpDir });
  if (tool === 'lsan' && (!o.asanRelay || !existsSync(o.asanRelay))) throw new LabError('missingTool', { tool: 'the ASan relay', install: 'npm run lab -- detect (builds it) or sudo apt-get install clang libclang-rt-dev' });
  o.onStart?.(tool, spec.how);
  const stderr: string[] = [];
  const times = { spawnedAt: 0, readyAt: null as number | null, exitedAt: null as number | null };
  let relayProc: NativeProcess | undefined;
  const profileDir = join(o.dumpDir, 'growth-profile');
  if (spec.profiler) mkdirSync(profileDir, { recursive: true });
  const { subject, facts } = checkedSubject(scaled, o.file, [spec.variant]);
  const { trace } = await runTrial({
    scenario: scaled, subject, facts, variant: spec.variant, trial: 1, trials: 1, seed, signal: o.signal,
    ...(spec.profiler ? { hooks: [profileHook(profileDir)] } : {}),
    onSample: () => {}, onEvent: () => {},
    launch: {
      ...spec.launch,
      env: { ...spec.launch.env, ...(spec.profiler ? spec.profiler.env(profileDir, spec.variant.env) : {}) },
      extraArgs: o.relayExtraArgs,
      onSpawn: (p) => {
        relayProc = p;
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
    const g = await profileReport(spec.profiler, subject.programFor(spec.variant, facts) ?? '', trace, profileDir);
    growth = g.report;
    text = g.text;
  }
  const logFile = `${tool}.log`;
  o.writeLog(logFile, text);
  const noProfile = { reported: false, definitelyLost: null, indirectlyLost: null, possiblyLost: null, stillReachable: null, leaked: null, headline: 'no growth profile (the run did not complete)' };
  return makeRow(tool, { ...spec, ...(spec.profiler ? { parse: () => growth ?? noProfile } : {}) }, trace, text, relayProc?.exit ?? null, {
    startMs: times.readyAt === null ? null : times.readyAt - times.spawnedAt,
    wallMs: times.exitedAt === null ? null : times.exitedAt - times.spawnedAt,
  }, logFile);
}

function makeRow(tool: ToolId, spec: ToolSpec, trace: Trace, text: string, exit: { code: number | null; signal: string | null } | null,
  times: { startMs: number | null; wallMs: number | null }, logFile: string): DetectRow {
  const metrics = trialMetrics(trace);
  const stats = trace.samples.filter((s) => s.source === 'stats' && s.leakedRequestBytes !== null);
  const relayLeakedBytes = stats.at(-1)?.leakedRequestBytes ?? null;
  const exitedNormally = exit !== null && exit.signal === null;
  const report = spec.parse ? spec.parse(text, exitedNormally) : null;
  const verdict = tool === 'native' && trace.status === 'complete' ? diagnose(summarize([trace], [metrics])) : null;
  const flagged = verdict ? verdict.kind === 'leak' : (report?.leaked?.bytes ?? 0) > 0;
  const reported = tool === 'native' ? verdict !== null : report?.reported === true;
  const leaked = (relayLeakedBytes ?? 0) > 0;
  const outcome: Outcome = !reported ? 'no-report' : flagged ? (leaked ? 'found' : 'false-alarm') : (leaked ? 'missed' : 'clean');
  const loadPhases = trace.phases.filter((p) => p.sent > 0);
  const served = trace.phases.reduce((n, p) => n + p.completed, 0);
  const loadMs = loadPhases.reduce((n, p) => n + p.durationMs, 0);
  return {
    tool, how: spec.how, status: trace.status, error: trace.error ?? null, report, verdict, relayLeakedBytes, flagged, outcome,
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
