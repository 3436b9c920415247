// Growth profiles, the symbolizer's part: jeprof / google-pprof run on two heap dumps of a
// trial (trial/profile-dump.ts took them) against the program that wrote them, giving the
// symbolized diff, its collapsed stacks and the growth table. The profilers themselves are
// rows of the allocator registry; a trial's growth.json is results/growth-files.ts.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { LabError } from '../core/errors.js';
import type { DumpEvent } from '../core/types.js';
import { type TrialGrowth, growthFromStacks, parseCollapsed, parseProfileText } from '../analysis/growth.js';
import type { Profiler } from '../allocators/registry.js';

/** Throws LabError('missingTool') (exit 3) naming the package when the symbolizer is absent. */
export async function requireProfilerTool(p: Profiler): Promise<void> {
  const r = await execa('sh', ['-c', 'command -v "$1"', 'sh', p.tool], { reject: false });
  if (r.exitCode !== 0) throw new LabError('missingTool', { tool: `${p.tool} (for --profile on ${p.allocator})`, install: `sudo apt-get install ${p.pkg}` });
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

