// Growth profiles, the I/O part: which allocator can profile and the environment that
// turns its heap profiler on, heap dumps through a control channel (the relay's admin port,
// or a target's probe: any `profile-dump <path>` command; the one before a release once
// nothing is in flight), jeprof / google-pprof run on two dumps to get the symbolized diff,
// its collapsed stacks and the growth table, each trial's growth.json, and the summary
// row's profile status (for a run and for `lab merge`).
// Independent of the relay: a target passes its own binary and its own send function.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { LabError } from '../core/errors.js';
import type { Allocator, GrowthSite, ProfileStatus, SummaryRow, TraceEvent } from '../core/types.js';
import { growthFromStacks, medianGrowth, parseCollapsed, parseProfileText } from '../analysis/growth.js';

export interface Profiler {
  allocator: Allocator;
  /** The symbolizer: jeprof (jemalloc) or google-pprof (gperftools). */
  tool: string;
  /** The Debian package that ships the tool. */
  pkg: string;
  /** What the allocator does when asked for a dump. */
  dumpCall: string;
  /** Environment that turns the heap profiler on, merged over the variant's own. */
  env(dir: string, base: Record<string, string>): Record<string, string>;
}

/** jemalloc samples one allocation per 2^LG_PROF_SAMPLE bytes on average (its default, 19 =
 * 512 KiB); `npm run bench -- profile` measures the cost (docs/profiles.md). */
export const LG_PROF_SAMPLE = 19;
/** tcmalloc's sampling interval in bytes, the same 512 KiB. */
export const TCMALLOC_SAMPLE = 2 ** LG_PROF_SAMPLE;

const PROFILERS: Partial<Record<Allocator, Profiler>> = {
  jemalloc: {
    allocator: 'jemalloc', tool: 'jeprof', pkg: 'libjemalloc-dev', dumpCall: 'mallctl("prof.dump")',
    env: (_dir, base) => ({
      MALLOC_CONF: [base.MALLOC_CONF, `prof:true,prof_active:true,lg_prof_sample:${LG_PROF_SAMPLE}`].filter(Boolean).join(','),
    }),
  },
  tcmalloc: {
    // tcmalloc's own sampled heap (GetHeapSample), one allocation per TCMALLOC_SAMPLE_PARAMETER
    // bytes on average. Not gperftools' heap profiler (HEAPPROFILE): that one records every
    // allocation and cut the relay's throughput about tenfold (docs/profiles.md); the relay's
    // profile-dump still uses it when HEAPPROFILE is set by hand.
    allocator: 'tcmalloc', tool: 'google-pprof', pkg: 'google-perftools', dumpCall: 'MallocExtension::GetHeapSample()',
    env: () => ({ TCMALLOC_SAMPLE_PARAMETER: String(TCMALLOC_SAMPLE) }),
  },
};

const UNSUPPORTED: Partial<Record<Allocator, string>> = {
  glibc: 'glibc malloc has no heap profiler (profile the jemalloc or tcmalloc variant)',
  mimalloc: 'mimalloc has no heap profiler (profile the jemalloc or tcmalloc variant)',
};

/** The allocator's profiler, or why it has none. */
export function profilerFor(allocator: Allocator | string | null): Profiler | { unsupported: string } {
  if (allocator === null) return { unsupported: 'an as-built target: profiles come with a jemalloc or tcmalloc variant' };
  return (PROFILERS as Record<string, Profiler | undefined>)[allocator]
    ?? { unsupported: (UNSUPPORTED as Record<string, string | undefined>)[allocator] ?? `${allocator} has no heap profiler` };
}

/** Throws LabError('missingTool') (exit 3) naming the package when the symbolizer is absent. */
export async function requireProfilerTool(p: Profiler): Promise<void> {
  const r = await execa('sh', ['-c', 'command -v "$1"', 'sh', p.tool], { reject: false });
  if (r.exitCode !== 0) throw new LabError('missingTool', { tool: `${p.tool} (for --profile on ${p.allocator})`, install: `sudo apt-get install ${p.pkg}` });
}

/** Sends one control command and resolves with its JSON reply (an AdminClient, a probe). */
export type SendCommand = (command: string) => Promise<Record<string, unknown>>;

export type DumpEvent = Extract<TraceEvent, { type: 'profile' }>;

/** How long the pre-release dump waits for the subject's in-flight requests to finish. */
export const QUIET_TIMEOUT_MS = 15_000;
const QUIET_POLL_MS = 25;

/** What the subject had in flight when the pre-release dump was taken. */
export interface Quiet {
  /** Requests and responses the subject still held at the dump (the relay's
   * live_request_count + live_response_count); null when it does not count them (a target). */
  inFlight: number | null;
  waitedMs: number;
  /** The wait ended at QUIET_TIMEOUT_MS with requests still in flight. */
  timedOut: boolean;
}

/** Waits until the subject reports nothing in flight (its `stats-counters` reply), for at
 * most `timeoutMs`: a dump taken while requests are in flight counts their buffers as
 * growth. A subject that does not report in-flight counts is not waited for. */
export async function waitQuiet(send: SendCommand, timeoutMs = QUIET_TIMEOUT_MS): Promise<Quiet> {
  const t0 = performance.now();
  for (;;) {
    const r = await send('stats-counters');
    const req = r.live_request_count;
    if (typeof req !== 'number') return { inFlight: null, waitedMs: 0, timedOut: false };
    const inFlight = req + (typeof r.live_response_count === 'number' ? r.live_response_count : 0);
    const waitedMs = Math.round(performance.now() - t0);
    if (inFlight === 0 || waitedMs >= timeoutMs) return { inFlight, waitedMs, timedOut: inFlight > 0 };
    await new Promise((resolve) => setTimeout(resolve, QUIET_POLL_MS));
  }
}

/** Asks the process for a heap dump at `path` (absolute): `profile-dump <path>`. The dump
 * before a release is taken once nothing is in flight (waitQuiet); the event records the wait. */
export async function dumpProfile(send: SendCommand, path: string, phase: string, tMs: number, beforeRelease: boolean): Promise<DumpEvent> {
  let quiet: Quiet | undefined;
  let t0 = performance.now();
  try {
    if (beforeRelease) {
      quiet = await waitQuiet(send);
      t0 = performance.now();
    }
    const r = await send(`profile-dump ${path}`);
    const ms = Math.round((performance.now() - t0) * 10) / 10;
    const q = quiet ? { quiet } : {};
    if (r.ok === true && existsSync(path)) return { type: 'profile', tMs, phase, path, ok: true, ms, beforeRelease, ...q };
    return { type: 'profile', tMs, phase, path, ok: false, ms, beforeRelease, ...q, error: r.ok === true ? `${path} was not written` : String(r.error) };
  } catch (err) {
    return { type: 'profile', tMs, phase, path, ok: false, ms: null, beforeRelease, ...(quiet ? { quiet } : {}), error: (err as Error).message };
  }
}

/** The two dumps a growth profile subtracts: the end of the first phase (baseline), and the
 * last one taken before the first release (else the last one taken). */
export function growthPair(dumps: DumpEvent[]): { base: DumpEvent; end: DumpEvent } | { error: string } {
  const ok = dumps.filter((d) => d.ok);
  const base = ok[0];
  if (!base) return { error: dumps.length ? `no heap dump was written: ${dumps[0]!.error}` : 'no heap dump was taken' };
  const firstRelease = ok.findIndex((d) => d.beforeRelease);
  const end = firstRelease > 0 ? ok[firstRelease]! : ok[ok.length - 1]!;
  if (end === base) return { error: 'only one heap dump was written: a growth profile needs two' };
  return { base, end };
}

export interface TrialGrowth {
  growth: GrowthSite[];
  grownBytes: number;
  /** The net change between the dumps (can be negative). */
  netBytes: number;
  files: { text: string; collapsed: string; objects: string };
  symbolizeMs: number;
  /** What was in flight at the end dump (set by the caller from its DumpEvent). */
  quiet?: Quiet | null;
}

async function runTool(p: Profiler, args: string[]): Promise<string> {
  const r = await execa(p.tool, args, { reject: false, all: false, timeout: 120_000 });
  if (r.exitCode !== 0) throw new Error(`${p.tool} ${args.join(' ')} exited ${r.exitCode}: ${(r.stderr ?? '').split('\n').slice(-5).join('\n')}`);
  return r.stdout;
}

/** Runs the symbolizer on the pair against `binary` (the program that wrote the dumps):
 * --text (diff.txt, for people), --collapsed in bytes (collapsed.txt, for flame graph
 * tools) and in objects (collapsed-objects.txt); the growth table comes from the collapsed
 * stacks (growthFromStacks: inlined std:: helpers fold into their caller). */
export async function symbolizeGrowth(p: Profiler, binary: string, base: string, end: string, outDir: string, top = 10): Promise<TrialGrowth> {
  mkdirSync(outDir, { recursive: true });
  const t0 = performance.now();
  const common = [`--base=${base}`, binary, end];
  const [text, collapsed, objects] = await Promise.all([
    runTool(p, ['--text', '--show_bytes', '--inuse_space', ...common]),
    runTool(p, ['--collapsed', '--show_bytes', '--inuse_space', ...common]),
    runTool(p, ['--collapsed', '--inuse_objects', ...common]),
  ]);
  const symbolizeMs = Math.round(performance.now() - t0);
  const files = { text: join(outDir, 'diff.txt'), collapsed: join(outDir, 'collapsed.txt'), objects: join(outDir, 'collapsed-objects.txt') };
  writeFileSync(files.text, text);
  writeFileSync(files.collapsed, collapsed);
  writeFileSync(files.objects, objects);
  const stacks = parseCollapsed(collapsed);
  const net = parseProfileText(text).total;  // also checks that the tool produced a profile
  // --text has no "Total:" line when the net change is exactly 0: the collapsed stacks must agree.
  const stackSum = stacks.reduce((a, x) => a + x.value, 0);
  if (net === 0 && stackSum !== 0) throw new Error(`${p.tool} --text reported a net change of 0 for ${end} (no "Total:" line), but its --collapsed stacks sum to ${stackSum} B`);
  const g = growthFromStacks(stacks, parseCollapsed(objects), top);
  return { growth: g.sites, grownBytes: g.grownBytes, netBytes: net, files, symbolizeMs };
}

/** A trial's growth as kept in its profile folder (growth.json), or why it has none: what
 * `lab merge` recomputes a row's growth from. */
export type TrialGrowthFile = Omit<TrialGrowth, 'files'> | { error: string };

export function writeTrialGrowth(dir: string, g: TrialGrowth | { error: string }): void {
  const { files: _files, ...kept } = g as TrialGrowth;
  writeFileSync(join(dir, 'growth.json'), JSON.stringify('error' in g ? { error: g.error } : kept, null, 2) + '\n');
}

/** The growth.json of a trial's profile folder; an error when it is missing (a run of an
 * older leak-lab, or a trial that did not complete). */
export function readTrialGrowth(dir: string): TrialGrowthFile {
  const path = join(dir, 'growth.json');
  if (!existsSync(path)) return { error: `${path} is missing` };
  return JSON.parse(readFileSync(path, 'utf8')) as TrialGrowthFile;
}

/** The row with its profile status and its growth table (median over the profiled trials).
 * `g` holds the trials' growth and the errors of those that have none. */
export function withGrowthProfile(row: SummaryRow, g: { trials: Array<Omit<TrialGrowth, 'files'>>; errors: string[] } | undefined, runDir: string, scenario: string): SummaryRow {
  const p = profilerFor(row.allocator);
  let profile: ProfileStatus;
  if (!('tool' in p)) profile = { status: 'unsupported', reason: p.unsupported };
  else if (!g || g.trials.length === 0) profile = { status: 'failed', reason: g?.errors.join('; ') || 'no complete trial' };
  else {
    const grown = [...g.trials.map((x) => x.grownBytes)].sort((a, b) => a - b);
    profile = { status: 'profiled', tool: p.tool, trials: g.trials.length, grownBytes: grown[grown.length >> 1]!, dir: relative(runDir, join(runDir, 'profiles', scenario)), ...quietOf(g.trials) };
  }
  return { ...row, profile, ...(profile.status === 'profiled' ? { growth: medianGrowth(g!.trials.map((x) => x.growth)) } : {}) };
}

/** The worst pre-release dump over the trials: the most requests still in flight (null when
 * the subject does not count them) and the longest wait for quiet. */
function quietOf(trials: Array<{ quiet?: Quiet | null }>): { inFlightAtDump: number | null; quietWaitMs: number | null } {
  const q = trials.map((t) => t.quiet).filter((x): x is Quiet => Boolean(x));
  const counted = q.map((x) => x.inFlight).filter((x): x is number => x !== null);
  return { inFlightAtDump: counted.length ? Math.max(...counted) : null, quietWaitMs: q.length ? Math.max(...q.map((x) => x.waitedMs)) : null };
}
