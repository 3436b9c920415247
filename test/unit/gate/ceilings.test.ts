// Ceilings files (harness/gate/ceilings.ts; docs/gates.md "The ceilings file"): limits in
// each metric's unit, the names that exist, exact messages naming the field, and reading
// a file (.json, or a module's default export) from os.tmpdir(), removed after each test.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LabError } from '../../../harness/core/errors.js';
import { defineCeilings, parseCeilings, parseLimit, readCeilingsFile, type KnownNames } from '../../../harness/gate/ceilings.js';

const MiB = 1024 * 1024;
const SIZE = 'a size such as 512, "64KiB", "1.5MiB", "1GiB" (B, KiB, MiB, GiB, KB, MB, GB)';
const RATIO = 'expected a fraction such as 0.2 or a percentage such as "20%"';
const COUNT = 'expected a whole number such as 3';

/** The issue lines of a rejected ceilings object. */
function issues(raw: unknown, known: KnownNames = { scenarios: ['burst', 'steady'], variants: ['glibc', 'tcmalloc', 'jemalloc'] }): string[] {
  try {
    parseCeilings(raw, 'c.json', known);
  } catch (err) {
    expect(err).toBeInstanceOf(LabError);
    expect((err as LabError).id).toBe('badCeilings');
    const [head, ...lines] = (err as Error).message.split('\n');
    expect(head).toBe('invalid ceilings c.json:');
    return lines.map((l) => l.replace(/^ {2}- /, ''));
  }
  return [];
}

describe('parseLimit', () => {
  it('sizes: text with a unit, or a number of bytes that is finite and not negative', () => {
    expect(parseLimit(0, 'bytes')).toBe(0);
    expect(parseLimit(512, 'bytes')).toBe(512);
    expect(parseLimit(-1, 'bytes')).toBe(`'-1' is not a size; expected ${SIZE}`);
    expect(parseLimit(Infinity, 'bytes')).toBe(`'Infinity' is not a size; expected ${SIZE}`);
  });
  it('bytes per request are sizes too (leakSlope)', () => {
    expect(parseLimit(64, 'bytes/request')).toBe(64);
    expect(parseLimit('1KiB', 'bytes/request')).toBe(1024);
    expect(parseLimit('64 B/request', 'bytes/request')).toBe(`'64 B/request' is not a size; expected ${SIZE}`);
  });
  it('durations: text or milliseconds', () => {
    expect(parseLimit('1.5s', 'ms')).toBe(1500);
    expect(parseLimit(40, 'ms')).toBe(40);
  });
  it('ratios: a fraction or a percentage, 0 included, not negative', () => {
    expect(parseLimit(0, 'ratio')).toBe(0);
    expect(parseLimit(0.6, 'ratio')).toBe(0.6);
    expect(parseLimit(' 20% ', 'ratio')).toBeCloseTo(0.2, 12);
    expect(parseLimit('12.5%', 'ratio')).toBeCloseTo(0.125, 12);
    for (const bad of ['x20%', '20%x', '-20%']) expect(parseLimit(bad, 'ratio')).toBe(`'${bad}' is not a ratio; ${RATIO}`);
    expect(parseLimit(-0.5, 'ratio')).toBe(`'-0.5' is not a ratio; ${RATIO}`);
    expect(parseLimit(Infinity, 'ratio')).toBe(`'Infinity' is not a ratio; ${RATIO}`);
  });
  it('counts: whole numbers, as numbers or text', () => {
    expect(parseLimit(0, 'count')).toBe(0);
    expect(parseLimit(3, 'count')).toBe(3);
    expect(parseLimit('3', 'count')).toBe(3);
    expect(parseLimit(' 33 ', 'count')).toBe(33);
    for (const bad of ['x3', '3x', '3.5', 'a', '-3']) expect(parseLimit(bad, 'count')).toBe(`'${bad}' is not a count; ${COUNT}`);
    for (const bad of [2.5, -1]) expect(parseLimit(bad, 'count')).toBe(`'${bad}' is not a count; ${COUNT}`);
  });
  it('throughput cannot have a ceiling', () => {
    expect(parseLimit(100, 'rps')).toBe('throughput is higher-is-better; a ceiling (an upper bound) cannot guard it');
  });
});

describe('parseCeilings', () => {
  it('turns each entry into a limit in the metric\'s unit, keeping the text as written', () => {
    const c = parseCeilings({ 'burst --quick': { '*': { peakRss: '320MiB', retention: '60%' }, tcmalloc: { requestsServed: '5', leakSlope: 16 } } }, 'c.json', { scenarios: ['burst'], variants: ['tcmalloc'] });
    expect(c).toEqual({
      file: 'c.json',
      entries: [
        { scenario: 'burst', quick: true, variant: '*', metric: 'peakRss', limit: 320 * MiB, text: '320MiB' },
        { scenario: 'burst', quick: true, variant: '*', metric: 'retention', limit: 0.6, text: '60%' },
        { scenario: 'burst', quick: true, variant: 'tcmalloc', metric: 'requestsServed', limit: 5, text: '5' },
        { scenario: 'burst', quick: true, variant: 'tcmalloc', metric: 'leakSlope', limit: 16, text: '16' },
      ],
    });
  });

  it('names each bad field by its path, plain names with dots, others quoted', () => {
    expect(issues({
      burst: { '*': { peakRss: '40ms' }, hoard: { peakRss: '1GiB' } },
      'steady --quick': { glibc: { 'p99.warm-up': '1s', retention: 'lots' } },
    })).toEqual([
      `burst.*.peakRss: '40ms' is not a size; expected ${SIZE}`,
      "burst.hoard: unknown variant 'hoard'; valid: *, glibc, tcmalloc, jemalloc",
      // No phases known for steady: any phase name is taken.
      `['steady --quick'].glibc.retention: 'lots' is not a ratio; ${RATIO}`,
    ]);
  });

  it('checks per-phase metrics only where the phases are known', () => {
    const known = { scenarios: ['burst', 'steady'], variants: ['glibc'], phases: { burst: ['baseline', 'burst'] } };
    expect(issues({ steady: { glibc: { 'p50.any': '1s' } }, burst: { glibc: { 'throughput.idle': 5 } } }, known))
      .toEqual(["burst.glibc['throughput.idle']: no phase named 'idle' in scenario 'burst'; phases are baseline, burst"]);
  });

  it('says what shape each level must have', () => {
    expect(issues({ burst: 5 })).toEqual(['burst: expected { <variant or *>: { <metric>: <limit> } }']);
    expect(issues({ burst: { '*': 5 } })).toEqual(['burst.*: expected { <metric>: <limit> }']);
    expect(issues('burst')).toEqual(['(top level): expected an object { <scenario> | "<scenario> --quick": { <variant or *>: { <metric>: <limit> } } }']);
  });

  it('defineCeilings returns its argument, for typing', () => {
    const c = { burst: { '*': { peakRss: '768MiB' } } };
    expect(defineCeilings(c)).toBe(c);
  });
});

describe('readCeilingsFile', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'leaklab-ceilings-'));
  });
  afterEach(() => {
    rmSync(tmp, { recursive: true, force: true });
  });
  const write = (name: string, text: string) => {
    const p = join(tmp, name);
    writeFileSync(p, text);
    return p;
  };
  async function loadError(path: string): Promise<LabError> {
    const e = await readCeilingsFile(path).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(LabError);
    expect((e as LabError).id).toBe('ceilingsLoad');
    expect((e as LabError).exitCode).toBe(2);
    return e as LabError;
  }

  it('reads a JSON file', async () => {
    const p = write('c.json', '{ "burst": { "*": { "peakRss": "320MiB" } } }');
    expect(await readCeilingsFile(p)).toEqual({ raw: { burst: { '*': { peakRss: '320MiB' } } }, file: p });
  });
  it('reads a module\'s default export', async () => {
    const p = write('c.mjs', 'export default { steady: { glibc: { peakRss: 1 } } };\n');
    expect(await readCeilingsFile(p)).toEqual({ raw: { steady: { glibc: { peakRss: 1 } } }, file: p });
  });
  it('names the file and what is wrong: missing, no default export, not JSON', async () => {
    const missing = join(tmp, 'nope.json');
    expect((await loadError(missing)).message).toBe(`cannot load ceilings ${missing}: no such file; pass another file with --ceilings FILE`);
    const none = write('none.mjs', 'export const ceilings = {};\n');
    expect((await loadError(none)).message).toBe(`cannot load ceilings ${none}: the file has no default export; pass another file with --ceilings FILE`);
    const broken = write('broken.json', '{ "burst": ');
    const e = await loadError(broken);
    expect(e.message).toMatch(new RegExp(`^cannot load ceilings ${broken}: .*JSON.*; pass another file with --ceilings FILE$`));
  });
});
