// Growth profiles, the I/O part: which allocator can profile and the environment that
// turns its heap profiler on, heap dumps through a control channel (the relay's admin port,
// or a target's probe: any `profile-dump <path>` command), and jeprof / google-pprof run on
// two dumps to get the symbolized diff, its collapsed stacks and the growth table.
// Independent of the relay: a target passes its own binary and its own send function.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { LabError } from '../core/errors.js';
import type { Allocator, GrowthSite, TraceEvent } from '../core/types.js';
import { growthFromStacks, parseCollapsed, parseProfileText } from '../analysis/growth.js';

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

/** Asks the process for a heap dump at `path` (absolute): `profile-dump <path>`. */
export async function dumpProfile(send: SendCommand, path: string, phase: string, tMs: number, beforeRelease: boolean): Promise<DumpEvent> {
  const t0 = performance.now();
  try {
    const r = await send(`profile-dump ${path}`);
    const ms = Math.round((performance.now() - t0) * 10) / 10;
    if (r.ok === true && existsSync(path)) return { type: 'profile', tMs, phase, path, ok: true, ms, beforeRelease };
    return { type: 'profile', tMs, phase, path, ok: false, ms, beforeRelease, error: r.ok === true ? `${path} was not written` : String(r.error) };
  } catch (err) {
    return { type: 'profile', tMs, phase, path, ok: false, ms: null, beforeRelease, error: (err as Error).message };
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
  const net = parseProfileText(text).total;  // also checks that the tool produced a profile
  const g = growthFromStacks(parseCollapsed(collapsed), parseCollapsed(objects), top);
  return { growth: g.sites, grownBytes: g.grownBytes, netBytes: net, files, symbolizeMs };
}
