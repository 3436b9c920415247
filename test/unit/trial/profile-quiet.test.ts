// waitQuiet (harness/run/profile.ts): the pre-release dump waits until the subject reports
// nothing in flight. The subject here is a fake `send` (scripted stats-counters replies),
// for the waiting logic only; the real relay's wait is checked in test/run/profile.test.ts.
import { describe, expect, it } from 'vitest';
import { waitQuiet } from '../../../harness/trial/profile-dump.js';

/** A fake control channel answering stats-counters with the given in-flight counts in turn. */
function fakeSend(counts: Array<[number, number] | null>) {
  const asked: string[] = [];
  let i = 0;
  const send = async (command: string) => {
    asked.push(command);
    const c = counts[Math.min(i++, counts.length - 1)] ?? null;
    return c === null ? { ok: true, rss_bytes: 1 } : { ok: true, live_request_count: c[0], live_response_count: c[1] };
  };
  return { send, asked };
}

describe('waitQuiet', () => {
  it('polls stats-counters until requests and responses in flight are both 0', async () => {
    const f = fakeSend([[3, 1], [1, 1], [0, 1], [0, 0]]);
    const q = await waitQuiet(f.send, 5_000);
    expect(q).toEqual({ inFlight: 0, waitedMs: expect.any(Number), timedOut: false });
    expect(f.asked).toEqual(['stats-counters', 'stats-counters', 'stats-counters', 'stats-counters']);
  });
  it('gives up at the timeout and says how many were still in flight', async () => {
    const q = await waitQuiet(fakeSend([[7, 2]]).send, 120);
    expect(q.timedOut).toBe(true);
    expect(q.inFlight).toBe(9);
    expect(q.waitedMs).toBeGreaterThanOrEqual(120);
  });
  it('does not wait for a subject that counts no requests (a target\'s probe)', async () => {
    const f = fakeSend([null]);
    expect(await waitQuiet(f.send, 5_000)).toEqual({ inFlight: null, waitedMs: 0, timedOut: false });
    expect(f.asked).toHaveLength(1);
  });
});
