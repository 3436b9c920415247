// lab detect: the leak checkers' output parsers on text captured from real runs
// (test/fixtures/detect/, written by `lab detect` on burst and leak), and one real detect
// run through the CLI with memcheck, a heap-checker mode and LeakSanitizer.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DetectResult } from '../harness/detect/detect.js';
import { DETECT_SCALE, scaleForDetect } from '../harness/detect/detect.js';
import { parseHeapCheck, parseLsan, parseMemcheck } from '../harness/detect/parse.js';
import { ROOT } from '../harness/core/paths.js';
import { loadScenario } from '../harness/scenario/scenario.js';
import { LAB, NODE } from './lab-cli.js';

const fixture = (name: string) => readFileSync(join(ROOT, 'test', 'fixtures', 'detect', name), 'utf8');

describe('parsers on real tool output', () => {
  it('memcheck, burst: nothing lost, a little still reachable', () => {
    const r = parseMemcheck(fixture('memcheck-burst.log'));
    expect(r).toMatchObject({
      reported: true,
      definitelyLost: { bytes: 0, blocks: 0 }, indirectlyLost: { bytes: 0, blocks: 0 },
      possiblyLost: { bytes: 3600, blocks: 12 }, stillReachable: { bytes: 32_792, blocks: 194 },
      leaked: { bytes: 0, blocks: 0 },
    });
  });
  it('memcheck, leak: the leaked requests are "still reachable", not lost (thousands separators parsed)', () => {
    const r = parseMemcheck(fixture('memcheck-leak.log'));
    expect(r.definitelyLost).toEqual({ bytes: 0, blocks: 0 });
    expect(r.stillReachable?.bytes).toBeGreaterThan(8_000_000);
    expect(r.leaked).toEqual({ bytes: 0, blocks: 0 });
  });
  it('memcheck: no summary means no report', () => {
    expect(parseMemcheck('==1== Memcheck, a memory error detector\n').reported).toBe(false);
  });
  it('heap checker, normal: "No leaks found", with the reachable objects', () => {
    const r = parseHeapCheck(fixture('heapcheck-normal-leak.log'));
    expect(r).toMatchObject({ reported: true, leaked: { bytes: 0, blocks: 0 }, stillReachable: { bytes: 25_615_409, blocks: 1819 } });
    expect(r.headline).toMatch(/^No leaks found for check "_main_"/);
  });
  it('heap checker, draconian: every object not freed at exit is a leak, even on burst', () => {
    const burst = parseHeapCheck(fixture('heapcheck-draconian-burst.log'));
    expect(burst.reported).toBe(true);
    expect(burst.leaked!.bytes).toBeGreaterThan(0);
    expect(burst.headline).toMatch(/^Leak check _main_ detected leaks of \d+ bytes in \d+ objects$/);
    expect(parseHeapCheck(fixture('heapcheck-draconian-leak.log')).leaked!.bytes).toBeGreaterThan(burst.leaked!.bytes);
  });
  it('heap checker: no result line means no report (e.g. the relay left by _exit)', () => {
    expect(parseHeapCheck('WARNING: Perftools heap leak checker is active -- Performance may suffer\n').reported).toBe(false);
  });
  it('LeakSanitizer: silence after a normal exit is a clean check; silence after a kill is none', () => {
    expect(parseLsan(fixture('lsan-leak.log'), true)).toMatchObject({ reported: true, leaked: { bytes: 0, blocks: 0 } });
    expect(parseLsan(fixture('lsan-leak.log'), false).reported).toBe(false);
  });
  it('LeakSanitizer: direct and indirect records and the SUMMARY (a run with stack roots off)', () => {
    const r = parseLsan(fixture('lsan-no-stack-roots.log'), false);
    expect(r.leaked).toEqual({ bytes: 1_178_188, blocks: 141 });
    expect(r.definitelyLost!.bytes + r.indirectlyLost!.bytes).toBe(1_178_188);
    expect(r.indirectlyLost!.bytes).toBeGreaterThan(0);
  });
});

describe('scaling', () => {
  it('halves the quick form and caps the load', async () => {
    const { scenario } = await loadScenario('burst');
    const s = scaleForDetect(scenario);
    const burst = s.phases.find((p) => p.name === 'burst')!;
    expect(burst.duration).toBe(750);
    expect(burst.load?.mode === 'closed' && burst.load.concurrency).toBe(DETECT_SCALE.maxConcurrency);
    expect(s.upstream.delay).toBe(250);
  });
});

describe('a real detect run (leak scenario): memcheck, heap checker (normal), LeakSanitizer', () => {
  const out = mkdtempSync(join(tmpdir(), 'leaklab-detect-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));
  beforeAll(async () => {
    // Required, never skipped: npm run setup installs them.
    for (const [tool, install] of [['valgrind', 'apt-get install valgrind'], ['clang++', 'apt-get install clang libclang-rt-dev']] as const) {
      const r = await execa('sh', ['-c', 'command -v "$1"', 'sh', tool], { reject: false });
      if (r.exitCode !== 0) throw new Error(`${tool} is not installed: ${install} (or npm run setup)`);
    }
  });

  it('builds the table: the lab says leak, memcheck says still reachable, the checkers find nothing', async () => {
    const r = await execa(NODE, [...LAB, 'detect', '--scenario', 'leak', '--tools', 'memcheck,heapcheck-normal,lsan', '--json', '--out', out],
      { cwd: ROOT, reject: false, timeout: 150_000, env: { FORCE_COLOR: '0' } });
    expect(r.exitCode, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout) as DetectResult;
    const row = (tool: string) => d.rows.find((x) => x.tool === tool)!;
    expect(d.rows.map((x) => x.tool)).toEqual(['native', 'memcheck', 'heapcheck-normal', 'lsan']);
    for (const x of d.rows) {
      expect(x.status, `${x.tool}: ${x.error}`).toBe('complete');
      expect(x.exit).toBe('exit 0');
      expect(x.relayLeakedBytes).toBeGreaterThan(0);
    }
    expect(row('native').verdict?.kind).toBe('leak');
    expect(row('native').outcome).toBe('found');
    const mc = row('memcheck');
    expect(mc.report?.definitelyLost).toEqual({ bytes: 0, blocks: 0 });
    // The leaked requests are all still reachable (plus the relay's own tables).
    expect(mc.report!.stillReachable!.bytes).toBeGreaterThanOrEqual(mc.relayLeakedBytes!);
    expect(mc.outcome).toBe('missed');
    expect(row('heapcheck-normal').report?.reported).toBe(true);
    expect(row('heapcheck-normal').outcome).toBe('missed');
    expect(row('lsan').outcome).toBe('missed');
    expect(mc.rpsSlowdown).toBeGreaterThan(1);
    const dir = join(out, readdirSync(out).find((n) => n.endsWith('-leak-detect'))!);
    expect(readdirSync(dir)).toEqual(expect.arrayContaining(['detect.json', 'detect.md', 'memcheck.log', 'heapcheck-normal.log', 'lsan.log']));
    expect(readFileSync(join(dir, 'detect.md'), 'utf8')).toMatch(/\| memcheck \| 0 B \/ 0 \| 0 B \/ 0 \|.*\| no \(missed\) \|/);
  }, 170_000);
});
