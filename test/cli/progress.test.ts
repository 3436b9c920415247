// Progress lines when stderr is not a terminal, from a real `lab run` (the suite's shared
// burst, test/support/shared-runs.ts) reading its stderr: one line per phase, written when
// the phase ends, with the RSS at its start and at its end (the same on hand-made events:
// test/unit/cli/progress.test.ts).
import { parse } from 'csv-parse/sync';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatMiB } from '../../harness/core/units.js';
import { sharedRun } from '../support/shared-runs.js';

describe('lab run progress on stderr', () => {
  it('shows each phase with the RSS at its start and end; after-release ends after the release acted (tcmalloc, burst --quick)', async () => {
    const r = await sharedRun('burst');
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
    const dir = r.dir;
    const statm = (parse(readFileSync(join(dir, 'samples.csv')), { columns: true }) as Array<Record<string, string>>)
      .filter((x) => x.source === 'statm' && x.variant === 'tcmalloc').map((x) => ({ tMs: Number(x.t_ms), mib: formatMiB(Number(x.rss_bytes)) }));
    const release = readFileSync(join(dir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).find((e) => e.type === 'release' && e.variant === 'tcmalloc');
    expect(release?.ok, JSON.stringify(release)).toBe(true);
    const returned = release.tMs + release.releaseMs;
    const after = parsed[4]!;
    expect(statm.some((x) => x.tMs < release.tMs && x.mib === after.start), `${after.start} MiB before ${release.tMs} ms`).toBe(true);
    expect(statm.some((x) => x.tMs > returned && x.mib === after.end), `${after.end} MiB after ${returned} ms`).toBe(true);
  }, 200_000);
});
