// Verdicts: leak, held by the program, fragmentation, retention, healthy, or inconclusive,
// with a severity, from one summary row's medians. Pure functions reading summary metrics
// only (RSS levels, the program's in-use bytes, the release's effect, growth per unit of
// work), so the same rules judge the built-in relay and any other subject.
//
// The precedence (docs/metrics.md, "Verdicts"): first the inputs every rule needs (RSS
// levels; a drained load); then where the RSS kept after the idle sits: in use by the
// program (a leak, or memory the program holds on purpose: only this question needs
// growth per unit of work), free but not returned by the release (fragmentation), or free
// and returned by the release (retention). In the manner of Redis' MEMORY DOCTOR, a rule
// fires only when an amount passes both an absolute floor and a fraction of the peak's
// growth. When an input a rule needs is missing, the verdict is `inconclusive` and says
// which input and how to get it; it never defaults to another kind. The evidence's `rule`
// lists only the conditions that were evaluated, each with its value.
import { mibText } from '../core/units.js';
import { allocatorRow } from '../allocators/registry.js';
import { POOL_LABELS, POOL_REMEDIES } from './ledger.js';
import type { Severity, SummaryRow, Verdict } from '../core/types.js';

export type { Severity, Verdict, VerdictKind } from '../core/types.js';

const MiB = 1024 * 1024;

/** The thresholds, named and documented in docs/metrics.md ("Verdicts"). */
export const THRESHOLDS = {
  /** Below this much memory, nothing is a problem worth a verdict. */
  floorBytes: 32 * MiB,
  /** Retention: what the allocator kept after the idle (beyond the program's bytes) is at
   * least floorBytes and this fraction of the peak's growth. */
  keptMin: 0.1,
  /** Retention and fragmentation are critical from this fraction of the peak's growth. */
  criticalFraction: 0.5,
  /** Leak: the program's bytes grew at least this much... */
  leakFloorBytes: 32 * MiB,
  /** ...by at least this many bytes per request served (where requests are counted)... */
  leakMinBytesPerRequest: 16,
  /** ...and at least this share of the growth came late: in the second half of the load
   * (built-in load), or after the first repetition of the scenario's work (load commands). */
  leakLateShareMin: 0.2,
  /** Held by the program: its bytes grew at least floorBytes, levelled off, and account for
   * at least this fraction of what RSS kept above baseline. */
  heldMin: 0.5,
  /** Fragmentation: after release, RSS above baseline + the program's bytes, as a fraction
   * of the peak's growth. */
  fragmentationMin: 0.25,
  /** A release call that returned less than this fraction of what the allocator kept is not
   * recommended as the remedy. */
  releaseHelpsMin: 0.5,
  /** Not fragmentation but retention: before the release, at least this fraction of what
   * stayed after it sat in whole free pages that nothing live pins (the ledger's
   * FREE_PAGE_POOLS): glibc's arena tops (malloc_trim never trims a thread arena's),
   * tcmalloc's page heap, jemalloc's dirty and muzzy pages (a forced purge is skipped for an
   * arena its background thread is purging at that moment: jemalloc's pac_decay_to_limit). */
  freePagesShareMin: 0.5,
} as const;

const pct = (x: number) => `${Math.round(x * 100)}%`;

/** One condition a rule evaluated: what, its value, and whether it held. */
interface Condition {
  text: string;
  ok: boolean;
}

/** The conditions evaluated so far, in order; the rule text of a verdict lists them. */
class Checks {
  readonly list: Condition[] = [];
  /** `name` (value shown by `show`) compared with `threshold`; records and returns the result. */
  atLeast(name: string, value: number, threshold: number, show: (x: number) => string = mibText): boolean {
    const ok = value >= threshold;
    this.list.push({ text: `${name} ${show(value)} ${ok ? '>=' : '<'} ${show(threshold)}`, ok });
    return ok;
  }
  note(text: string, ok: boolean): boolean {
    this.list.push({ text, ok });
    return ok;
  }
  rule(): string {
    return this.list.map((c) => c.text).join('; ');
  }
}

const ratioText = (x: number) => x.toFixed(2);
const bytesPerRequest = (x: number) => `${Math.round(x)} B/request`;

/** The documented release advice for an allocator; a generic one for an allocator the lab
 * could not name (a target's `unknown`). */
function releaseAdvice(allocator: string): string {
  return allocatorRow(allocator)?.releaseAdvice
    ?? 'call the allocator\'s release function when idle, or tune it to return freed pages sooner';
}

function otherRemedies(allocator: string): string {
  return allocatorRow(allocator)?.otherRemedies
    ?? 'see the allocator\'s manual for the settings that return free memory sooner';
}

/** `s` as a sentence: capitalized, ending with a full stop. */
function sentence(s: string): string {
  const c = capitalize(s);
  return c.endsWith('.') ? c : `${c}.`;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The medians a diagnosis reads, null where a metric was not measured. */
interface Inputs {
  baseline: number | null;
  peak: number | null;
  retained: number | null;
  released: number | null;
  inFlight: number | null;
  /** The program's growth kept after the load (its own count, else the allocator's in-use
   * bytes), requests still in flight taken out; null when neither was measured. */
  program: number | null;
  served: number | null;
  slope: number | null;
  /** Share of the program's growth that came late: lateGrowthShare (built-in load), else
   * repeatGrowthShare (repetitions of load commands); which one is in `lateSource`. */
  late: number | null;
  lateSource: 'lateGrowthShare' | 'repeatGrowthShare' | null;
}

function inputs(row: SummaryRow): { inp: Inputs; m: (name: string) => number | null } {
  const m = (name: string): number | null => row.metrics[name]?.median ?? null;
  const inFlight = m('inFlightAfter');
  const growth = m('liveGrowth') ?? m('liveAfter') ?? m('inUseGrowth');
  const lateBuiltIn = m('lateGrowthShare');
  const lateRepeat = m('repeatGrowthShare');
  const served = m('requestsServed');
  const slope = m('leakSlope') ?? (growth !== null && served ? growth / served : null);
  return {
    m,
    inp: {
      baseline: m('baselineRss'), peak: m('peakRss'), retained: m('retainedRss'), released: m('releasedRss'),
      inFlight, program: growth === null ? null : growth - (inFlight ?? 0), served, slope,
      late: lateBuiltIn ?? lateRepeat,
      lateSource: lateBuiltIn !== null ? 'lateGrowthShare' : lateRepeat !== null ? 'repeatGrowthShare' : null,
    },
  };
}

export function diagnose(row: SummaryRow): Verdict {
  const { inp, m } = inputs(row);
  const t = THRESHOLDS;
  const checks = new Checks();
  const evidence: Verdict['evidence'] = {
    baselineRss: inp.baseline, peakRss: inp.peak, retainedRss: inp.retained, releasedRss: inp.released,
    liveAfter: m('liveAfter'), liveGrowth: m('liveGrowth'), inFlightAfter: inp.inFlight, inUseAfter: m('inUseAfter'),
    inUseGrowth: m('inUseGrowth'), leakSlope: inp.slope, lateGrowthShare: m('lateGrowthShare'),
    repeatGrowthShare: m('repeatGrowthShare'), retention: m('retention'), releaseEfficiency: m('releaseEfficiency'),
  };
  const verdict = (kind: Verdict['kind'], severity: Severity, remedy: string, extra: Verdict['evidence'] = {}): Verdict =>
    ({ kind, severity, evidence: { ...evidence, ...extra, rule: checks.rule() }, remedy });

  // Every rule reads RSS levels: without them there is nothing to judge, and no kind is a default.
  const missing = (['baselineRss', 'peakRss', 'retainedRss'] as const).filter((k) => m(k) === null);
  if (missing.length || inp.baseline === null || inp.peak === null || inp.retained === null) {
    checks.note(`${missing.join(', ')} not measured`, false);
    return verdict('inconclusive', 'warning', `no RSS level was measured for ${missing.join(', ')} (the RSS samples of that point are missing: the sampler failed, or the trial ended before it), so no rule can be read. Run it again and look at the trial's errors`);
  }
  // The load had not drained when the idle ended: whatever RSS shows then is load.
  if (inp.inFlight !== null && checks.atLeast('inFlightAfter', inp.inFlight, t.floorBytes)) {
    return verdict('inconclusive', 'warning', `${mibText(inp.inFlight)} of requests were still in flight when the idle ended: this machine did not drain the load in the scenario's time, so no verdict is drawn. Run on a quieter machine, or lengthen the drain and idle phases`);
  }
  const grown = inp.peak - inp.baseline;
  const kept = inp.retained - inp.baseline;
  if (inp.program !== null && checks.atLeast('program growth', inp.program, t.floorBytes)) {
    const v = programVerdict(row, inp, kept, checks, verdict);
    if (v) return v;
  }
  return allocatorVerdict(row, inp, grown, kept, checks, verdict);
}

type MakeVerdict = (kind: Verdict['kind'], severity: Severity, remedy: string, extra?: Verdict['evidence']) => Verdict;

/** The program's bytes grew past the floor: a leak when the growth went on with the work,
 * held by the program when it levelled off and holds most of the kept RSS; null when the
 * allocator's share decides instead. Inconclusive when growth per unit of work is missing. */
function programVerdict(row: SummaryRow, inp: Inputs, kept: number, checks: Checks, verdict: MakeVerdict): Verdict | null {
  const t = THRESHOLDS;
  const program = inp.program!;
  if (inp.late === null || inp.lateSource === null) {
    checks.note('growth per unit of work not measured (no lateGrowthShare, no repeatGrowthShare)', false);
    return verdict('inconclusive', 'warning', `the program's in-use bytes grew ${mibText(program)} and are still in use, but growth per unit of work was not measured, so a leak cannot be told from a cache or pool that filled once. Repeat the load so that growth per repetition can be measured, or drive the subject with the built-in load`, { programGrowth: program });
  }
  const late = checks.atLeast(inp.lateSource, inp.late, t.leakLateShareMin, ratioText);
  const perRequest = inp.served === null || inp.slope === null || checks.atLeast('growth per request', inp.slope, t.leakMinBytesPerRequest, bytesPerRequest);
  if (late && perRequest) {
    const notReturned = inp.released === null || checks.atLeast('releasedRss - baselineRss', inp.released - inp.baseline!, t.leakFloorBytes);
    if (notReturned) {
      const when = inp.lateSource === 'repeatGrowthShare' ? 'after the first repetition' : 'in the second half of the load';
      const rate = inp.served !== null && inp.slope !== null ? `${Math.round(inp.slope)} B per request served` : `${mibText(program)} over the run, ${pct(inp.late)} of it ${when}`;
      return verdict('leak', 'critical', `the program's bytes grow ${rate} and no release returns them: find the table or cache that is never cleaned (memcheck calls such memory "still reachable", not lost)`, { programGrowth: program });
    }
    return null;
  }
  if (kept > 0 && checks.atLeast('program growth / (retainedRss - baselineRss)', program / kept, t.heldMin, ratioText)) {
    return verdict('held-by-program', 'warning', `the program itself still uses ${mibText(program)} after the load stopped (${pct(program / kept)} of the ${mibText(kept)} RSS kept), and it stopped growing with the work: a cache, pool or buffer inside the program, not the allocator. Bound or shrink it (size limit, expiry, shrink on idle); a release call cannot return memory still in use`,
      { programGrowth: program, keptAfterIdle: kept, heldByProgram: program, heldFraction: program / kept });
  }
  return null;
}

/** What the allocator kept beyond the program's bytes: pinned after the release
 * (fragmentation), returned by it (retention), or nothing worth a verdict (healthy). */
function allocatorVerdict(row: SummaryRow, inp: Inputs, grown: number, kept: number, checks: Checks, verdict: MakeVerdict): Verdict {
  const t = THRESHOLDS;
  const program = inp.program === null ? null : Math.max(0, inp.program);
  const byAllocator = kept - (program ?? 0);
  const severity = (fraction: number): Severity => (fraction >= t.criticalFraction ? 'critical' : 'warning');
  const worth = grown > 0 && checks.atLeast(program === null ? 'kept after the idle (program bytes not measured)' : 'kept beyond the program', byAllocator, t.floorBytes)
    && checks.atLeast('kept / peak growth', byAllocator / grown, t.keptMin, ratioText);
  if (!worth) {
    return verdict('healthy', 'ok', 'nothing to do', { keptAfterIdle: kept });
  }
  if (inp.released === null) {
    checks.note('no release measured', false);
    return verdict('inconclusive', 'warning', `RSS kept ${mibText(byAllocator)} after the idle, but no release was measured, so memory the allocator could return cannot be told from memory pinned between live objects. Add a phase with actions: ['release'] after the idle`, { keptAfterIdle: byAllocator });
  }
  if (program === null) {
    const returned = inp.retained! - inp.released;
    if (checks.atLeast('returned by the release', returned, Math.max(t.floorBytes, t.releaseHelpsMin * kept))) {
      return retention(row, inp, grown, kept, returned, severity, verdict);
    }
    checks.note('program in-use bytes not measured', false);
    return verdict('inconclusive', 'warning', `RSS kept ${mibText(kept)} after the idle and the release returned ${mibText(returned)}, but the program's in-use bytes were not measured (${row.allocator} reports none here), so the rest cannot be split between the program and the allocator. Run with an allocator that counts its in-use bytes, or the probe's counting layer`, { keptAfterIdle: kept, returnedByRelease: returned });
  }
  const excess = inp.released - inp.baseline! - program;
  if (checks.atLeast('releasedRss - baselineRss - program bytes', excess, t.floorBytes)
    && checks.atLeast('that / peak growth', excess / grown, t.fragmentationMin, ratioText)
    && !inFreePages(row, excess, checks)) {
    const where = dominantPoolOf(row);
    return verdict('fragmentation', severity(excess / grown), 'free memory is pinned between live objects: keep long-lived small objects apart from short-lived large buffers (a separate arena or pool per lifetime), or use an allocator that segregates size classes'
      + (where ? `. Before the release, most of the free memory sat in ${where.label} (${mibText(where.bytes)})` : ''),
      { excessAfterRelease: excess, excessFraction: excess / grown, ...(where ? { dominantPool: where.id, dominantPoolBytes: where.bytes } : {}) });
  }
  return retention(row, inp, grown, byAllocator, inp.retained! - inp.released, severity, verdict);
}

/** The ledger's pools of whole free pages, which no live object pins (analysis/ledger.ts). */
const FREE_PAGE_POOLS = ['mainTop', 'threadTops', 'pageheapFree', 'dirtyMuzzy'] as const;

/** Whether what stayed after the release sat, before it, in whole free pages (the ledger's
 * FREE_PAGE_POOLS): memory the release did not reach, not memory pinned between live
 * objects. False (and nothing noted) without such pools in the ledger. */
function inFreePages(row: SummaryRow, excess: number, checks: Checks): boolean {
  const pools = FREE_PAGE_POOLS.map((id) => row.metrics[`pool.${id}`]?.median ?? null).filter((x): x is number => x !== null);
  if (pools.length === 0) return false;
  const sum = pools.reduce((a, b) => a + b, 0);
  return checks.atLeast('in whole free pages before the release (tops, page heap, dirty) / that', sum / excess, THRESHOLDS.freePagesShareMin, ratioText);
}

function retention(row: SummaryRow, inp: Inputs, grown: number, kept: number, returned: number,
  severity: (f: number) => Severity, verdict: MakeVerdict): Verdict {
  const helps = returned >= THRESHOLDS.releaseHelpsMin * kept;
  const said = `the allocator kept ${mibText(kept)} (${pct(kept / grown)} of the peak's growth) of freed memory after the idle.`;
  const where = dominantPoolOf(row);
  // The place the ledger found names its own remedy; without one, the allocator's general advice.
  const located = where ? `Most of it sat in ${where.label} (${mibText(where.bytes)}): ${where.remedy}.` : '';
  const remedy = helps
    ? `${said} The release call returned ${mibText(returned)}. ${sentence(releaseAdvice(row.allocator))}${located ? ` ${located}` : ''}`
    : `${said} The release call returned only ${mibText(Math.max(0, returned))} of it, so it is not the remedy here. ${located || sentence(otherRemedies(row.allocator))}`;
  return verdict('retention', severity(kept / grown), remedy,
    { keptAfterIdle: kept, keptFraction: kept / grown, returnedByRelease: returned, ...(where ? { dominantPool: where.id, dominantPoolBytes: where.bytes } : {}) });
}

/** The ledger's largest pool of free memory at the retention point (pool.<id> medians),
 * with its documented remedy; null without a ledger. */
function dominantPoolOf(row: SummaryRow): { id: string; label: string; bytes: number; remedy: string } | null {
  let best: { id: string; bytes: number } | null = null;
  for (const [k, v] of Object.entries(row.metrics)) {
    const id = k.startsWith('pool.') ? k.slice('pool.'.length) : null;
    if (!id || !POOL_REMEDIES[id] || v.median === null) continue;
    if (!best || v.median > best.bytes) best = { id, bytes: v.median };
  }
  return best && best.bytes > 0 ? { ...best, label: POOL_LABELS[best.id] ?? best.id, remedy: POOL_REMEDIES[best.id]! } : null;
}

/** The row with its verdict attached (summary.json carries it); none when no trial
 * completed (nothing to diagnose: a verdict of medians that do not exist would read "healthy"). */
export function withVerdict(row: SummaryRow): SummaryRow {
  return row.trials === 0 ? { ...row } : { ...row, verdict: diagnose(row) };
}
