// Growth profiles, the pure part: parsing `jeprof`/`pprof --text --base` output into the
// call sites whose live bytes grew between two heap dumps, the median of those tables over
// trials, and the leak forecast (when a growth rate reaches a memory limit). No I/O here:
// harness/run/profile.ts runs the tools and hands their text in.
import { join, relative } from 'node:path';
import { profilerFor } from '../allocators/registry.js';
import type { GrowthSite, ProfileStatus, Quiet, SummaryRow } from '../core/types.js';

export type { GrowthSite } from '../core/types.js';

/** One line of a `--text` profile: a function, its own (flat) and cumulative amounts. */
export interface ProfileLine {
  site: string;
  flat: number;
  cum: number;
}

export interface ProfileText {
  /** The "Total:" line: net bytes (or objects) between the two dumps; can be negative. */
  total: number;
  unit: 'bytes' | 'objects';
  lines: ProfileLine[];
}

const TOTAL = /^Total:\s+(-?[\d.]+)\s+(B|objects)\s*$/;
// "  10485760  84.9%  84.9%  10485760  84.9% leaklab::FrameReader::Feed"
// A percentage: "84.9%", or "nan" / "-inf" / "+inf" (no %) when the total is 0.
const PCT = String.raw`(-?[\d.]+%|nan|[-+]?inf)`;
const LINE = new RegExp(String.raw`^\s*(-?[\d.]+)\s+${PCT}\s+${PCT}\s+(-?[\d.]+)\s+${PCT}\s+(\S.*)$`);

/** Parses the text of `jeprof|google-pprof --text --show_bytes [--inuse_objects]`. Lines
 * that are neither the total nor a table row ("Using local file ...") are skipped. Both
 * tools leave out the "Total:" line when the net change is exactly 0 (their FilterAndPrint
 * prints it only for a non-zero total): output of table rows only (their percentages
 * nan/inf), or nothing at all, is a net change of 0. That is what a drained burst gives
 * when the same sampled objects are live in both dumps, or growth and shrinkage cancel
 * (docs/profiles.md). Anything else with no "Total:" line is not a profile and throws,
 * quoting its start. */
export function parseProfileText(text: string): ProfileText {
  let total: number | null = null;
  let unit: ProfileText['unit'] = 'bytes';
  let other = false;
  const lines: ProfileLine[] = [];
  for (const raw of text.split('\n')) {
    const t = TOTAL.exec(raw);
    if (t) {
      total = Number(t[1]);
      unit = t[2] === 'B' ? 'bytes' : 'objects';
      continue;
    }
    const m = LINE.exec(raw);
    if (m) lines.push({ site: m[6]!.trim(), flat: Number(m[1]), cum: Number(m[4]) });
    else if (total === null && raw.trim() !== '') other = true;
  }
  if (total === null && other) throw new Error(`not a --text profile (no "Total:" line): ${JSON.stringify(text.slice(0, 200))}`);
  return { total: total ?? 0, unit, lines };
}

/** Per site, the median over trials (a trial without the site counts 0), largest first;
 * shares re-taken from the medians. */
export function medianGrowth(trials: GrowthSite[][], top = 10): GrowthSite[] {
  if (trials.length === 0) return [];
  if (trials.length === 1) return trials[0]!.slice(0, top);
  const sites = [...new Set(trials.flatMap((t) => t.map((s) => s.site)))];
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const mid = s.length >> 1;
    return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  };
  const rows = sites.map((site) => {
    const per = trials.map((t) => t.find((s) => s.site === site));
    const objs = per.map((s) => s?.objects ?? null).filter((x): x is number => x !== null);
    return { site, bytes: median(per.map((s) => s?.bytes ?? 0)), objects: objs.length ? median(objs) : null };
  }).filter((r) => r.bytes > 0);
  const sum = rows.reduce((a, r) => a + r.bytes, 0);
  return rows.sort((a, b) => b.bytes - a.bytes).slice(0, top)
    .map((r) => ({ site: r.site, bytes: r.bytes, share: sum > 0 ? r.bytes / sum : 0, objects: r.objects }));
}

/** One line of `--collapsed` output: frames root first, and the amount (bytes or objects). */
export interface Stack {
  frames: string[];
  value: number;
}

/** Parses `jeprof|google-pprof --collapsed` ("root;...;leaf 1234" per line). */
export function parseCollapsed(text: string): Stack[] {
  const out: Stack[] = [];
  for (const line of text.split('\n')) {
    const m = /^(.*\S)\s+(-?\d+(?:\.\d+)?)\s*$/.exec(line);
    if (m) out.push({ frames: m[1]!.split(';'), value: Number(m[2]) });
  }
  return out;
}

/** A collapsed frame's function name, without address, [inline] mark, arguments, template
 * arguments or return type: "std::pair<..> ns::C::f<T>(int)[inline]" -> "ns::C::f". */
export function frameName(frame: string): string {
  let s = frame.replace(/\[inline\]$/, '').replace(/<[0-9a-f]{8,16}>$/, '').replace(/@@[\w.]+$/, '').replace(/\s*\[clone [^\]]*\]/g, '').trim();
  s = s.replace(/\s+const$/, '');
  if (s.endsWith(')')) {
    let depth = 0;
    for (let i = s.length - 1; i >= 0; i--) {
      if (s[i] === ')') depth++;
      else if (s[i] === '(' && --depth === 0) {
        s = s.slice(0, i);
        break;
      }
    }
  }
  let plain = '';
  let depth = 0;
  for (const ch of s) {
    if (ch === '<' && !plain.endsWith('operator')) depth++;
    else if (ch === '>' && depth > 0) depth--;
    else if (depth === 0) plain += ch;
  }
  // The name is the last word (past a return type), with two names that hold a space:
  // "(anonymous namespace)" and "operator new" (a C++ operator's name).
  const parts = plain.trim().replaceAll('(anonymous namespace)', '(anonymous\u0000namespace)').split(' ');
  const last = parts.length > 1 && /(^|::)operator$/.test(parts[parts.length - 2]!) ? parts.slice(-2).join(' ') : parts[parts.length - 1];
  return last?.replaceAll('\u0000', ' ') || frame;
}

/** Frames that are the allocator or the standard library's plumbing, not the program's
 * code: a growth site is the innermost frame that is none of these. `malloc_usable_size` is
 * how nm names jemalloc's unexported operator new. */
const NOT_A_SITE = /^(std::|__gnu_cxx::|__cxx|_M_|__)|^(operator\(\)|operator new(\[\])?|operator delete(\[\])?|malloc|calloc|realloc|free|posix_memalign|aligned_alloc|memalign|valloc|pvalloc|malloc_usable_size|mallocx|rallocx|tc_\w+|je_\w+|_?imalloc\w*|prof_\w+|MallocHook\w*|\(unknown\))$/;

/** The growth site of a stack (frames root first): its innermost frame of the program's own
 * code; the leaf when every frame is plumbing. */
export function siteOf(frames: string[]): string {
  for (let i = frames.length - 1; i >= 0; i--) {
    const name = frameName(frames[i]!);
    if (!NOT_A_SITE.test(name)) return name;
  }
  return frames.length ? frameName(frames[frames.length - 1]!) : '(unknown)';
}

/** Net amount per site over all stacks. */
export function bySite(stacks: Stack[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const s of stacks) {
    const site = siteOf(s.frames);
    m.set(site, (m.get(site) ?? 0) + s.value);
  }
  return m;
}

/** The growth table from the collapsed diffs (bytes, and objects when given): sites whose
 * net live bytes grew, largest first; share = of all sites' positive growth. Sites are
 * found by siteOf, so an allocation inlined into std:: helpers still names its caller. */
export function growthFromStacks(bytes: Stack[], objects: Stack[] | null, top = 10): { sites: GrowthSite[]; grownBytes: number } {
  const b = bySite(bytes);
  const o = objects ? bySite(objects) : null;
  const grown = [...b.entries()].filter(([, v]) => v > 0).sort((x, y) => y[1] - x[1]);
  const sum = grown.reduce((a, [, v]) => a + v, 0);
  return {
    grownBytes: sum,
    sites: grown.slice(0, top).map(([site, v]) => ({ site, bytes: v, share: sum > 0 ? v / sum : 0, objects: o ? Math.max(0, o.get(site) ?? 0) : null })),
  };
}

export interface ForecastInput {
  /** Growth per request served (bytes). */
  bytesPerRequest: number;
  /** Requests per second in production (or the rate measured in the run). */
  rateRps: number;
  /** The memory limit (bytes), e.g. the container's. */
  limitBytes: number;
  /** Where a fresh process starts (its baseline RSS, bytes). */
  startBytes: number;
}

export interface Forecast {
  bytesPerRequest: number;
  rateRps: number;
  limitBytes: number;
  startBytes: number;
  /** Seconds from a fresh start until the limit is reached; null when it never is
   * (no growth) and 0 when the start is already at or above it. */
  secondsToLimit: number | null;
  text: string;
}

/** When RSS reaches the limit: (limit - start) / (bytes per request x rate). */
export function forecast(i: ForecastInput): Forecast {
  const perSecond = i.bytesPerRequest * i.rateRps;
  const secondsToLimit = perSecond <= 0 ? null : Math.max(0, (i.limitBytes - i.startBytes) / perSecond);
  const at = `at ${formatCount(i.rateRps)} req/s the limit of ${formatBinary(i.limitBytes)}`;
  const text = secondsToLimit === null
    ? `${formatBinary(i.bytesPerRequest)}/request: ${at} is never reached`
    : `${formatBinary(i.bytesPerRequest)}/request: ${at} is reached in ${formatDuration(secondsToLimit)}`;
  return { ...i, secondsToLimit, text };
}

/** 1234.5 -> "1,235"; below 10, one decimal. */
export function formatCount(n: number): string {
  return n < 10 && !Number.isInteger(n) ? n.toFixed(1) : Math.round(n).toLocaleString('en-US');
}

/** Bytes with binary units and one decimal (whole numbers lose the ".0"): "1.6 KiB", "16 GiB". */
export function formatBinary(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  const s = u === 0 ? String(Math.round(v)) : v.toFixed(1).replace(/\.0$/, '');
  return `${s} ${units[u]}`;
}

/** Seconds as the two largest units: "1 h 24 min", "3 d 2 h", "45 s", "12 min 5 s". */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const parts: Array<[number, string]> = [[Math.floor(s / 86400), 'd'], [Math.floor(s / 3600) % 24, 'h'], [Math.floor(s / 60) % 60, 'min'], [s % 60, 's']];
  const first = parts.findIndex(([n]) => n > 0);
  return parts.slice(first, first + 2).filter(([n]) => n > 0).map(([n, u]) => `${n} ${u}`).join(' ');
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
