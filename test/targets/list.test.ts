// `lab list --scenario`: the variants a scenario runs without --variants, first, then the
// others. A target shows `as-built` and the preload variants it takes or why each is refused;
// a built-in relay scenario never shows `as-built`.
import { expect, it } from 'vitest';
import { lab } from './helpers.js';

type Row = { id: string; allocator: string | null; available: boolean; version: string | null; reason: string | null; runs: boolean };

async function listJson(scenario: string): Promise<{ scenario: string; target: string[] | null; variants: Row[] }> {
  const r = await lab(['list', '--scenario', scenario, '--json']);
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

it('a plain-malloc target runs as-built and the four preload variants, each available', async () => {
  const l = await listJson('mosquitto-queue');
  expect(l.target?.[0]).toBe('mosquitto');
  const runs = l.variants.filter((v) => v.runs);
  expect(runs.map((v) => v.id)).toEqual(['glibc', 'tcmalloc', 'jemalloc', 'mimalloc', 'as-built']);
  for (const v of runs) expect([v.id, v.available, v.reason]).toEqual([v.id, true, null]);
  // The tuned variants come after, for --variants.
  expect(l.variants.find((v) => v.id === 'tcmalloc-rate0')).toMatchObject({ runs: false, available: true });
});

it('Redis (links jemalloc) runs as-built; a tcmalloc preload is listed as refused with the reason', async () => {
  const l = await listJson('redis-flush');
  expect(l.variants.filter((v) => v.runs).map((v) => v.id)).toEqual(['as-built']);
  const tc = l.variants.find((v) => v.id === 'tcmalloc')!;
  expect(tc.available).toBe(false);
  expect(tc.reason).toMatch(/refused for .*redis-server: it links its own allocator \(libjemalloc\)/);
  const text = await lab(['list', '--scenario', 'redis-flush']);
  expect(text.exitCode, text.stderr).toBe(0);
  expect(text.stdout).toMatch(/^redis-flush \(target redis-server\) runs by default: as-built$/m);
  expect(text.stdout).toMatch(/^as-built\s+yes\s+-\s+runs: /m);
});

it('a built-in relay scenario lists its default variants and no as-built', async () => {
  const l = await listJson('burst');
  expect(l.target).toBeNull();
  expect(l.variants.filter((v) => v.runs).map((v) => v.id)).toEqual(['glibc', 'tcmalloc', 'jemalloc', 'mimalloc']);
  expect(l.variants.map((v) => v.id)).not.toContain('as-built');
});

it('an unknown scenario is exit 2 naming it', async () => {
  const r = await lab(['list', '--scenario', 'nope']);
  expect(r.exitCode).toBe(2);
  expect(r.stderr).toMatch(/unknown scenario 'nope'/);
});
