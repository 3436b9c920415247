// Growth profiles end to end, as a user runs them: `lab --profile` on the real relays with
// the real profilers (jemalloc prof.dump + jeprof, tcmalloc GetHeapSample + google-pprof).
// The leak scenario must name the relay function that keeps the leaked requests; burst must
// show no growth worth a verdict; glibc is reported as not profiled; a missing symbolizer
// exits 3 naming its package.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../harness/core/paths.js';
import { type DumpEvent, type SummaryRow } from '../../harness/core/types.js';
import { startLab } from '../support/relay-lab.js';
import { LAB, NODE } from '../lab-cli.js';
import { sharedRun } from '../support/shared-runs.js';

const out = mkdtempSync(join(tmpdir(), 'leaklab-profile-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function lab(args: string[], env: Record<string, string> = {}) {
  return execa(NODE, [...LAB, ...args], { cwd: ROOT, reject: false, timeout: 400_000, env: { FORCE_COLOR: '0', ...env } });
}
const latest = (dir: string) => join(dir, readlinkSync(join(dir, 'latest')));
const KEEPER = 'leaklab::Relay::PendingTable::Leak';

describe('lab --scenario leak --quick --profile --memory-limit 16GiB (the suite\'s shared leak, two shards merged)', () => {
  let dir = '';
  let stdout = '';
  let summary: SummaryRow[] = [];
  it('runs', async () => {
    const r = await sharedRun('leak');
    for (const shard of r.shards) expect(shard.exitCode, shard.stderr).toBe(0);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.shards.map((x) => x.stderr).join('\n')).toMatch(/variant glibc is not profiled: glibc malloc has no heap profiler/);
    stdout = r.shards.map((x) => x.stdout).join('\n');
    dir = r.dir;
    summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as SummaryRow[];
  }, 600_000);

  it.each(['jemalloc', 'tcmalloc'])('%s: the top growth site is the function that keeps the leaked requests, >= 50%%', (variant) => {
    const row = summary.find((r) => r.variant === variant)!;
    expect(row.profile?.status).toBe('profiled');
    expect(row.growth?.[0]?.site).toBe(KEEPER);
    expect(row.growth![0]!.share).toBeGreaterThanOrEqual(0.5);
    expect(row.growth![0]!.objects).toBeGreaterThan(0);
    // The evidence: the verdict (leak, or a disagreement when RSS did not call it one) names the site.
    expect(String(row.verdict?.evidence.profile)).toContain(KEEPER);
    const files = join(dir, 'profiles', 'leak', `${variant}-1`);
    for (const f of ['01-baseline.heap', 'diff.txt', 'collapsed.txt', 'collapsed-objects.txt']) expect(existsSync(join(files, f)), f).toBe(true);
    expect(readFileSync(join(files, 'collapsed.txt'), 'utf8')).toMatch(/PendingTable::Leak.* \d+$/m);
  });

  it('glibc is reported as not profiled, not skipped', () => {
    const row = summary.find((r) => r.variant === 'glibc')!;
    expect(row.profile).toEqual({ status: 'unsupported', reason: expect.stringMatching(/glibc malloc has no heap profiler/) });
    expect(stdout).toMatch(/glibc: .*\n\s+growth profile: no growth profile: glibc malloc has no heap profiler/);
  });

  it('a leak verdict carries the forecast; the terminal and both reports show the site', () => {
    // The leak scenario leaks on every allocator (test/scenarios.test.ts): three leak rows.
    expect(summary.map((r) => [r.variant, r.verdict?.kind])).toEqual([['glibc', 'leak'], ['tcmalloc', 'leak'], ['jemalloc', 'leak'], ['mimalloc', 'leak']]);
    for (const row of summary) {
      expect(row.forecast?.limitBytes).toBe(16 * 1024 ** 3);
      expect(row.forecast?.text).toMatch(/^[\d.]+ (B|KiB)\/request: at [\d,]+ req\/s the limit of 16 GiB is reached in /);
      expect(stdout).toContain(`forecast: ${row.forecast!.text}`);
    }
    expect(stdout).toContain(KEEPER);
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toContain(KEEPER);
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain(KEEPER);
  });

  it('report.html draws each profiled variant\'s flame graph, the leaking frame widest under the relay', () => {
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    for (const v of ['tcmalloc', 'jemalloc']) expect(html).toContain(`<h4>${v}: what grew, by call stack</h4>`);
    // The leaking frame carries most of what grew (the profile table says 99% for the site).
    const m = /title="leaklab::Relay::PendingTable::Leak: [\d.]+ MiB \(([\d.]+)%\)"/.exec(html);
    expect(m, 'a PendingTable::Leak frame in the flame graph').not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(80);
  });
});

describe('lab --scenario burst --quick --profile: no false alarm', () => {
  const dir = join(out, 'burst');
  let summary: SummaryRow[] = [];
  let dumps: DumpEvent[] = [];
  it('runs', async () => {
    const r = await lab(['--scenario', 'burst', '--quick', '--variants', 'jemalloc,tcmalloc', '--profile', '--out', dir]);
    expect(r.exitCode, r.stderr).toBe(0);
    summary = JSON.parse(readFileSync(join(latest(dir), 'summary.json'), 'utf8')) as SummaryRow[];
    dumps = readFileSync(join(latest(dir), 'events.jsonl'), 'utf8').split('\n').filter(Boolean)
      .map((l) => JSON.parse(l) as DumpEvent & { variant: string }).filter((e) => e.type === 'profile');
  }, 420_000);

  it.each(['jemalloc', 'tcmalloc'])('%s: the pre-release dump waited for nothing in flight; growth stays below the floor, no leak', (variant) => {
    // The dump before the release is taken once the relay reports no request in flight.
    const end = dumps.find((d) => (d as DumpEvent & { variant: string }).variant === variant && d.beforeRelease);
    expect(end?.ok, end?.error).toBe(true);
    expect(end?.quiet).toEqual({ inFlight: 0, waitedMs: expect.any(Number), timedOut: false });
    const row = summary.find((r) => r.variant === variant)!;
    expect(row.profile?.status, JSON.stringify(row.profile)).toBe('profiled');
    if (row.profile?.status !== 'profiled') return;
    expect(row.profile.inFlightAtDump).toBe(0);
    // Below the profile's 8 MiB floor (docs/profiles.md): a burst frees everything it took.
    expect(row.profile.grownBytes).toBeLessThan(8 * 1024 * 1024);
    // burst --quick: tcmalloc and jemalloc keep what the burst freed until the release.
    expect(row.verdict?.kind).toBe('retention');
    expect(row.verdict?.evidence.profileDisagrees).toBeUndefined();
    expect(String(row.verdict?.evidence.profile)).toMatch(/shows no growth in the program's live bytes/);
  });
});

describe('missing symbolizer', () => {
  it('exits 3 naming the package', async () => {
    // A PATH with everything in /usr/bin but jeprof and google-pprof (/bin is /usr/bin here).
    const bin = join(out, 'bin');
    mkdirSync(bin, { recursive: true });
    for (const name of readdirSync('/usr/bin')) {
      if (name === 'jeprof' || name === 'google-pprof') continue;
      try {
        if (statSync(join('/usr/bin', name)).isFile()) symlinkSync(join('/usr/bin', name), join(bin, name));
      } catch { /* a dangling link in /usr/bin */ }
    }
    const r = await lab(['--scenario', 'leak', '--quick', '--variants', 'jemalloc', '--profile', '--out', out], { PATH: bin });
    expect(r.stderr).toMatch(/jeprof \(for --profile on jemalloc\) not found; install it with: sudo apt-get install libjemalloc-dev/);
    expect(r.exitCode).toBe(3);
  }, 120_000);
});

describe('the relay\'s profile-dump command', () => {
  it.each([
    ['glibc', {}, /glibc malloc has no heap profiler/],
    ['jemalloc', {}, /jemalloc heap profiling is off: start the relay with MALLOC_CONF=prof:true/],
    ['tcmalloc', {}, /tcmalloc heap sampling is off: start the relay with TCMALLOC_SAMPLE_PARAMETER/],
  ] as const)('%s without profiling answers an error saying how to turn it on', async (allocator, env, error) => {
    const l = await startLab(allocator, [], [], env);
    try {
      expect(await l.admin.command(`profile-dump ${join(out, `${allocator}.heap`)}`)).toEqual({ ok: false, error: expect.stringMatching(error) });
      expect(await l.admin.command('profile-dump relative.heap')).toEqual({ ok: false, error: 'usage: profile-dump <absolute path>' });
    } finally {
      await l.stop();
    }
  });
  it('jemalloc with prof:true writes the dump and answers {ok, path}', async () => {
    const l = await startLab('jemalloc', [], [], { MALLOC_CONF: 'prof:true' });
    const path = join(out, 'jemalloc-on.heap');
    try {
      expect(await l.admin.command(`profile-dump ${path}`)).toEqual({ ok: true, path });
      expect(readFileSync(path, 'utf8')).toMatch(/^heap_v2\//);
    } finally {
      await l.stop();
    }
  });
});
