// Consistency: the lab's relay-glibc binary run as a *target* with tcmalloc preloaded
// (scenarios/relay-as-target.ts) reproduces relay-tcmalloc's burst physics (the built-in
// relay, same phases, same machine, same run): retention >= 80%, the release returns
// >= 90%, and the peak within 5%.
//
// Both run the burst with every request in flight at once: the upstream holds each one
// 3 s, longer than the burst phase, so each of the 1,024 slots sends exactly one request
// and the peak is set by the seeded sizes. In the shipped burst (1 s upstream delay) the
// slots cycle and how many bytes are in flight at the peak moves with timing: one trial
// each came out 0.7%, 11% and 24% apart (issue 10's note), on either side.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import burst from '../../scenarios/burst.js';
import relayAsTarget from '../../scenarios/relay-as-target.js';
import { latestRun, lab, tempDir } from './helpers.js';

const out = tempDir('leaklab-target-consistency-');
afterAll(() => rmSync(out, { recursive: true, force: true }));

const HOLD_MS = 3000;
const phases = [
  { name: 'baseline', duration: '500ms', load: { closed: 8, size: '4KiB' } },
  // Shorter than the hold: each slot sends one request; the drain outlasts the hold.
  { name: 'burst', duration: '2500ms', load: { closed: 1024, size: { uniform: ['128KiB', '768KiB'] } } },
  { name: 'drain', duration: '3500ms' },
  { name: 'idle', duration: '1s' },
  { name: 'after-release', duration: '1s', actions: ['release'] },
];

it('relay-glibc + preloaded tcmalloc as a target = relay-tcmalloc', async () => {
  const builtFile = join(out, 'burst-held.json');
  const targetFile = join(out, 'relay-as-target-held.json');
  const { quick: _bq, ...b } = burst;
  writeFileSync(builtFile, JSON.stringify({ ...b, name: 'burst-held', upstream: { ...b.upstream, delay: `${HOLD_MS}ms` }, phases }));
  const { quick: _tq, ...t } = relayAsTarget;
  const helpers = t.target!.helpers!.map((h) => ({ ...h, command: h.command.map((a) => (a === '1000' ? String(HOLD_MS) : a)) }));
  expect(helpers[0]!.command).toContain(String(HOLD_MS));
  writeFileSync(targetFile, JSON.stringify({ ...t, name: 'relay-as-target-held', target: { ...t.target, helpers }, phases }));

  const r = await lab(['--scenario', builtFile, '--scenario', targetFile, '--variants', 'tcmalloc', '--out', out], {}, 300_000);
  expect(r.exitCode, r.stderr).toBe(0);
  const { run, summary } = latestRun(out);
  expect(run.targets['relay-as-target-held'].variants.tcmalloc.allocator).toBe('tcmalloc');
  const built = summary.find((s) => s.scenario === 'burst-held')!;
  const target = summary.find((s) => s.scenario === 'relay-as-target-held')!;
  const m = (row: any, k: string) => row.metrics[k].median as number;
  console.log(JSON.stringify(['peakRss', 'peakLive', 'retainedRss', 'releasedRss', 'retention', 'releaseEfficiency'].map((k) => [k, m(built, k), m(target, k)])));
  expect(target.allocator).toBe('tcmalloc');
  // Every request was in flight at once: 1,024 x 448 KiB on average, about 448 MiB.
  expect(m(built, 'peakLive')).toBeGreaterThan(400 * 1024 * 1024);
  expect(m(target, 'retention')).toBeGreaterThanOrEqual(0.8);
  expect(m(target, 'releaseEfficiency')).toBeGreaterThanOrEqual(0.9);
  expect(Math.abs(m(target, 'peakRss') / m(built, 'peakRss') - 1)).toBeLessThanOrEqual(0.05);
  expect(target.verdict.kind).toBe(built.verdict.kind);
}, 300_000);
