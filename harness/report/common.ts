// What the Markdown and HTML reports both say about a run, as plain data: phases in
// words, the environment as rows, the command that reproduces the run.
import type { ChartTrace, RunData } from '../results/reader.js';
import { formatBytes } from '../core/units.js';
import { shellJoin } from './columns.js';
import { type RunInfo } from '../results/schema.js';

type RunScenario = RunInfo['scenarios'][number];

function seconds(ms: number): string {
  return ms >= 1000 ? `${+(ms / 1000).toFixed(2)} s` : `${+ms.toFixed(1)} ms`;
}

function sizeText(size: unknown): string {
  const s = size as { dist?: string; bytes?: number; min?: number; max?: number; median?: number } | undefined;
  if (!s) return '';
  if (s.dist === 'fixed' && typeof s.bytes === 'number') return formatBytes(s.bytes);
  if (s.dist === 'uniform' && typeof s.min === 'number' && typeof s.max === 'number') return `${formatBytes(s.min)}-${formatBytes(s.max)}`;
  if (s.dist === 'lognormal' && typeof s.median === 'number') return `lognormal, median ${formatBytes(s.median)}`;
  return '';
}

/** How long each phase really lasted in the charted trials: min and max over variants. */
export function phaseLengths(charts: readonly ChartTrace[]): Map<string, { min: number; max: number }> {
  const out = new Map<string, { min: number; max: number }>();
  for (const c of charts) {
    c.phases.forEach((p, i) => {
      const ms = (c.phases[i + 1]?.tMs ?? c.endMs) - p.tMs;
      const r = out.get(p.name);
      out.set(p.name, r ? { min: Math.min(r.min, ms), max: Math.max(r.max, ms) } : { min: ms, max: ms });
    });
  }
  return out;
}

/** "burst 4 s (1024 concurrent x 128 KiB-768 KiB)", "after-release 1.5 s, release at start";
 * a phase that lasts until its load command exits shows how long it took in the charted
 * trials (`lengths`), its duration being only a limit: "fill-1 0.12-0.15 s (limit 60 s)". */
export function phaseTexts(s: RunScenario, lengths: ReadonlyMap<string, { min: number; max: number }> = new Map()): string[] {
  const phases = (s.scenario as { phases?: unknown[] } | undefined)?.phases ?? [];
  return phases.map((raw) => {
    const p = raw as { name?: string; duration?: number; load?: { mode?: string; concurrency?: number; rate?: number; size?: unknown; until?: string } | null; actions?: string[] };
    const took = p.load?.mode === 'command' && p.load.until === 'exit' ? lengths.get(p.name ?? '') : undefined;
    const limit = typeof p.duration === 'number' ? seconds(p.duration) : '';
    const length = took ? `${took.min === took.max ? seconds(took.min) : `${seconds(took.min)}-${seconds(took.max)}`} (limit ${limit})` : limit;
    const parts = [`${p.name ?? '?'} ${length}`.trim()];
    const l = p.load;
    if (l?.mode === 'closed') parts.push(`(${l.concurrency} concurrent x ${sizeText(l.size)})`);
    else if (l?.mode === 'open') parts.push(`(${l.rate} req/s x ${sizeText(l.size)})`);
    const actions = p.actions ?? [];
    return parts.join(' ') + (actions.length ? `, ${actions.join(', ')} at start` : '');
  });
}

/** "seed 42", or "seeds 42-44 (one per trial)" for a run that recorded them per trial. */
export function seedText(s: RunScenario): string {
  const seeds = s.seeds ?? [];
  if (seeds.length > 1) return `seeds ${seeds[0]}-${seeds.at(-1)} (one per trial)`;
  return `seed ${seeds[0] ?? s.seed}`;
}

export function scenarioDescription(s: RunScenario): string {
  const d = (s.scenario as { description?: unknown } | undefined)?.description;
  return typeof d === 'string' ? d : '';
}

/** [label, value] rows describing where the run ran. */
export function environmentRows(info: RunInfo): Array<[string, string]> {
  const e = info.environment;
  const rows: Array<[string, string]> = [
    ['kernel', e.kernel],
    ['glibc', e.glibc ?? '-'],
    ['CPU', `${e.cpuModel ?? '-'} (${e.cores} cores)`],
    ['memory', e.memTotalBytes ? formatBytes(e.memTotalBytes) : '-'],
    ['transparent huge pages', e.thp ?? '-'],
    ['Node.js', e.node],
    ['compiler', e.compiler ?? '-'],
    ['cmake', e.cmake ?? '-'],
  ];
  for (const [name, a] of Object.entries(e.allocators ?? {})) {
    rows.push([`allocator ${name}`, [a.debian ? `Debian ${a.debian}` : null, a.reported ? `relay reports ${a.reported}` : null].filter(Boolean).join('; ') || '-']);
  }
  const git = e.git;
  rows.push(['git commit', git?.commit ? `${git.commit}${git.dirty ? ' (uncommitted changes)' : ''}` : '-']);
  return rows;
}

/** [variant, allocator, environment] rows. */
export function variantRows(info: RunInfo): Array<[string, string, string]> {
  return info.variants.map((v) => [v.id, v.allocator, Object.entries(v.env).map(([k, x]) => `${k}=${x}`).join(' ') || 'defaults']);
}

/** The command line that made the run, as typed (shell-quoted). */
export function reproduceCommand(info: RunInfo): string {
  return shellJoin(info.command);
}

export function runLine(info: RunInfo): string {
  const parts = [info.status, `started ${info.startedAt}`];
  if (info.endedAt) parts.push(`ended ${info.endedAt}`);
  parts.push(`${info.variants.length} variant${info.variants.length === 1 ? '' : 's'}`);
  if (info.quick) parts.push('--quick');
  if (info.shard) parts.push(`shard ${info.shard.index}/${info.shard.count}`);
  if (info.mergedFrom?.length) parts.push(`merged from ${info.mergedFrom.length} shard runs`);
  return parts.join(' · ');
}

export function chartsOf(run: RunData, scenario: string): ChartTrace[] {
  return run.charts.filter((c) => c.scenario === scenario);
}

export function scenarioInfo(run: RunData, name: string): RunScenario | undefined {
  return run.info.scenarios.find((s) => s.name === name);
}

/** "10.02 s (15.6 ms)" for each release of a chart. */
export function releaseTexts(c: ChartTrace): string[] {
  return c.releases.map((r) => `${(r.tMs / 1000).toFixed(2)} s${r.ok ? (r.releaseMs === null ? '' : `, ${r.releaseMs.toFixed(1)} ms`) : ', failed'}`);
}
