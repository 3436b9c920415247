// Progress lines when stderr is not a terminal, on hand-made progress events (a fake
// stream: pure logic): one line per phase, written when the phase ends, with the RSS at its
// start and at its end. The same from a real run: test/cli/progress.test.ts.
import { describe, expect, it } from 'vitest';
import { progressView } from '../../../harness/cli/progress.js';
import type { Progress } from '../../../harness/trial/runner.js';

const MiB = 1024 * 1024;

describe('progressView (not a terminal)', () => {
  it('writes each phase when it ends, with the RSS at its start and end', () => {
    const written: string[] = [];
    const view = progressView({ write: (s: string) => written.push(s), isTTY: false });
    const p = (phase: string, elapsedMs: number, rssMiB: number, variant = 'glibc'): Progress => ({
      scenario: 'burst', variant, trial: 1, trials: 1, phase, elapsedMs, totalMs: 11_500, rssBytes: rssMiB * MiB,
    });
    view.update(p('idle', 7_100, 120));
    view.update(p('idle', 9_900, 116.6));
    expect(written).toEqual([]);  // nothing until the phase ends
    view.update(p('after-release', 10_000, 116.6));  // the release has not acted yet
    view.update(p('after-release', 10_400, 12.3));
    view.update(p('after-release', 11_500, 12.1));
    expect(written).toEqual(['  burst glibc trial 1/1: idle 7.1-9.9 of 11.5 s, RSS 120.0 -> 116.6 MiB\n']);
    view.update(p('end', 11_800, 11.9));  // the trial's end closes its last phase
    expect(written[1]).toBe('  burst glibc trial 1/1: after-release 9.9-11.8 of 11.5 s, RSS 116.6 -> 11.9 MiB\n');
    view.update(p('baseline', 300, 8, 'tcmalloc'));  // a new trial: its own start
    expect(written).toHaveLength(2);
    view.line('failed: something');
    view.stop();
    expect(written.slice(2)).toEqual(['  burst tcmalloc trial 1/1: baseline 0.3-0.3 of 11.5 s, RSS 8.0 -> 8.0 MiB\n', 'failed: something\n']);
    view.stop();
    expect(written).toHaveLength(4);
  });
});

describe('progressView when phases last until a command exits', () => {
  it('says the total is a limit', () => {
    const written: string[] = [];
    const view = progressView({ write: (s: string) => written.push(s), isTTY: false });
    const p = (phase: string, elapsedMs: number): Progress => ({ scenario: 'kv', variant: 'glibc', trial: 1, trials: 1, phase, elapsedMs, totalMs: 275_500, totalIsLimit: true, rssBytes: 3 * MiB });
    view.update(p('fill-1', 1_100));
    view.update(p('clear-1', 1_200));
    expect(written).toEqual(['  kv glibc trial 1/1: fill-1 1.1-1.1 of at most 275.5 s, RSS 3.0 -> 3.0 MiB\n']);
  });
});
