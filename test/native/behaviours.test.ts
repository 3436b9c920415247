// The relay's behaviours (leak mode, log records, release policies, thread churn) and
// their admin commands, against the real relay.
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { binaryPath } from '../../harness/core/paths.js';
import { type Lab, runLoadgen, startLab } from './helpers.js';

const labs: Lab[] = [];
afterAll(async () => {
  await Promise.all(labs.map((l) => l.stop()));
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function lab(relayArgs: string[] = []): Promise<Lab> {
  const l = await startLab('glibc', ['--delay-ms', '2'], relayArgs);
  labs.push(l);
  return l;
}

const load = (ms: number, bytes = 4096, concurrency = 32) => ({
  seed: 1, connections: 8, phases: [{ name: 'l', duration_ms: ms, load: { mode: 'closed', concurrency, size: { dist: 'fixed', bytes } } }],
});

type Stats = Record<string, number | string | null>;

describe('relay behaviours', () => {
  it('leak mode keeps the configured fraction of requests, reachable, after the drain', async () => {
    const l = await lab(['--leak-rate', '0.1']);
    await runLoadgen(l.port, load(600));
    await sleep(100);
    const s = await l.admin.command<Stats>('stats');
    const served = Number(s.responses_total);
    expect(served).toBeGreaterThan(1000);
    expect(Number(s.leaked_request_count) / served).toBeGreaterThan(0.09);
    expect(Number(s.leaked_request_count) / served).toBeLessThan(0.11);
    expect(s.leaked_request_bytes).toBe(Number(s.leaked_request_count) * 4096);
    expect(s.live_request_bytes).toBe(0);
  });

  it('log records live for their retention, then are freed', async () => {
    const l = await lab(['--log-record-bytes', '512', '--log-record-every', '2', '--log-retention-ms', '300']);
    await runLoadgen(l.port, load(300));
    const during = await l.admin.command<Stats>('stats');
    expect(Number(during.live_log_count)).toBeGreaterThan(0);
    expect(during.live_log_bytes).toBe(Number(during.live_log_count) * 512);
    await sleep(700);
    expect((await l.admin.command<Stats>('stats')).live_log_bytes).toBe(0);
  });

  it('set and config change and show settings at run time, and name bad keys and values', async () => {
    const l = await lab();
    expect(await l.admin.command('set release-every-ms 200')).toEqual({ ok: true, key: 'release-every-ms', value: 200 });
    const config = await l.admin.command<Stats>('config');
    expect(config['release-every-ms']).toBe(200);
    expect(config['leak-rate']).toBe(0);
    await sleep(700);
    const s = await l.admin.command<Stats>('stats');
    expect(Number(s.policy_releases)).toBeGreaterThanOrEqual(2);
    expect(s.last_policy_release).toBe('periodic');
    const badKey = await l.admin.command<Stats>('set leak-speed 1');
    expect(badKey.ok).toBe(false);
    expect(String(badKey.error)).toMatch(/leak-speed.*leak-rate \(0\.\.1\)/);
    const badValue = await l.admin.command<Stats>('set leak-rate 2');
    expect(badValue.ok).toBe(false);
    expect(String(badValue.error)).toContain('0..1');
  });

  it('the idle policy releases once per idle period', async () => {
    const l = await lab(['--release-idle-ms', '200']);
    await sleep(400);
    expect((await l.admin.command<Stats>('stats')).policy_releases).toBe(0);  // armed by the first request
    await runLoadgen(l.port, load(200));
    await sleep(600);
    const s = await l.admin.command<Stats>('stats');
    expect(s.policy_releases_idle).toBe(1);
  });

  it('thread churn starts transient threads and every response still arrives', async () => {
    const l = await lab(['--thread-churn-ms', '50']);
    const lines = await runLoadgen(l.port, load(500));
    const totals = lines.at(-1)!;
    expect(totals.errors).toBe(0);
    expect(Number(totals.completed)).toBeGreaterThan(100);
    expect(Number((await l.admin.command<Stats>('stats')).transient_threads_started)).toBeGreaterThanOrEqual(5);
  });

  it.each([
    [['--leak-rate', '1.5'], /--leak-rate.*0\.\.1/],
    [['--thread-churn-ms', '-1'], /--thread-churn-ms/],
    [['--bogus', '1'], /unknown flag '--bogus'/],
  ])('rejects %j with exit 2 naming the flag', async (args, message) => {
    const r = await execa(binaryPath('relay-glibc'), ['--upstream-port', '1', ...args], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});
