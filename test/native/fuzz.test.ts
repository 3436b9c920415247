// The libFuzzer target frame_fuzz (native/fuzz/frame_fuzz.cc: frame codec + admin command
// parser, with ASan + UBSan) for a bounded number of runs from the seed corpus.
import { beforeAll, describe, expect, it } from 'vitest';
import { buildFuzzer } from '../../harness/tooling/build.js';
import { parseFuzzOutput, runFuzzer } from '../../harness/tooling/fuzz.js';

describe('frame_fuzz', () => {
  beforeAll(async () => { await buildFuzzer(); }, 180_000);

  it('runs 20000 inputs from the seed corpus without a crash or sanitizer report', async () => {
    const r = await runFuzzer({ runs: 20_000, maxLen: 4096 });
    expect(r.exitCode, r.output.slice(-4000)).toBe(0);
    expect(r.output).toContain('Done 20000 runs');
    expect(r.output).not.toMatch(/ERROR: AddressSanitizer|runtime error:|ERROR: libFuzzer/);
    expect(r.cov).toBeGreaterThan(0);
  });

  it('reads libFuzzer\'s final line', () => {
    const out = '#184326\tDONE   cov: 569 ft: 1887 corp: 170/18Kb lim: 960 exec/s: 46081 rss: 280Mb\nDone 184326 runs in 4 second(s)\n';
    expect(parseFuzzOutput(out)).toEqual({ runs: 184326, execPerSec: 46081, cov: 569, ft: 1887 });
  });
});
