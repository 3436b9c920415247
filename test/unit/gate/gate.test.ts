// The gate on hand-built summaries (fake summaries: pure logic, no process involved).
import { describe, expect, it } from 'vitest';
import { parseCeilings, parseLimit, type CeilingsInput } from '../../../harness/gate/ceilings.js';
import { checkCeilings, parseRegression, runGate, type GateRun } from '../../../harness/gate/gate.js';
import { LabError } from '../../../harness/core/errors.js';
import { checkMessage, gateMarkdown, gateText } from '../../../harness/report/gate.js';
import { escapeXml, junitXml } from '../../../harness/report/junit.js';
import type { SummaryRow } from '../../../harness/core/types.js';
import type { Allocator } from '../../../harness/allocators/variants.js';

const MiB = 1024 * 1024;
const KNOWN = {
  scenarios: ['burst', 'steady'],
  variants: ['glibc', 'tcmalloc', 'jemalloc', 'mimalloc'],
  phases: { burst: ['baseline', 'burst', 'drain', 'idle', 'after-release'] },
};

function fakeRow(variant: Allocator, m: Record<string, number | null>, scenario = 'burst'): SummaryRow {
  return {
    scenario, variant, allocator: variant, trials: 1, failedTrials: 0,
    metrics: Object.fromEntries(Object.entries(m).map(([k, v]) => [k, { median: v, min: v, max: v }])),
  };
}

/** A fake summary of burst --quick on glibc and tcmalloc. */
function fakeRun(overrides: Partial<GateRun> = {}): GateRun {
  return {
    quick: true,
    scenarios: ['burst'],
    variants: ['glibc', 'tcmalloc'],
    summary: [
      fakeRow('glibc', { peakRss: 200 * MiB, retainedRss: 30 * MiB, releasedRss: 5 * MiB, releaseMs: 3, retention: 0.15, 'p99.burst': 520 }),
      fakeRow('tcmalloc', { peakRss: 210 * MiB, retainedRss: 209 * MiB, releasedRss: 12 * MiB, releaseMs: 20, retention: 1, 'p99.burst': 530 }),
    ],
    ...overrides,
  };
}

const ceilings = (c: CeilingsInput) => parseCeilings(c, 'ceilings.ts', KNOWN);
const gate = (c: CeilingsInput, run = fakeRun()) => runGate({ runDir: '/r', run, ceilings: ceilings(c) });
const statusOf = (c: CeilingsInput, run = fakeRun()) => gate(c, run).checks.map((x) => `${x.variant} ${x.metric} ${x.status}`);

function labError(f: () => unknown): LabError {
  try {
    f();
  } catch (err) {
    if (err instanceof LabError) return err;
    throw err;
  }
  throw new Error('expected a LabError');
}

describe('limits: under, at and over each kind', () => {
  it.each([
    ['bytes', 'peakRss', '200MiB', '201MiB', '199MiB'],
    ['bytes (plain number)', 'peakRss', 200 * MiB, 200 * MiB + 1, 200 * MiB - 1],
    ['ms', 'releaseMs', '3ms', '4ms', '2ms'],
    ['ratio', 'retention', 0.15, '16%', '0.14'],
    ['per-phase latency (ms)', 'p99.burst', '520ms', '1s', '519ms'],
  ])('%s', (_, metric, at, above, below) => {
    const only = (limit: string | number) => gate({ 'burst --quick': { glibc: { [metric]: limit } } }).checks[0]!;
    expect(only(at).status).toBe('pass');
    expect(only(above).status).toBe('pass');
    const over = only(below);
    expect(over.status).toBe('fail');
    expect(over.actual).toBeGreaterThan(over.limit!);
  });

  it('says by how much a ceiling was exceeded, in the metric\'s unit', () => {
    const g = gate({ 'burst --quick': { tcmalloc: { retainedRss: '200MiB', releaseMs: '15ms', retention: 0.5 } } });
    expect(g.failed).toBe(3);
    const text = gateText(g);
    expect(text).toContain('exceeded by 9 MiB (+4.5%)');
    expect(text).toContain('exceeded by 5 ms (+33.3%)');
    expect(text).toContain('exceeded by 0.5 (+100%)');
    expect(text).toMatch(/gate failed: 3 of 3 checks over their limit/);
    expect(checkMessage(g.checks[0]!)).toBe('burst --quick / tcmalloc / retainedRss: 209 MiB is over the ceiling 200MiB, exceeded by 9 MiB (+4.5%)');
  });

  it('parses each unit and names what is wrong', () => {
    expect(parseLimit('512MiB', 'bytes')).toBe(512 * MiB);
    expect(parseLimit('1.5s', 'ms')).toBe(1500);
    expect(parseLimit('20%', 'ratio')).toBeCloseTo(0.2);
    expect(parseLimit('0.2', 'ratio')).toBeCloseTo(0.2);
    expect(parseLimit(3, 'count')).toBe(3);
    expect(parseLimit('40ms', 'bytes')).toMatch(/'40ms' is not a size/);
    expect(parseLimit('512MiB', 'ms')).toMatch(/is not a duration/);
    expect(parseLimit('lots', 'ratio')).toMatch(/is not a ratio/);
  });
});

describe('which entries apply', () => {
  it('`*` covers every variant of the run; a variant\'s own entry for a metric replaces it', () => {
    expect(statusOf({ 'burst --quick': { '*': { peakRss: '205MiB', releasedRss: '20MiB' }, tcmalloc: { peakRss: '300MiB' } } }).sort()).toEqual([
      'glibc peakRss pass', 'glibc releasedRss pass', 'tcmalloc peakRss pass', 'tcmalloc releasedRss pass',
    ]);
    expect(gate({ 'burst --quick': { '*': { peakRss: '205MiB' } } }).failed).toBe(1);  // tcmalloc at 210 MiB
  });

  it('lists entries for variants, scenarios and run forms this run did not include as not run', () => {
    const g = gate({
      'burst --quick': { glibc: { peakRss: '1GiB' }, jemalloc: { peakRss: '1GiB' } },
      'steady --quick': { '*': { peakRss: '1GiB' } },
      burst: { '*': { peakRss: '1GiB' } },
    });
    expect(g.checks.map((c) => [c.scenario, c.quick, c.variant, c.status, c.reason])).toEqual([
      ['burst', true, 'glibc', 'pass', ''],
      ['burst', true, 'jemalloc', 'not-run', 'variant not in this run'],
      ['steady', true, '*', 'not-run', 'scenario not in this run'],
      ['burst', false, '*', 'not-run', 'for full-size runs; this run was --quick'],
    ]);
    expect([g.passed, g.failed, g.notRun]).toEqual([1, 0, 3]);
    expect(gateText(g)).toContain('gate passed: 1 of 1 checks within their limits; 3 not run');
  });

  it('holds a full-size run only to full-size entries', () => {
    const g = gate({ burst: { glibc: { peakRss: '150MiB' } }, 'burst --quick': { glibc: { peakRss: '1GiB' } } }, fakeRun({ quick: false }));
    expect(g.checks.map((c) => `${c.quick} ${c.status}`)).toEqual(['false fail', 'true not-run']);
  });

  it('fails a check that has no value rather than passing it', () => {
    const summary = [...fakeRun().summary];
    summary[1] = { ...summary[1]!, trials: 0, failedTrials: 1, metrics: {} };
    const run = fakeRun({ summary });
    const g = gate({ 'burst --quick': { '*': { peakRss: '1GiB', peakAllocated: '1GiB' } } }, run);
    expect(g.checks.map((c) => `${c.variant} ${c.metric} ${c.status}: ${c.reason}`)).toEqual([
      'glibc peakRss pass: ',
      'glibc peakAllocated fail: no value: \'peakAllocated\' was not measured for glibc',
      'tcmalloc peakRss fail: no value: every trial failed (1)',
      'tcmalloc peakAllocated fail: no value: every trial failed (1)',
    ]);
  });
});

describe('errors (exit 2), never a silent pass', () => {
  it.each([
    [{ 'burst --quick': { '*': { peakRSS: '1GiB' } } }, /\['burst --quick'\]\.\*\.peakRSS: unknown metric 'peakRSS'; valid: baselineRss, peakRss/],
    [{ 'burst --quick': { hoard: { peakRss: '1GiB' } } }, /\['burst --quick'\]\.hoard: unknown variant 'hoard'; valid: \*, glibc/],
    [{ nope: { '*': { peakRss: '1GiB' } } }, /nope: no scenario named 'nope'; scenarios are burst, steady/],
    [{ 'burst --fast': { '*': { peakRss: '1GiB' } } }, /\['burst --fast'\]: expected '<scenario>' or '<scenario> --quick'/],
    [{ burst: { '*': { 'p99.bursty': '1s' } } }, /burst\.\*\['p99\.bursty'\]: no phase named 'bursty' in scenario 'burst'; phases are baseline, burst/],
    [{ burst: { '*': { peakRss: '40ms' } } }, /burst\.\*\.peakRss: '40ms' is not a size/],
    [{ burst: { '*': { 'throughput.burst': 100 } } }, /throughput is higher-is-better/],
    [{ burst: { '*': { peakRss: true } } }, /burst\.\*\.peakRss: /],
    [[1, 2], /\(top level\): expected an object/],
  ])('%j', (input, message) => {
    const e = labError(() => ceilings(input as CeilingsInput));
    expect(e.id).toBe('badCeilings');
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(/^invalid ceilings ceilings\.ts:/);
    expect(e.message).toMatch(message);
  });

  it('a gate that finds no applicable ceiling is an error', () => {
    const none: CeilingsInput[] = [{}, { burst: { '*': { peakRss: '1GiB' } } }, { 'burst --quick': { jemalloc: { peakRss: '1GiB' } } }];
    for (const c of none) {
      const e = labError(() => gate(c));
      expect(e.id).toBe('noCeilings');
      expect(e.exitCode).toBe(2);
      expect(e.message).toContain("add entries under 'burst --quick'");
    }
  });
});

describe('baseline regression', () => {
  const base = fakeRun();
  const worse = fakeRun({ summary: [fakeRow('glibc', { peakRss: 221 * MiB, releasedRss: 5.5 * MiB }), base.summary[1]!] });  // glibc +10.5%, +10%
  const c = { 'burst --quick': { '*': { peakRss: '1GiB', releasedRss: '1GiB' } } };
  const withBaseline = (maxRegression: number, b = base) =>
    runGate({ runDir: '/r', run: worse, ceilings: ceilings(c), baseline: { dir: '/base', quick: b.quick, summary: b.summary, maxRegression } });

  it('holds each gated metric to baseline x (1 + max regression), at the limit passing', () => {
    const g = withBaseline(0.1);
    const rel = g.checks.filter((x) => x.kind === 'baseline');
    expect(rel.map((x) => `${x.variant} ${x.metric} ${x.status}`)).toEqual([
      'glibc peakRss fail', 'glibc releasedRss pass', 'tcmalloc peakRss pass', 'tcmalloc releasedRss pass',
    ]);
    expect(rel[0]!.limit).toBeCloseTo(220 * MiB);
    expect(g.failed).toBe(1);
    expect(gateText(g)).toMatch(/peakRss \(baseline\)\s+220 MiB \(\+10% of baseline 200 MiB\)\s+221 MiB\s+exceeded by 1 MiB/);
    expect(withBaseline(0.2).failed).toBe(0);
  });

  it('lists what the baseline did not run as not run, and refuses a baseline of the other form', () => {
    const g = withBaseline(0.1, { ...base, summary: base.summary.slice(0, 1) });
    expect(g.checks.filter((x) => x.kind === 'baseline' && x.status === 'not-run').map((x) => x.variant)).toEqual(['tcmalloc', 'tcmalloc']);
    expect(labError(() => withBaseline(0.1, { ...base, quick: false })).id).toBe('baselineMismatch');
  });

  it('parses --max-regression', () => {
    expect(parseRegression('10%')).toBeCloseTo(0.1);
    expect(parseRegression('0.1')).toBeCloseTo(0.1);
    expect(parseRegression('10')).toBeUndefined();
    expect(parseRegression('ten')).toBeUndefined();
  });
});

describe('junit.xml and Markdown', () => {
  it('writes one testcase per check, failures with their message, not-run as skipped, XML escaped', () => {
    const g = gate({ 'burst --quick': { glibc: { peakRss: '100MiB' }, tcmalloc: { peakRss: '1GiB' }, jemalloc: { peakRss: '1GiB' } } });
    const xml = junitXml(g);
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="leak-lab gate" tests="3" failures="1" errors="0" skipped="1">/);
    expect(xml.match(/<testcase /g)).toHaveLength(3);
    expect(xml).toContain('<failure message="burst --quick / glibc / peakRss: 200 MiB is over the ceiling 100MiB, exceeded by 100 MiB (+100%)" type="ceiling">');
    expect(xml).toContain('name="glibc peakRss &lt;= 100MiB"');
    expect(xml).toContain('<skipped message="not run: variant not in this run"/>');
    expect(escapeXml('a<b>&"c"\'\u0001')).toBe('a&lt;b&gt;&amp;&quot;c&quot;&apos;');
  });

  it('renders the same table as Markdown', () => {
    const md = gateMarkdown(gate({ 'burst --quick': { glibc: { peakRss: '100MiB' } } }));
    expect(md).toContain('### leak-lab gate: failed');
    expect(md).toContain('| scenario | variant | metric | limit | actual | result |');
    expect(md).toContain('| burst --quick | glibc | peakRss | 100MiB | 200 MiB | ❌ exceeded by 100 MiB (+100%) |');
  });
});

describe('checkCeilings alone', () => {
  it('keeps the file order of scenarios and the run order of variants', () => {
    const checks = checkCeilings(ceilings({ 'burst --quick': { tcmalloc: { peakRss: '1GiB' }, glibc: { peakRss: '1GiB' } } }), fakeRun());
    expect(checks.map((c) => c.variant)).toEqual(['glibc', 'tcmalloc']);
  });
});

describe('which row and which entry a check reads', () => {
  // A fake run of burst and steady on glibc and tcmalloc, with a different peak per scenario.
  const twoScenarios = fakeRun({
    scenarios: ['burst', 'steady'],
    summary: [
      fakeRow('glibc', { peakRss: 200 * MiB }, 'burst'), fakeRow('tcmalloc', { peakRss: 210 * MiB }, 'burst'),
      fakeRow('glibc', { peakRss: 50 * MiB }, 'steady'), fakeRow('tcmalloc', { peakRss: 60 * MiB }, 'steady'),
    ],
  });

  it('reads the row of the entry\'s scenario', () => {
    const g = gate({ 'steady --quick': { glibc: { peakRss: '100MiB' } } }, twoScenarios);
    expect(g.checks.map((c) => [c.scenario, c.variant, c.actual, c.status])).toEqual([['steady', 'glibc', 50 * MiB, 'pass']]);
  });

  it('lets a variant\'s own entry replace `*` only for the same scenario, run form and metric', () => {
    const g = gate({
      'burst --quick': { '*': { peakRss: '1GiB' } },
      'steady --quick': { glibc: { peakRss: '1GiB' } },
      burst: { glibc: { peakRss: '1GiB' } },
    }, twoScenarios);
    expect(g.checks.map((c) => `${c.scenario}${c.quick ? ' --quick' : ''} ${c.variant} ${c.status}`)).toEqual([
      'burst --quick glibc pass', 'burst --quick tcmalloc pass', 'steady --quick glibc pass', 'burst glibc not-run',
    ]);
  });

  it('orders checks by scenario as the file lists them, then variant as the run does, then as the file lists metrics', () => {
    const g = gate({
      'steady --quick': { tcmalloc: { releasedRss: '1GiB', peakRss: '1GiB' }, jemalloc: { peakRss: '1GiB' }, glibc: { peakRss: '1GiB' } },
      'burst --quick': { tcmalloc: { peakRss: '1GiB' }, '*': { releasedRss: '1GiB' } },
    }, twoScenarios);
    expect(g.checks.map((c) => `${c.scenario} ${c.variant} ${c.metric}`)).toEqual([
      'steady glibc peakRss', 'steady tcmalloc releasedRss', 'steady tcmalloc peakRss', 'steady jemalloc peakRss',
      'burst glibc releasedRss', 'burst tcmalloc peakRss', 'burst tcmalloc releasedRss',
    ]);
  });

  it('says why an exceeded check failed, and why an entry for --quick runs did not run', () => {
    expect(gate({ 'burst --quick': { glibc: { peakRss: '100MiB' } } }).checks[0]!.reason).toBe('exceeded');
    const full = gate({ burst: { glibc: { peakRss: '1GiB' } }, 'burst --quick': { glibc: { peakRss: '1GiB' } } }, fakeRun({ quick: false }));
    expect(full.checks[1]!.reason).toBe('for --quick runs; this run was full-size');
  });
});

describe('baseline checks', () => {
  const c = { 'burst --quick': { glibc: { peakRss: '1GiB', releasedRss: '1GiB' }, jemalloc: { peakRss: '1GiB' } } };
  const withBaseline = (summary: SummaryRow[], maxRegression = 0.1, quick = true) =>
    runGate({ runDir: '/r', run: fakeRun(), ceilings: ceilings(c), baseline: { dir: '/base', quick, summary, maxRegression } });

  it('only for ceiling checks that ran, from the baseline row of the same scenario and variant', () => {
    // The baseline has jemalloc (not in this run) and a steady row that must not be read.
    const g = withBaseline([
      fakeRow('glibc', { peakRss: 100 * MiB, releasedRss: 100 * MiB }, 'steady'),
      fakeRow('glibc', { peakRss: 190 * MiB, releasedRss: 5 * MiB }),
      fakeRow('jemalloc', { peakRss: 100 * MiB }),
    ]);
    expect(g.baseline).toEqual({ dir: '/base', maxRegression: 0.1 });
    const rel = g.checks.filter((x) => x.kind === 'baseline');
    // glibc: 200 MiB against 190 x 1.1 = 209 MiB; 5 MiB against 5.5 MiB.
    expect(rel.map((x) => [x.variant, x.metric, x.baseline, x.status])).toEqual([['glibc', 'peakRss', 190 * MiB, 'pass'], ['glibc', 'releasedRss', 5 * MiB, 'pass']]);
    expect(rel[0]!.limit).toBeCloseTo(209 * MiB, 3);
    expect(rel[0]!.limitText).toBe('+10% of baseline');
  });

  it('a metric the baseline row lacks is not run, with the limit as text', () => {
    const g = withBaseline([fakeRow('glibc', { peakRss: 190 * MiB })], 0.125);
    const missing = g.checks.find((x) => x.kind === 'baseline' && x.metric === 'releasedRss')!;
    expect(missing).toMatchObject({ status: 'not-run', reason: 'not in the baseline run', limit: null, limitText: '+12.5% of baseline', actual: 5 * MiB });
  });

  it('refuses a baseline of the other form, naming both forms', () => {
    const e = labError(() => withBaseline([], 0.1, false));
    expect(e.message).toBe('--baseline /base: it is a full-size run and this one is --quick; compare against a run of the same form');
    const full = labError(() => runGate({ runDir: '/r', run: fakeRun({ quick: false }), ceilings: ceilings({ burst: { glibc: { peakRss: '1GiB' } } }), baseline: { dir: '/b', quick: true, summary: [], maxRegression: 0.1 } }));
    expect(full.message).toBe('--baseline /b: it is a --quick run and this one is full-size; compare against a run of the same form');
  });
});

describe('parseRegression, exactly', () => {
  it('takes a percentage or a fraction up to 1, with spaces around', () => {
    expect(parseRegression(' 10% ')).toBeCloseTo(0.1, 12);
    expect(parseRegression('12.5%')).toBeCloseTo(0.125, 12);
    expect(parseRegression('0.15')).toBeCloseTo(0.15, 12);
    expect(parseRegression('1')).toBe(1);
    expect(parseRegression('150%')).toBe(1.5);
  });
  it('refuses anything around the number', () => {
    for (const bad of ['x10%', '10%x', '1.5', '-10%']) expect(parseRegression(bad), bad).toBeUndefined();
  });
});
