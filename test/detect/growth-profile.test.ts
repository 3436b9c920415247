// lab detect's fifth tool, the growth profile: on the leak scenario it flags the leak and
// names the relay function that keeps the requests; on burst (all memory freed) it does
// not (no false alarm, where HEAPCHECK=draconian raises one). Real relays, real jeprof.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../harness/core/paths.js';
import type { DetectResult } from '../../harness/detect/detect.js';
import { LAB, NODE } from '../lab-cli.js';

const out = mkdtempSync(join(tmpdir(), 'leaklab-detect-growth-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

async function detect(scenario: string): Promise<DetectResult> {
  const r = await execa(NODE, [...LAB, 'detect', '--scenario', scenario, '--variant', 'jemalloc', '--tools', 'growth-profile', '--json', '--out', out],
    { cwd: ROOT, reject: false, timeout: 240_000, env: { FORCE_COLOR: '0' } });
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as DetectResult;
}

describe('lab detect --tools growth-profile', () => {
  it('leak: found, naming leaklab::Relay::PendingTable::Leak', async () => {
    const d = await detect('leak');
    expect(d.rows.map((x) => x.tool)).toEqual(['native', 'growth-profile']);
    const g = d.rows.find((x) => x.tool === 'growth-profile')!;
    expect(g.status, g.error ?? '').toBe('complete');
    expect(g.leakedBytes).toBeGreaterThan(0);
    expect(g.outcome).toBe('found');
    expect(g.report?.headline).toMatch(/top site leaklab::Relay::PendingTable::Leak \((\d+)%\)/);
    expect(Number(/\((\d+)%\)/.exec(g.report!.headline)![1])).toBeGreaterThanOrEqual(50);
  }, 250_000);
  it('burst: no false alarm (the pre-release dump waits until nothing is in flight)', async () => {
    const d = await detect('burst');
    const g = d.rows.find((x) => x.tool === 'growth-profile')!;
    expect(g.status, g.error ?? '').toBe('complete');
    expect(g.leakedBytes).toBe(0);
    expect(g.report?.reported, g.report?.headline).toBe(true);
    expect(g.report?.headline).not.toMatch(/still in flight/);
    expect(g.flagged, g.report?.headline).toBe(false);
    expect(g.outcome).toBe('clean');
  }, 250_000);
});
