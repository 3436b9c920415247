// A trial fails when the load generator saw request errors (it exits 0 whatever its error
// count, and reports them in its totals), or when a phase sized by count ran out of time.
// Real relay, upstream and load generator: a relay started with a 16 KiB frame limit
// closes every connection that sends it a 32 KiB request.
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../harness/scenario/scenario.js';
import { runTrial } from '../harness/trial/runner.js';
import { loadFailure } from '../harness/trial/loadgen.js';
import { checkedSubject } from '../harness/subjects/index.js';
import { findVariant } from '../harness/allocators/variants.js';
import type { PhaseLoad } from '../harness/core/types.js';

const scenario = parseScenario({
  name: 'errors',
  upstream: { delay: '1ms', response: 64 },
  connections: 4,
  phases: [
    { name: 'baseline', duration: '300ms', load: { closed: 2, size: '1KiB' } },
    { name: 'load', duration: '500ms', load: { closed: 8, size: '32KiB' } },
    { name: 'idle', duration: '200ms' },
  ],
}, 'load-errors.test.ts');

async function trial(extraArgs: string[]) {
  const { trace } = await runTrial({
    scenario, ...checkedSubject(scenario, 'load-errors.test.ts'), variant: findVariant('glibc')!, trial: 1, trials: 1, seed: 1, signal: new AbortController().signal,
    onSample: () => {}, onEvent: () => {}, launch: { extraArgs },
  });
  return trace;
}

describe('load errors fail the trial', () => {
  it('passes without errors, fails with them, naming the count and the phase', async () => {
    const ok = await trial([]);
    expect(ok.status, ok.error).toBe('complete');
    expect(ok.phases.find((p) => p.name === 'load')!.errors).toBe(0);

    const bad = await trial(['--max-frame', '16384']);
    const errors = bad.phases.find((p) => p.name === 'load')!.errors;
    expect(errors).toBeGreaterThan(0);
    expect(bad.status).toBe('failed');
    expect(bad.error).toContain(`${errors} request errors in phase 'load'`);
  });

  it('names a phase sized by count that its time limit cut short (pure)', () => {
    const phase = (p: Partial<PhaseLoad>): PhaseLoad => ({ name: 'steady', durationMs: 30_000, sent: 100, completed: 100, errors: 0, throughputRps: 1, p50Us: null, p99Us: null, requests: null, ...p });
    expect(loadFailure([phase({})])).toBeNull();
    expect(loadFailure([phase({ requests: 100 })])).toBeNull();
    expect(loadFailure([phase({ requests: 32_000, sent: 20_000 })])).toBe("loadgen: phase 'steady' reached its 30000 ms limit after 20000 of 32000 requests");
  });
});
