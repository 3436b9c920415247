// The trial runner on a fake subject and a fake observer (harness/subjects/fake.ts; no
// process, no native program): the phases run in order on the harness's clock, hooks run
// at each phase start and at the end, a release runs after its phase's hooks, and every
// way a trial can end is recorded as its status.
import { describe, expect, it } from 'vitest';
import { findVariant } from '../../../harness/allocators/variants.js';
import type { Sample } from '../../../harness/core/types.js';
import { parseScenario } from '../../../harness/scenario/scenario.js';
import { fakeSubject } from '../../../harness/subjects/fake.js';
import type { TrialHook } from '../../../harness/subjects/subject.js';
import { runTrial } from '../../../harness/trial/runner.js';
import type { Observer, SamplerOptions } from '../../../harness/trial/sampler.js';

const scenario = parseScenario({
  name: 'fake',
  phases: [
    { name: 'a', duration: '30ms' },
    { name: 'b', duration: '30ms' },
    { name: 'c', duration: '30ms', actions: ['release'] },
  ],
}, 'fake.json');

/** A fake observer: one RSS sample at start, and what stop() should say was lost. */
function fakeObserver(lost: string | null = null) {
  const seen: string[] = [];
  const make = (o: SamplerOptions): Observer => ({
    start: async () => { seen.push('start'); o.onSample({ tMs: 1, phase: o.phaseAt(1), source: 'statm', rssBytes: 4096 } as Sample); },
    lastRss: 4096,
    sampleStats: async () => { seen.push('stats'); },
    stop: async () => { seen.push('stop'); return lost; },
    intervals: [10],
    nativeCpuMs: 2,
  });
  return { make, seen };
}

function trial(kind: ReturnType<typeof fakeSubject>['kind'], observer = fakeObserver().make, extra: { hooks?: TrialHook[]; signal?: AbortSignal } = {}) {
  return runTrial({
    scenario, subject: kind, facts: { program: null, staticBinary: false }, variant: findVariant('glibc')!, trial: 1, trials: 1, seed: 1,
    signal: extra.signal ?? new AbortController().signal, onSample: () => {}, onEvent: () => {}, observer, hooks: extra.hooks,
  });
}

describe('runTrial on a fake subject', () => {
  it('runs the phases in order, releases in the phase that asks, and ends', async () => {
    const fake = fakeSubject({ ready: { allocator: 'jemalloc', version: '5.3.0' } });
    const obs = fakeObserver();
    const { trace, samplerIntervals, samplerCpuMs } = await trial(fake.kind, obs.make);
    expect(trace.status).toBe('complete');
    expect(trace.allocator).toBe('jemalloc');
    expect(trace.events.filter((e) => e.type === 'phase').map((e) => e.type === 'phase' && e.name)).toEqual(['a', 'b', 'c']);
    // A ledger (where RSS sits) at each phase end and right before and after the release;
    // the fake subject's pid is this test process, whose smaps are real.
    expect(trace.events.map((e) => (e.type === 'ledger' ? `ledger ${e.point} ${e.phase}` : e.type))).toEqual([
      'phase', 'ledger phase-end a', 'phase', 'ledger phase-end b', 'phase', 'ledger before-release c', 'release', 'ledger after-release c', 'ledger phase-end c', 'end']);
    const ledger = trace.events.find((e) => e.type === 'ledger')!;
    expect(ledger.type === 'ledger' && ledger.split.rss).toBeGreaterThan(10 * 1024 * 1024);
    const c = trace.events.find((e) => e.type === 'phase' && e.name === 'c')!;
    expect(fake.releases).toHaveLength(1);
    expect(fake.releases[0]!).toBeGreaterThanOrEqual(c.tMs);
    // A counters sample at each phase end (a, b) and the last one; stop again in the final
    // clean-up, a no-op.
    expect(obs.seen).toEqual(['start', 'stats', 'stats', 'stats', 'stop', 'stop']);
    expect(fake.stopped()).toBe(true);
    expect(trace.rss?.length).toBe(1);
    expect([samplerIntervals, samplerCpuMs]).toEqual([[10], 2]);
  });

  it('calls hooks at each phase start with the phase that ended, the release after them, and at the end', async () => {
    const calls: string[] = [];
    const hook: TrialHook = {
      phaseStart: async (_ctx, ended, started) => {
        await new Promise((r) => setTimeout(r, 5));
        calls.push(`${ended ?? '-'}>${started.name}${started.releases ? ' (release)' : ''}`);
      },
      end: (_ctx, last) => { calls.push(`end ${last}`); },
    };
    const fake = fakeSubject({ hooks: [{ end: () => { calls.push('kind hook'); } }] });
    const { trace } = await trial(fake.kind, undefined, { hooks: [hook] });
    expect(calls).toEqual(['->a', 'a>b', 'b>c (release)', 'end c', 'kind hook']);
    const hooked = trace.events.find((e) => e.type === 'phase' && e.name === 'c')!.tMs;
    expect(fake.releases[0]! - hooked).toBeGreaterThanOrEqual(4);  // after the 5 ms hook
  });

  it('a subject that exits ends the trial as failed, with its message', async () => {
    const fake = fakeSubject();
    setTimeout(() => fake.exit('fake-relay exit code 1'), 40);
    const { trace } = await trial(fake.kind);
    expect(trace.status).toBe('failed');
    expect(trace.error).toBe('fake-relay exit code 1');
    expect(fake.stopped()).toBe(true);
  });

  it('a release that fails fails the trial, naming why', async () => {
    const fake = fakeSubject({ release: { ok: false, error: 'mallctl returned 2' } });
    const { trace } = await trial(fake.kind);
    expect(trace.status).toBe('failed');
    expect(trace.error).toBe('release failed: mallctl returned 2');
  });

  it('an observer that lost samples fails the trial with what it says', async () => {
    const { trace } = await trial(fakeSubject().kind, fakeObserver('the sampler stopped early').make);
    expect([trace.status, trace.error]).toEqual(['failed', 'the sampler stopped early']);
  });

  it('an interruption marks it interrupted and stops the subject', async () => {
    const fake = fakeSubject();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    const { trace } = await trial(fake.kind, undefined, { signal: controller.signal });
    expect([trace.status, trace.error]).toEqual(['interrupted', 'interrupted']);
    expect(fake.stopped()).toBe(true);
    expect(fake.releases).toEqual([]);
  });
});
