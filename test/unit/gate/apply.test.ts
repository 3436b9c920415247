// The gate's file side (harness/gate/apply.ts, and what it writes: harness/report/gate-files.ts): loading and validating a ceilings file
// against the scenarios and variants that exist, reading run folders, and writing
// junit.xml, the gate section of report.md and GITHUB_STEP_SUMMARY. Every file is
// written under os.tmpdir() and removed; the run folders and gate results are hand-built
// fakes (a run.json and summary.json of the fields the gate reads), not runs.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LabError } from '../../../harness/core/errors.js';
import { checkBaselineFolder, gateRunFolder, gateRunOf, loadCeilings, scenariosOf } from '../../../harness/gate/apply.js';
import { writeGateFiles } from '../../../harness/report/gate-files.js';
import type { GateResult } from '../../../harness/gate/gate.js';
import type { RunInfo } from '../../../harness/results/schema.js';
import type { SummaryRow } from '../../../harness/core/types.js';

const MiB = 1024 * 1024;

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'leaklab-gate-apply-'));
});
afterEach(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function file(name: string, content: string): string {
  const path = join(tmp, name);
  writeFileSync(path, content);
  return path;
}

const ceilingsFile = (c: unknown, name = 'ceilings.json') => file(name, JSON.stringify(c));

async function rejection(p: Promise<unknown>): Promise<LabError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof LabError) return err;
    throw err;
  }
  throw new Error('expected a LabError');
}

/** A fake run.json: only the fields the gate reads are meaningful. */
function fakeInfo(quick: boolean, scenarios: Array<{ name: string; phases: string[] }>, variants: string[]): RunInfo {
  return {
    runId: 'fake-run', command: [], status: 'complete', quick,
    scenarios: scenarios.map((s) => ({ name: s.name, file: `${s.name}.ts`, trials: 1, seed: 1, scenario: { phases: s.phases.map((name) => ({ name })) } })),
    variants: variants.map((id) => ({ id, allocator: id, env: {} })),
    startedAt: '2026-01-01T00:00:00Z', endedAt: null, errors: [], shard: null,
  } as unknown as RunInfo;
}

function fakeRow(variant: string, peakMiB: number, scenario = 'burst'): SummaryRow {
  const v = peakMiB * MiB;
  return { scenario, variant, allocator: variant as SummaryRow['allocator'], trials: 1, failedTrials: 0, metrics: { peakRss: { median: v, min: v, max: v } } };
}

/** A fake run folder: run.json and summary.json. */
function runFolder(name: string, info: RunInfo, summary: SummaryRow[]): string {
  const dir = join(tmp, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'run.json'), JSON.stringify(info));
  writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary));
  return dir;
}

describe('loadCeilings', () => {
  it('reads a JSON file outside the repository, named by its absolute path', async () => {
    const path = ceilingsFile({ 'burst --quick': { '*': { peakRss: '320MiB' }, 'as-built': { releasedRss: '32MiB' } } });
    const c = await loadCeilings(path);
    expect(c.file).toBe(path);
    expect(c.entries).toEqual([
      { scenario: 'burst', quick: true, variant: '*', metric: 'peakRss', limit: 320 * MiB, text: '320MiB' },
      // as-built (a target as it is built) is a valid variant key (docs/targets.md)
      { scenario: 'burst', quick: true, variant: 'as-built', metric: 'releasedRss', limit: 32 * MiB, text: '32MiB' },
    ]);
  });

  it('without a path reads the shipped scenarios/ceilings.ts, named relative to the repository', async () => {
    const c = await loadCeilings(undefined);
    expect(c.file).toBe('scenarios/ceilings.ts');
    // docs/gates.md: burst --quick: peakRss 320 MiB and releasedRss 32 MiB for all, retention 0.6 for glibc
    // and mimalloc, retainedRss 288 / 320 / 96 MiB for tcmalloc / jemalloc / mimalloc; burst: 768 and 48 MiB.
    const text = c.entries.map((e) => `${e.scenario}${e.quick ? ' --quick' : ''} ${e.variant} ${e.metric} ${e.limit}`).sort();
    expect(text).toEqual([
      `burst * peakRss ${768 * MiB}`, `burst * releasedRss ${48 * MiB}`,
      `burst --quick * peakRss ${320 * MiB}`, `burst --quick * releasedRss ${32 * MiB}`,
      'burst --quick glibc retention 0.6', `burst --quick jemalloc retainedRss ${320 * MiB}`,
      `burst --quick mimalloc retainedRss ${96 * MiB}`, 'burst --quick mimalloc retention 0.6',
      `burst --quick tcmalloc retainedRss ${288 * MiB}`,
    ]);
  });

  it('checks per-phase metrics against the phases of the scenarios in scenarios/', async () => {
    // scenarios/burst.ts (docs/scenarios.md): baseline, burst, drain, idle, after-release.
    const ok = await loadCeilings(ceilingsFile({ burst: { glibc: { 'p99.burst': '2s' } } }));
    expect(ok.entries).toEqual([{ scenario: 'burst', quick: false, variant: 'glibc', metric: 'p99.burst', limit: 2000, text: '2s' }]);
    const e = await rejection(loadCeilings(ceilingsFile({ burst: { glibc: { 'p99.bursty': '2s' } } })));
    expect(e.id).toBe('badCeilings');
    expect(e.message).toContain("burst.glibc['p99.bursty']: no phase named 'bursty' in scenario 'burst'; phases are baseline, burst, drain, idle, after-release");
  });

  it('knows every scenario of scenarios/ and every variant, and nothing else', async () => {
    const e = await rejection(loadCeilings(ceilingsFile({ nope: { '*': { peakRss: '1GiB' } }, 'steady --quick': { hoard: { peakRss: '1GiB' } } })));
    expect(e.exitCode).toBe(2);
    // The list is sorted and complete: the first and last scenario names of scenarios/, nothing after.
    expect(e.message).toMatch(/^ {2}- nope: no scenario named 'nope'; scenarios are burst, [a-z, -]*tuning$/m);
    expect(e.message).toMatch(/^ {2}- \['steady --quick'\]\.hoard: unknown variant 'hoard'; valid: \*, glibc, tcmalloc, jemalloc, mimalloc, [a-z0-9, -]*, as-built, or <variant>\+<remedy> with a remedy of glibc-arenas2, [a-z0-9, -]*, tcmalloc-rate10$/m);
  });

  it('a remedied row may be named <variant>+<remedy>, with a known variant and a known remedy only', async () => {
    const ok = await loadCeilings(ceilingsFile({ 'burst --quick': { 'tcmalloc+release-1s': { retainedRss: '64MiB' }, 'glibc+glibc-arenas2': { peakRss: '1GiB' } } }));
    expect(ok.entries.map((x) => x.variant)).toEqual(['tcmalloc+release-1s', 'glibc+glibc-arenas2']);
    for (const bad of ['tcmalloc+nope', 'nope+release-1s', '+release-1s', 'tcmalloc+']) {
      const e = await rejection(loadCeilings(ceilingsFile({ 'burst --quick': { [bad]: { peakRss: '1GiB' } } })));
      expect(e.message, bad).toContain(`unknown variant '${bad}'`);
    }
  });

  it('adds the scenarios of a run given by path (`extra`), with their phases', async () => {
    const extra = [{ name: 'my-server', phases: ['warm', 'load'] }];
    const c = await loadCeilings(ceilingsFile({ 'my-server --quick': { 'as-built': { 'p99.load': '40ms' } } }), extra);
    expect(c.entries.map((x) => `${x.scenario} ${x.metric} ${x.limit}`)).toEqual(['my-server p99.load 40']);
    const e = await rejection(loadCeilings(ceilingsFile({ 'my-server': { '*': { 'p50.idle': '1s' } } }), extra));
    expect(e.message).toContain("['my-server'].*['p50.idle']: no phase named 'idle' in scenario 'my-server'; phases are warm, load");
    const unknown = await rejection(loadCeilings(ceilingsFile({ 'my-server': { '*': { peakRss: '1GiB' } } })));
    expect(unknown.message).toContain("['my-server']: no scenario named 'my-server'");
  });

  it('a missing file is an error naming it and the flag', async () => {
    const missing = join(tmp, 'absent.json');
    const e = await rejection(loadCeilings(missing));
    expect(e.id).toBe('ceilingsLoad');
    expect(e.message).toBe(`cannot load ceilings ${missing}: no such file; pass another file with --ceilings FILE`);
  });
});

describe('run folders', () => {
  const info = fakeInfo(true, [{ name: 'burst', phases: ['baseline', 'burst'] }, { name: 'steady', phases: ['warm'] }], ['glibc', 'tcmalloc']);

  it('gateRunOf and scenariosOf take what the gate needs from run.json', () => {
    const summary = [fakeRow('glibc', 200)];
    expect(gateRunOf(info, summary)).toEqual({ quick: true, scenarios: ['burst', 'steady'], variants: ['glibc', 'tcmalloc'], summary });
    expect(scenariosOf(info)).toEqual([{ name: 'burst', phases: ['baseline', 'burst'] }, { name: 'steady', phases: ['warm'] }]);
  });

  it('gateRunFolder checks the folder\'s summary against the ceilings, without a baseline', async () => {
    const dir = runFolder('head', info, [fakeRow('glibc', 200), fakeRow('tcmalloc', 330)]);
    const { result, info: read } = await gateRunFolder(dir, { ceilings: ceilingsFile({ 'burst --quick': { '*': { peakRss: '320MiB' } } }), maxRegression: 0.1 });
    expect(read.runId).toBe('fake-run');
    expect(result.runDir).toBe(dir);
    expect(result.baseline).toBeNull();
    expect(result.checks.map((c) => `${c.kind} ${c.variant} ${c.status}`)).toEqual(['ceiling glibc pass', 'ceiling tcmalloc fail']);
  });

  it('gateRunFolder holds each gated metric to the baseline folder\'s median x (1 + max regression)', async () => {
    const head = runFolder('head', info, [fakeRow('glibc', 221), fakeRow('tcmalloc', 219)]);
    const base = runFolder('base', info, [fakeRow('glibc', 200), fakeRow('tcmalloc', 200)]);
    const { result } = await gateRunFolder(head, { ceilings: ceilingsFile({ 'burst --quick': { '*': { peakRss: '1GiB' } } }), baseline: base, maxRegression: 0.1 });
    expect(result.baseline).toEqual({ dir: base, maxRegression: 0.1 });
    // 200 MiB x 1.1 = 220 MiB: glibc at 221 MiB is over, tcmalloc at 219 MiB under.
    expect(result.checks.map((c) => `${c.kind} ${c.variant} ${c.status}`)).toEqual([
      'ceiling glibc pass', 'ceiling tcmalloc pass', 'baseline glibc fail', 'baseline tcmalloc pass',
    ]);
    expect(result.checks[2]!.baseline).toBe(200 * MiB);
  });

  it('gateRunFolder refuses a baseline of the other form', async () => {
    const head = runFolder('head', info, [fakeRow('glibc', 200)]);
    const base = runFolder('base', fakeInfo(false, [{ name: 'burst', phases: ['baseline'] }], ['glibc']), [fakeRow('glibc', 200)]);
    const e = await rejection(gateRunFolder(head, { ceilings: ceilingsFile({ 'burst --quick': { '*': { peakRss: '1GiB' } } }), baseline: base, maxRegression: 0.1 }));
    expect(e.message).toBe(`--baseline ${base}: it is a full-size run and this one is --quick; compare against a run of the same form`);
  });

  it('checkBaselineFolder accepts a run of the same form and names the difference otherwise', () => {
    const quick = runFolder('quick', info, []);
    const full = runFolder('full', fakeInfo(false, [{ name: 'burst', phases: [] }], ['glibc']), []);
    expect(() => checkBaselineFolder(quick, true)).not.toThrow();
    expect(() => checkBaselineFolder(full, false)).not.toThrow();
    let e: unknown;
    try {
      checkBaselineFolder(quick, false);
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(LabError);
    expect((e as LabError).id).toBe('baselineMismatch');
    expect((e as LabError).exitCode).toBe(2);
    expect((e as LabError).message).toBe(`--baseline ${quick}: it is a --quick run and this one is full-size; compare against a run of the same form`);
    expect(() => checkBaselineFolder(full, true)).toThrow(`--baseline ${full}: it is a full-size run and this one is --quick; compare against a run of the same form`);
  });
});

describe('writeGateFiles', () => {
  /** A fake gate result: one check that passed. */
  const result: GateResult = {
    runDir: '/r', ceilingsFile: 'ceilings.json', baseline: null, quick: true, passed: 1, failed: 0, notRun: 0,
    checks: [{ kind: 'ceiling', scenario: 'burst', quick: true, variant: 'glibc', metric: 'peakRss', limit: 1024 * MiB, limitText: '1GiB', actual: 200 * MiB, status: 'pass', reason: '' }],
  };
  // The gate table in Markdown for that result (harness/report/gate.ts's layout, docs/gates.md "Output").
  const table = [
    '### leak-lab gate: passed',
    '',
    'gate passed: 1 of 1 checks within their limits. Ceilings: `ceilings.json`.',
    '',
    '| scenario | variant | metric | limit | actual | result |',
    '|---|---|---|---|---|---|',
    '| burst --quick | glibc | peakRss | 1GiB | 200 MiB | ✅ ok |',
    '',
  ].join('\n');
  const section = `<!-- leak-lab gate -->\n${table}<!-- /leak-lab gate -->\n`;
  const noSummary = {} as NodeJS.ProcessEnv;

  it('writes junit.xml alone into a run folder without report.md', () => {
    const written = writeGateFiles(tmp, result, noSummary);
    expect(written).toEqual([join(tmp, 'junit.xml')]);
    const xml = readFileSync(join(tmp, 'junit.xml'), 'utf8');
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="leak-lab gate" tests="1" failures="0" errors="0" skipped="0">/);
    expect(xml).toContain('<testcase classname="leak-lab.burst --quick" name="glibc peakRss &lt;= 1GiB"/>');
    expect(existsSync(join(tmp, 'report.md'))).toBe(false);
  });

  it('appends the gate section to report.md after its text', () => {
    const report = file('report.md', '# Run\n\nbody\n\n\n');
    expect(writeGateFiles(tmp, result, noSummary)).toEqual([join(tmp, 'junit.xml'), report]);
    expect(readFileSync(report, 'utf8')).toBe(`# Run\n\nbody\n\n${section}`);
    // A second gate replaces its own section: the file is the same.
    writeGateFiles(tmp, result, noSummary);
    expect(readFileSync(report, 'utf8')).toBe(`# Run\n\nbody\n\n${section}`);
  });

  it('replaces an earlier gate section in place, keeping what follows it', () => {
    const report = file('report.md', '# Run\n<!-- leak-lab gate -->\nold table\n<!-- /leak-lab gate -->\n## After\ntext\n');
    writeGateFiles(tmp, result, noSummary);
    expect(readFileSync(report, 'utf8')).toBe(`# Run\n${section}## After\ntext\n`);
  });

  it('replaces a section at the very start of report.md', () => {
    const report = file('report.md', '<!-- leak-lab gate -->\nold\n<!-- /leak-lab gate -->\nrest\n');
    writeGateFiles(tmp, result, noSummary);
    expect(readFileSync(report, 'utf8')).toBe(`${section}rest\n`);
  });

  it('appends rather than replaces when the markers are out of order or one is missing', () => {
    const swapped = '<!-- /leak-lab gate -->\nx\n<!-- leak-lab gate -->';
    const report = file('report.md', swapped);
    writeGateFiles(tmp, result, noSummary);
    expect(readFileSync(report, 'utf8')).toBe(`${swapped}\n\n${section}`);
    const endOnly = 'x\n<!-- /leak-lab gate -->\ny';
    writeFileSync(report, endOnly);
    writeGateFiles(tmp, result, noSummary);
    expect(readFileSync(report, 'utf8')).toBe(`${endOnly}\n\n${section}`);
  });

  it('appends report.md, gate section included, to GITHUB_STEP_SUMMARY when it is set', () => {
    const report = file('report.md', '# Run\n');
    const summary = file('step-summary.md', 'earlier step\n');
    expect(writeGateFiles(tmp, result, { GITHUB_STEP_SUMMARY: summary })).toEqual([join(tmp, 'junit.xml'), report, summary]);
    expect(readFileSync(summary, 'utf8')).toBe(`earlier step\n# Run\n\n${section}\n`);
  });

  it('appends the gate table alone to GITHUB_STEP_SUMMARY when the folder has no report.md', () => {
    const summary = join(tmp, 'step-summary.md');
    expect(writeGateFiles(tmp, result, { GITHUB_STEP_SUMMARY: summary })).toEqual([join(tmp, 'junit.xml'), summary]);
    expect(readFileSync(summary, 'utf8')).toBe(`${table}\n`);
  });

  it('an empty GITHUB_STEP_SUMMARY is not a file to write', () => {
    expect(writeGateFiles(tmp, result, { GITHUB_STEP_SUMMARY: '' })).toEqual([join(tmp, 'junit.xml')]);
  });
});
