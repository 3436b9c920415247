// The story's facts, measured on the real relay per allocator: put >= 200 MiB of requests
// in flight, drain, wait, release. tcmalloc keeps its freed pages until told; every
// allocator's RSS after the release is below its RSS before.
import { afterAll, describe, expect, it } from 'vitest';
import { readStatmRss } from '../../harness/run/sampler.js';
import { ALLOCATORS, type Lab, runLoadgen, startLab } from './helpers.js';

const MiB = 1024 * 1024;
const schedule = {
  seed: 7,
  connections: 32,
  phases: [
    { name: 'fill', duration_ms: 1500, load: { mode: 'closed', concurrency: 512, size: { dist: 'fixed', bytes: 512 * 1024 } } },
    { name: 'drain', duration_ms: 1500, load: null },
  ],
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(ALLOCATORS)('memory physics of relay-%s', (allocator) => {
  let lab: Lab | undefined;
  afterAll(async () => {
    await lab?.stop();
  });

  it('holds >= 200 MiB in flight, then release brings RSS down', async () => {
    lab = await startLab(allocator, ['--delay-ms', '1000', '--response-bytes', '1024']);
    const pid = lab.relay.pid;
    await sleep(200);
    const baseline = readStatmRss(pid)!;
    let peak = baseline;
    let peakLive = 0;
    let polling = true;
    const poll = (async () => {
      for (let i = 0; polling; i++) {
        peak = Math.max(peak, readStatmRss(pid) ?? 0);
        if (i % 10 === 0) {
          const s = await lab!.admin.command<Record<string, number>>('stats');
          peakLive = Math.max(peakLive, s.live_request_bytes! + s.live_response_bytes!);
        }
        await sleep(10);
      }
    })();
    const lines = await runLoadgen(lab.port, schedule);
    polling = false;
    await poll;
    const totals = lines.find((l) => l.type === 'totals')!;
    expect(totals.errors).toBe(0);
    await sleep(1500);  // idle: passive decay, if the allocator does any
    const retained = readStatmRss(pid)!;
    const release = await lab.admin.command<Record<string, number>>('release');
    await sleep(100);
    const released = readStatmRss(pid)!;
    const grown = peak - baseline;
    const facts = {
      allocator, baselineMiB: baseline / MiB, peakMiB: peak / MiB, peakLiveMiB: peakLive / MiB,
      retainedMiB: retained / MiB, releasedMiB: released / MiB, releaseMs: release.release_ms,
      retention: (retained - baseline) / grown, releaseEfficiency: (retained - released) / (retained - baseline),
    };
    console.log(JSON.stringify(facts));
    expect(peakLive).toBeGreaterThanOrEqual(200 * MiB);
    expect(grown).toBeGreaterThanOrEqual(200 * MiB);
    expect(released).toBeLessThan(retained);
    if (allocator === 'tcmalloc') {
      expect(facts.retention).toBeGreaterThanOrEqual(0.8);
      expect(facts.releaseEfficiency).toBeGreaterThanOrEqual(0.9);
    }
  });
});
