// `lab inspect`'s output: a terminal table, Markdown (--md) and JSON (--json) of one
// inspection, and with --watch a table and a chart of the buckets over time.
import asciichart from 'asciichart';
import Table from 'cli-table3';
import { formatMiB } from '../core/units.js';
import type { InspectResult, InspectSnapshot } from './inspect.js';

const MiB = 1024 * 1024;
const m = (x: number | null | undefined) => formatMiB(x ?? null);
const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);

/** The rows of the ledger at one snapshot: where the RSS sits, then the allocator's count. */
function ledgerRows(s: InspectSnapshot): Array<[string, string, string]> {
  const sp = s.split;
  const c = s.counters ?? {};
  const rows: Array<[string, string, string]> = [
    ['RSS (statm)', m(s.rss), 'the kernel\'s count'],
    ['  brk heap', m(sp.brkHeap), '[heap]: glibc\'s main arena'],
    ['  anonymous', m(sp.anonymous), 'mmapped arenas, spans, segments; the program\'s own mmaps'],
    ['  thread stacks', m(sp.stacks), `${sp.threadsLocated} of ${sp.threads} threads' stacks located`],
    ['  file-backed', m(sp.file), 'code, data and mapped files'],
    ['  other', m(sp.other), 'vdso, shared memory'],
    ['  of which LazyFree', m(sp.lazyFree), 'freed with MADV_FREE, resident until reclaimed'],
  ];
  if (s.counters) {
    rows.push(['allocator: in use', m(num(c.allocated_bytes)), num(c.allocated_bytes) === null ? 'not counted by this allocator' : 'its own count of allocated bytes']);
    for (const p of [...(s.ledger?.pools ?? []), ...(s.ledger?.apart ?? [])]) rows.push([`  ${p.name}`, m(p.bytes), p.resident ? 'held by the allocator, resident' : 'counted apart (not resident, or a part of another)']);
    if (s.ledger && s.ledger.unexplained !== null) {
      const over = Math.abs(s.ledger.unexplained) > s.ledger.tolerance;
      rows.push(['  unexplained', m(s.ledger.unexplained), `resident heap - in use - resident pools${over ? ` (over the tolerance of ${m(s.ledger.tolerance)} MiB)` : ''}`]);
    }
  }
  return rows;
}

function releaseLine(r: InspectResult): string | null {
  const rel = r.release;
  if (!rel) return null;
  const d = rel.rssBefore - rel.rssAfter;
  return `release ${rel.call}: RSS ${m(rel.rssBefore)} -> ${m(rel.rssAfter)} MiB (returned ${m(d)} MiB), one thread stopped ${rel.stopMs?.toFixed(2) ?? '-'} ms`
    + (rel.reach ? `\n  ${rel.reach}` : '');
}

function header(r: InspectResult): string[] {
  const lib = r.objects.find((o) => o.path === r.mallocObject);
  return [
    `pid ${r.pid}: ${r.cmdline || r.program || '?'}`,
    `allocator serving malloc: ${r.allocator}${r.mallocObject ? ` (${r.mallocObject}${lib?.buildId ? `, build id ${lib.buildId}` : ''})` : ''}`,
  ];
}

function watchRows(r: InspectResult): string[][] {
  return r.snapshots.map((s) => [(s.tMs / 1000).toFixed(1), m(s.rss), m(s.split.brkHeap + s.split.anonymous),
    m(s.counters ? num(s.counters.allocated_bytes) : null), m(s.split.stacks), s.stopMs === null ? '-' : s.stopMs.toFixed(2)]);
}

const WATCH_HEAD = ['t s', 'RSS MiB', 'heap MiB', 'in use MiB', 'stacks MiB', 'stop ms'];

function chart(r: InspectResult): string {
  const heap = r.snapshots.map((s) => (s.split.brkHeap + s.split.anonymous) / MiB);
  const inUse = r.snapshots.map((s) => num(s.counters?.allocated_bytes) ?? NaN);
  const series = inUse.every((x) => Number.isFinite(x)) ? [heap, inUse.map((x) => x / MiB)] : [heap];
  return asciichart.plot(series, { height: 8, format: (x: number) => `${x.toFixed(1).padStart(8)} MiB` })
    + `\n  ${series.length > 1 ? 'upper: resident heap, lower: in use' : 'resident heap'}, one point per snapshot`;
}

export function inspectTerminal(r: InspectResult): string {
  const out = header(r);
  const last = r.snapshots[r.snapshots.length - 1]!;
  const t = new Table({ head: ['where', 'MiB', 'what'] });
  for (const row of ledgerRows(last)) t.push(row);
  out.push(t.toString());
  if (r.snapshots.length > 1) {
    const w = new Table({ head: WATCH_HEAD });
    for (const row of watchRows(r)) w.push(row);
    out.push(w.toString(), chart(r));
  }
  const rel = releaseLine(r);
  if (rel) out.push(rel);
  if (last.stopMs !== null) out.push(`counters: one thread stopped ${last.stopMs.toFixed(2)} ms, allocator calls ${last.callMs?.toFixed(3) ?? '-'} ms`);
  for (const n of r.notes) out.push(`note: ${n}`);
  if (r.partial) out.push(`partial: ${r.partial}`);
  out.push(`verdict: ${r.verdict.kind} (${r.verdict.severity}): ${r.verdict.advice}`, `  rule: ${r.verdict.rule}`);
  return `${out.join('\n')}\n`;
}

export function inspectMarkdown(r: InspectResult): string {
  const last = r.snapshots[r.snapshots.length - 1]!;
  const out = [`# lab inspect ${r.pid}`, '', ...header(r).map((l) => `- ${l}`), '', '| where | MiB | what |', '|---|---:|---|',
    ...ledgerRows(last).map(([a, b, c]) => `| ${a.trim()} | ${b} | ${c} |`), ''];
  if (r.snapshots.length > 1) {
    out.push(`| ${WATCH_HEAD.join(' | ')} |`, `|${WATCH_HEAD.map(() => '---:').join('|')}|`, ...watchRows(r).map((row) => `| ${row.join(' | ')} |`), '');
  }
  const rel = releaseLine(r);
  if (rel) out.push(rel.split('\n').map((l) => `- ${l.trim()}`).join('\n'), '');
  for (const n of r.notes) out.push(`- note: ${n}`);
  if (r.partial) out.push(`- **partial**: ${r.partial}`);
  out.push('', `**Verdict: ${r.verdict.kind}** (${r.verdict.severity}): ${r.verdict.advice}`, '', `Rule: ${r.verdict.rule}`, '');
  return out.join('\n');
}

export function inspectJson(r: InspectResult): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}
