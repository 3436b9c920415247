// lab detect's pure parts: the leak checkers' output parsers on text captured from real
// runs (test/fixtures/detect/, written by `lab detect` on burst and leak), and how a
// scenario is scaled for the tools.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DETECT_SCALE, scaleForDetect } from '../../../harness/detect/detect.js';
import { parseHeapCheck, parseLsan, parseMemcheck } from '../../../harness/detect/parse.js';
import { ROOT } from '../../../harness/core/paths.js';
import { loadScenario } from '../../../harness/scenario/scenario.js';

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
  it('LeakSanitizer: the check asked for before the stop and the one at exit report the same leaks once (kv-unreachable)', () => {
    const r = parseLsan(fixture('lsan-two-reports.log'), true);
    expect(r.leaked).toEqual({ bytes: 241_682_608, blocks: 809 });
    expect(r.definitelyLost!.bytes + r.indirectlyLost!.bytes).toBe(241_682_608);
    expect(r.definitelyLost!.blocks + r.indirectlyLost!.blocks).toBe(809);
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
