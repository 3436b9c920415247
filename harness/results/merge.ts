// `lab merge`: shard run folders joined into one run folder. Raw files are concatenated
// (samples.csv under one header), the summary is recomputed from trials.jsonl with the
// same functions a run uses, so the merged summary equals an unsharded run's; growth
// profiles come along and are summarized from each trial's growth.json, as a run does.
import { appendFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { withVerdict } from '../analysis/diagnosis.js';
import { withForecast, withProfileEvidence } from '../analysis/profile-verdict.js';
import { LabError } from '../core/errors.js';
import { loadSummary } from './reader.js';
import { summarizeTrials, type TrialRecord } from '../analysis/metrics.js';
import { cellKey, formatShard } from './shard.js';
import type { RunStatus, SummaryRow } from '../core/types.js';
import { type RunInfo, type TrialLine } from './schema.js';
import { readTrialGrowth, type TrialGrowthFile } from './growth-files.js';
import { withGrowthProfile } from '../analysis/growth.js';

export interface MergeOutcome {
  dir: string;
  info: RunInfo;
  summary: SummaryRow[];
}

function jsonLines(path: string): string[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim());
}

function parseLines<T>(lines: readonly string[]): T[] {
  return lines.flatMap((l) => {
    try {
      return [JSON.parse(l) as T];
    } catch {
      return [];  // a line cut short by a crash
    }
  });
}

/** The summary rows of a set of trials, in run order (scenarios, then variants, as run.json lists them). */
export function summarizeRun(info: Pick<RunInfo, 'scenarios' | 'variants'>, trials: readonly TrialRecord[]): SummaryRow[] {
  const rows: SummaryRow[] = [];
  for (const s of info.scenarios) {
    for (const v of info.variants) {
      const mine = trials.filter((t) => t.scenario === s.name && t.variant === v.id);
      if (mine.length) rows.push(withVerdict(summarizeTrials(mine)));
    }
  }
  return rows;
}

function combinedStatus(statuses: readonly RunStatus[], missing: boolean): RunStatus {
  if (statuses.includes('interrupted')) return 'interrupted';
  if (missing || statuses.some((s) => s !== 'complete')) return 'failed';
  return 'complete';
}

type Input = { dir: string; info: RunInfo; summary: SummaryRow[] };

/** Joins the run folders `dirs` into the new folder `out` (which must not exist, or be
 * empty). Throws LabError('mergeInput') when the runs do not belong together. */
export function mergeRuns(dirs: readonly string[], out: string, argv: string[]): MergeOutcome {
  const runs = checkedInputs(dirs);
  const outDir = resolve(out);
  if (existsSync(outDir) && readdirSync(outDir).length > 0) throw new LabError('mergeInput', { reason: `--out ${out} exists and is not empty; choose a new folder` });
  const { trials, trialLines } = everyTrialOnce(runs);
  const info = mergedInfo(runs, outDir, argv);
  mkdirSync(outDir, { recursive: true });
  // The growth profiles come along (profiles/<scenario>/<variant>-<trial>/, one folder per
  // cell, so the shards' folders do not overlap) and are summarized as a run does.
  for (const r of runs) if (existsSync(join(r.dir, 'profiles'))) cpSync(join(r.dir, 'profiles'), join(outDir, 'profiles'), { recursive: true });
  const summary = summarizeRun(info, trials as unknown as TrialRecord[])  // trials.jsonl lines carry status and metrics
    .map((row) => withMergedProfile(row, info, trials, outDir));
  joinSamples(runs, outDir);
  writeFileSync(join(outDir, 'events.jsonl'), runs.flatMap((r) => jsonLines(join(r.dir, 'events.jsonl'))).map((l) => l + '\n').join(''));
  writeFileSync(join(outDir, 'trials.jsonl'), trialLines.map((l) => l + '\n').join(''));
  writeFileSync(join(outDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  writeFileSync(join(outDir, 'run.json'), JSON.stringify(info, null, 2) + '\n');
  return { dir: outDir, info, summary };
}

/** The inputs, read and checked to be shards of one run, in shard order. */
function checkedInputs(dirs: readonly string[]): Input[] {
  if (dirs.length === 0) throw new LabError('mergeInput', { reason: 'no run folders given; pass the shard folders, e.g. `lab merge shards/* --out merged`' });
  const runs = dirs.map((d) => ({ dir: resolve(d), ...loadSummary(d) }));
  const first = runs[0]!;
  const names = (i: RunInfo) => i.scenarios.map((s) => s.name).join(', ');
  for (const r of runs.slice(1)) {
    if (names(r.info) !== names(first.info)) throw new LabError('mergeInput', { reason: `${r.dir} ran scenarios ${names(r.info)}, ${first.dir} ran ${names(first.info)}: only shards of the same run can be merged` });
    if (r.info.quick !== first.info.quick) throw new LabError('mergeInput', { reason: `${r.dir} and ${first.dir} differ in --quick` });
  }
  const counts = new Set(runs.map((r) => r.info.shard?.count ?? 0));
  if (counts.size > 1) throw new LabError('mergeInput', { reason: `the runs are split into different shard counts (${[...counts].map((c) => c || 'unsharded').join(', ')})` });
  return runs.sort((a, b) => (a.info.shard?.index ?? 0) - (b.info.shard?.index ?? 0));
}

/** Every trial once: a cell run by two of the inputs means they are not one run's shards. */
function everyTrialOnce(runs: readonly Input[]): { trials: TrialLine[]; trialLines: string[] } {
  const trials: TrialLine[] = [];
  const seen = new Map<string, string>();
  const trialLines: string[] = [];
  for (const r of runs) {
    const lines = jsonLines(join(r.dir, 'trials.jsonl'));
    for (const t of parseLines<TrialLine>(lines)) {
      const k = cellKey(t);
      const other = seen.get(k);
      if (other) throw new LabError('mergeInput', { reason: `${t.scenario} / ${t.variant} / trial ${t.trial} is in both ${other} and ${r.dir}` });
      seen.set(k, r.dir);
      trials.push(t);
    }
    trialLines.push(...lines);
  }
  return { trials, trialLines };
}

/** run.json of the merged run: the first shard's, with every shard's errors, warnings and
 * times, a missing shard or an unfinished one as an error, and where it came from. */
function mergedInfo(runs: readonly Input[], outDir: string, argv: string[]): RunInfo {
  const first = runs[0]!;
  const errors = runs.flatMap((r) => r.info.errors);
  const warnings = runs.flatMap((r) => r.info.warnings ?? []);
  const count = first.info.shard?.count ?? 0;
  const have = new Set(runs.map((r) => r.info.shard?.index));
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !have.has(i));
  for (const i of missing) errors.push(`shard ${i}/${count} is missing from the merge`);
  for (const r of runs) if (r.info.status === 'running') errors.push(`${r.dir} did not finish (status running)`);
  // Variants in the order the inputs list them (the same list for shards of one run).
  const variants = [...new Map(runs.flatMap((r) => r.info.variants).map((v) => [v.id, v])).values()];
  return {
    ...first.info,
    runId: basename(outDir),
    command: argv,
    status: combinedStatus(runs.map((r) => r.info.status), missing.length > 0),
    variants,
    startedAt: runs.map((r) => r.info.startedAt).sort()[0]!,
    endedAt: runs.map((r) => r.info.endedAt ?? '').sort().at(-1) || null,
    errors,
    warnings: warnings.length ? warnings : undefined,
    shard: null,
    mergedFrom: runs.map((r) => ({ runId: r.info.runId, dir: r.dir, shard: r.info.shard ?? null, status: r.info.status })),
  };
}

/** samples.csv of the shards one after another, under one header (the same in every shard). */
function joinSamples(runs: readonly Input[], outDir: string): void {
  const csvParts = runs.map((r) => join(r.dir, 'samples.csv')).filter((p) => existsSync(p));
  let header: string | undefined;
  writeFileSync(join(outDir, 'samples.csv'), '');
  for (const p of csvParts) {
    const text = readFileSync(p, 'utf8');
    const nl = text.indexOf('\n');
    const head = nl < 0 ? text : text.slice(0, nl);
    if (header === undefined) {
      header = head;
      appendFileSync(join(outDir, 'samples.csv'), head + '\n');
    } else if (head !== header) {
      throw new LabError('mergeInput', { reason: `${p} has other columns than the first shard's samples.csv (runs of different leak-lab versions?)` });
    }
    if (nl >= 0) appendFileSync(join(outDir, 'samples.csv'), text.slice(nl + 1));
  }
}

/** A merged row with what a run adds after the verdict: the growth profile (from each
 * profiled trial's growth.json) and the forecast, when the shards ran with them. */
function withMergedProfile(row: SummaryRow, info: RunInfo, trials: readonly TrialLine[], outDir: string): SummaryRow {
  let out = row;
  const s = info.scenarios.find((x) => x.name === row.scenario);
  if (info.profile || s?.scenario.profile) {
    const g = { trials: [] as Array<Extract<TrialGrowthFile, { grownBytes: number }>>, errors: [] as string[] };
    for (const t of trials.filter((x) => x.scenario === row.scenario && x.variant === row.variant && x.status === 'complete')) {
      const file = readTrialGrowth(join(outDir, 'profiles', row.scenario, `${row.variant}-${t.trial}`));
      if ('error' in file) g.errors.push(`trial ${t.trial}: ${file.error}`);
      else g.trials.push(file);
    }
    out = withProfileEvidence(withGrowthProfile(out, g, outDir, row.scenario));
  }
  return info.forecast ? withForecast(out, info.forecast) : out;
}

export function describeMerge(m: MergeOutcome): string {
  const from = m.info.mergedFrom ?? [];
  return from.map((f) => `${f.shard ? `shard ${formatShard(f.shard)}` : 'run'} ${f.runId} (${f.status})`).join(', ');
}
