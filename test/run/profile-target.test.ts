// Growth profiles of a target: the lab's relay-glibc binary run as a *target* in leak mode
// (5% of requests kept for good), jemalloc or tcmalloc preloaded with their samplers on,
// dumps taken through the probe's `profile-dump`, symbolized against the target's own
// binary (the path in run.json). The top growth site must be the function that keeps the
// leaked requests, as for the built-in relay. Real processes, real profilers.
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../harness/core/paths.js';
import { type DumpEvent, type SummaryRow } from '../../harness/core/types.js';
import { LAB, NODE } from '../lab-cli.js';

const out = mkdtempSync(join(tmpdir(), 'leaklab-profile-target-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const KEEPER = 'leaklab::Relay::PendingTable::Leak';

// The leak scenario's quick shape, the relay as a target: 16,000 requests of 32 KiB leak
// about 25 MiB, above the profile's 8 MiB floor.
const scenario = {
  name: 'leaky-target',
  description: 'relay-glibc as a target in leak mode (test/run/profile-target.test.ts)',
  target: {
    command: ['{lab_build}/relay-glibc', '--port', '{port}', '--upstream-port', '{port_up}', '--threads', '2', '--leak-rate', '0.05'],
    helpers: [{ name: 'upstream', command: ['{lab_build}/upstream', '--port', '{port_up}', '--delay-ms', '5', '--response-bytes', '1024'], ready: { tcp: '{port_up}' } }],
    ready: { tcp: '{port}' },
    port: '{port}',
    release: { method: 'probe' },
  },
  seed: 11,
  phases: [
    { name: 'baseline', duration: '500ms', load: { closed: 8, size: '4KiB' } },
    { name: 'steady', duration: '30s', load: { closed: 64, size: '32KiB', requests: 16000 } },
    { name: 'drain', duration: '500ms' },
    { name: 'idle', duration: '1s' },
    { name: 'after-release', duration: '1s', actions: ['release'] },
  ],
};

describe('lab --scenario <target in leak mode> --profile', () => {
  const dir = join(out, 'run');
  let run: { dir: string; summary: SummaryRow[]; binary: string; dumps: Array<DumpEvent & { variant: string }> } | undefined;
  it('runs', async () => {
    const file = join(out, 'leaky-target.json');
    writeFileSync(file, JSON.stringify(scenario, null, 2));
    const r = await execa(NODE, [...LAB, '--scenario', file, '--variants', 'jemalloc,tcmalloc,glibc', '--profile', '--out', dir],
      { cwd: ROOT, reject: false, timeout: 400_000, env: { FORCE_COLOR: '0' } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/variant glibc is not profiled: glibc malloc has no heap profiler/);
    const d = join(dir, readlinkSync(join(dir, 'latest')));
    const info = JSON.parse(readFileSync(join(d, 'run.json'), 'utf8'));
    run = {
      dir: d,
      summary: JSON.parse(readFileSync(join(d, 'summary.json'), 'utf8')) as SummaryRow[],
      binary: info.targets['leaky-target'].binary.path,
      dumps: readFileSync(join(d, 'events.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.type === 'profile'),
    };
  }, 420_000);

  it.each(['jemalloc', 'tcmalloc'])('%s preloaded: the probe takes the dumps, and the top growth site is the function that keeps the leaked requests', (variant) => {
    const { summary, dumps, binary } = run!;
    expect(binary).toBe(join(ROOT, 'build', 'native', 'relay-glibc'));
    const mine = dumps.filter((d) => d.variant === variant);
    expect(mine.length).toBeGreaterThanOrEqual(2);
    for (const d of mine) expect(d.ok, d.error).toBe(true);
    // The probe reports no in-flight count: the pre-release dump is not waited for, and says so.
    expect(mine.find((d) => d.beforeRelease)?.quiet).toEqual({ inFlight: null, waitedMs: 0, timedOut: false });
    const row = summary.find((r) => r.variant === variant)!;
    expect(row.profile?.status, JSON.stringify(row.profile)).toBe('profiled');
    expect(row.growth?.[0]?.site).toBe(KEEPER);
    expect(row.growth![0]!.share).toBeGreaterThanOrEqual(0.5);
    expect(String(row.verdict?.evidence.profile)).toContain(KEEPER);
    const files = join(run!.dir, 'profiles', 'leaky-target', `${variant}-1`);
    for (const f of ['01-baseline.heap', 'diff.txt', 'collapsed.txt', 'growth.json']) expect(existsSync(join(files, f)), f).toBe(true);
  });

  it('glibc preloaded is reported as not profiled, not skipped', () => {
    const row = run!.summary.find((r) => r.variant === 'glibc')!;
    expect(row.profile).toEqual({ status: 'unsupported', reason: expect.stringMatching(/glibc malloc has no heap profiler/) });
  });
});
