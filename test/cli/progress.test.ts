// Progress lines when stderr is not a terminal: one line per phase, written when the phase
// ends, with the RSS at its start and at its end. First on hand-made progress events (a
// fake stream: pure logic), then from a real `lab run` reading its stderr.
import { parse } from 'csv-parse/sync';
import { execa } from 'execa';
import { mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { progressView } from '../../harness/cli/progress.js';
import { ROOT } from '../../harness/core/paths.js';
import { formatMiB } from '../../harness/core/units.js';
import type { Progress } from '../../harness/run/runner.js';
import { LAB, NODE } from '../lab-cli.js';

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

describe('lab run progress on stderr', () => {
  const out = mkdtempSync(join(tmpdir(), 'leaklab-progress-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('shows each phase with the RSS at its start and end; after-release ends after the release acted (tcmalloc, burst --quick)', async () => {
    const r = await execa(NODE, [...LAB, '--scenario', 'burst', '--quick', '--variants', 'tcmalloc', '--out', out],
      { cwd: ROOT, reject: false, timeout: 180_000, env: { FORCE_COLOR: '0' } });
    expect(r.exitCode, r.stderr).toBe(0);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('  burst tcmalloc trial 1/1: '));
    const re = /^ {2}burst tcmalloc trial 1\/1: (\S+) (\d+\.\d)-(\d+\.\d) of (\d+\.\d) s, RSS (\d+\.\d) -> (\d+\.\d) MiB$/;
    const parsed = lines.map((l) => {
      const m = re.exec(l);
      expect(m, l).not.toBeNull();
      return { phase: m![1], from: Number(m![2]), to: Number(m![3]), start: m![5]!, end: m![6]! };
    });
    expect(parsed.map((x) => x.phase)).toEqual(['baseline', 'burst', 'drain', 'idle', 'after-release']);
    for (let i = 1; i < parsed.length; i++) {
      // a phase starts with the RSS its predecessor ended with
      expect(parsed[i]!.start).toBe(parsed[i - 1]!.end);
      expect(parsed[i]!.from).toBe(parsed[i - 1]!.to);
    }
    expect(Number(parsed[1]!.end), lines.join('\n')).toBeGreaterThan(Number(parsed[1]!.start) + 20);

    // The printed RSS values are real samples of the run: the after-release line starts
    // with one taken before the release call and ends with one taken after it returned.
    const dir = join(out, readlinkSync(join(out, 'latest')));
    const statm = (parse(readFileSync(join(dir, 'samples.csv')), { columns: true }) as Array<Record<string, string>>)
      .filter((x) => x.source === 'statm').map((x) => ({ tMs: Number(x.t_ms), mib: formatMiB(Number(x.rss_bytes)) }));
    const release = readFileSync(join(dir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).find((e) => e.type === 'release');
    expect(release?.ok, JSON.stringify(release)).toBe(true);
    const returned = release.tMs + release.releaseMs;
    const after = parsed[4]!;
    expect(statm.some((x) => x.tMs < release.tMs && x.mib === after.start), `${after.start} MiB before ${release.tMs} ms`).toBe(true);
    expect(statm.some((x) => x.tMs > returned && x.mib === after.end), `${after.end} MiB after ${returned} ms`).toBe(true);
  }, 200_000);
});
