// The reports of a real run (the suite's shared `burst --quick` on the four allocators,
// test/support/shared-runs.ts), as a user gets them:
// `lab report` reproduces them byte for byte from the raw files alone, `lab compare` of the
// run with itself shows no change and against a smaller burst shows the drop, and
// report.html works offline in headless Chromium.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../harness/core/paths.js';
import { LAB, NODE } from '../lab-cli.js';
import { sharedRun } from '../support/shared-runs.js';

const CHROMIUM = '/usr/bin/chromium';
const RAW_FILES = ['run.json', 'summary.json', 'trials.jsonl', 'samples.csv', 'events.jsonl'];
const out = mkdtempSync(join(tmpdir(), 'leaklab-reports-'));
let dir = '';

function lab(args: string[], timeout = 180_000) {
  return execa(NODE, [...LAB, ...args], { cwd: ROOT, reject: false, timeout, env: { FORCE_COLOR: '0' } });
}

let sharedOut = '';

beforeAll(async () => {
  const r = await sharedRun('burst');
  expect(r.exitCode, r.stderr).toBe(0);
  dir = r.dir;
  sharedOut = r.out;
  expect(r.stdout).toContain(`report: ${dir}/report.html`);
}, 180_000);
// LEAKLAB_KEEP_TMP=1 keeps the run and the screenshot (report.png) to look at.
afterAll(() => {
  if (process.env.LEAKLAB_KEEP_TMP) console.log(`kept: ${out}`);
  else rmSync(out, { recursive: true, force: true });
});

describe('a run writes its reports', () => {
  it('report.md has the table, the chart and the command', () => {
    const md = readFileSync(join(dir, 'report.md'), 'utf8');
    expect(md).toMatch(/\| glibc \| 1 \| [\d.]+ \| [\d.]+ \|/);
    expect(md).toMatch(/\| tcmalloc \| 1 \|/);
    expect(md).toContain('xychart-beta');
    expect(md).toContain(`npm run lab -- --scenario burst --quick --variants glibc,tcmalloc,jemalloc,mimalloc --out ${sharedOut}`);
  });

  it('lab report re-renders both byte for byte from the raw files alone', async () => {
    const copy = join(out, 'raw-only');
    mkdirSync(copy);
    for (const f of RAW_FILES) copyFileSync(join(dir, f), join(copy, f));
    const r = await lab(['report', copy]);
    expect(r.exitCode, r.stderr).toBe(0);
    for (const f of ['report.md', 'report.html']) {
      expect(readFileSync(join(copy, f)).equals(readFileSync(join(dir, f))), f).toBe(true);
    }
  });

  it('lab report on a folder that is not a run exits 2 and says why', async () => {
    const r = await lab(['report', join(out, 'nope')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/nope: not a leak-lab run folder \(no such folder\)/);
  });
});

describe('lab compare', () => {
  it('of a run with itself shows zero deltas and flags nothing', async () => {
    const md = join(out, 'compare.md');
    const r = await lab(['compare', dir, dir, '--md', md]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('0 changes flagged');
    const text = readFileSync(md, 'utf8');
    const rows = text.split('\n').filter((l) => /^\| (glibc|tcmalloc) \|/.test(l));
    // the headline rows come first: verdict unchanged, no change in peak, retained, released
    const headline = rows.slice(0, 2);
    expect(headline.map((l) => l.split('|')[1]!.trim())).toEqual(['glibc', 'tcmalloc']);
    for (const row of headline) {
      expect(row.split('|')[2]!.trim(), row).toMatch(/^(retention|leak|fragmentation|healthy|-)$/);
      const cells = row.split('|').map((c) => c.trim()).slice(3, 6);
      for (const cell of cells) expect(cell, row).toMatch(/^(\d+\.\d) → \1 \(0\.0, 0\.0%\)$/);
    }
    const metrics = rows.slice(2);
    expect(metrics.length).toBeGreaterThan(20);
    for (const row of metrics) {
      const cells = row.split('|').map((c) => c.trim());
      const [delta, pct, flag] = cells.slice(6, 9);
      expect(delta, row).toMatch(/^(0(\.0)?( pp)?|-)$/);
      expect(pct, row).toMatch(/^(0\.0%|-)$/);
      expect(flag, row).toBe('');
    }
  });

  it('of two different runs: a burst a quarter the size shows a lower peak, flagged', async () => {
    // The same scenario name and variants, a smaller workload: 96 requests in flight
    // instead of 384 in the quick burst (about 42 MiB instead of 170 MiB).
    const { default: burst } = await import('../../scenarios/burst.js');
    const small = { ...burst, quick: { ...burst.quick, phases: { ...burst.quick!.phases, burst: { duration: '1500ms', load: { closed: 96, size: { uniform: ['128KiB', '768KiB'] } } } } } };
    const file = join(out, 'burst-small.json');
    writeFileSync(file, JSON.stringify(small));
    const headOut = join(out, 'head');
    const run = await lab(['--scenario', file, '--quick', '--variants', 'glibc', '--out', headOut]);
    expect(run.exitCode, run.stderr).toBe(0);
    const head = join(headOut, readlinkSync(join(headOut, 'latest')));
    const md = join(out, 'compare-two.md');
    const r = await lab(['compare', dir, head, '--md', md]);
    expect(r.exitCode, r.stderr).toBe(0);
    const peakRows = readFileSync(md, 'utf8').split('\n').filter((l) => /^\| (glibc|tcmalloc) \| peakRss \|/.test(l));
    expect(peakRows).toHaveLength(1);  // glibc: the one variant in both runs
    for (const row of peakRows) {
      const [base, headValue, delta, deltaPct, flag] = row.split('|').map((c) => c.trim()).slice(4, 9);
      expect(Number(headValue), row).toBeLessThan(Number(base) * 0.6);
      expect(delta, row).toMatch(/^-/);
      expect(deltaPct, row).toMatch(/^-\d/);
      expect(flag, row).toBe('⚠');
    }
  }, 240_000);

  it('exits 2 when a run folder is missing', async () => {
    const r = await lab(['compare', dir, join(out, 'missing')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('not a leak-lab run folder');
  });
});

describe('report.html in headless Chromium', () => {
  it('draws one series per variant, offline, without errors', async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: run \`npm run setup\` (apt-get install chromium)`).toBe(true);
    const profile = mkdtempSync(join(out, 'chromium-profile-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, viewport: { width: 1280, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      const page = await context.newPage();
      const errors: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text()); });
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(`file://${join(dir, 'report.html')}`);
      await page.waitForFunction(() => (window as unknown as { leakLab?: { charts: unknown[] } }).leakLab?.charts.length === 1);

      const shown = await page.evaluate(() => (window as unknown as { leakLab: { shown(i: number): string[] } }).leakLab.shown(0));
      expect(shown).toEqual(['glibc RSS', 'tcmalloc RSS', 'jemalloc RSS', 'mimalloc RSS']);
      // Each variant's line is on the canvas in its colour (the report's first two).
      const pixels = await page.evaluate(() => {
        const canvas = document.querySelector('#chart-0 canvas') as HTMLCanvasElement;
        const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
        const near = (i: number, [r, g, b]: number[]) => Math.abs(data[i]! - r!) < 12 && Math.abs(data[i + 1]! - g!) < 12 && Math.abs(data[i + 2]! - b!) < 12 && data[i + 3]! > 200;
        const count = [0, 0];
        for (let i = 0; i < data.length; i += 4) {
          if (near(i, [0x25, 0x63, 0xeb])) count[0]! += 1;
          if (near(i, [0xea, 0x58, 0x0c])) count[1]! += 1;
        }
        return count;
      });
      expect(pixels[0], 'glibc pixels').toBeGreaterThan(100);
      expect(pixels[1], 'tcmalloc pixels').toBeGreaterThan(100);
      // Counter series can be shown; the legend follows.
      await page.check('input[data-kind="live"]');
      expect(await page.evaluate(() => (window as unknown as { leakLab: { shown(i: number): string[] } }).leakLab.shown(0)))
        .toEqual(['glibc RSS', 'tcmalloc RSS', 'jemalloc RSS', 'mimalloc RSS', 'glibc live bytes', 'tcmalloc live bytes', 'jemalloc live bytes', 'mimalloc live bytes']);

      const shot = join(out, 'report.png');
      await page.screenshot({ path: shot, fullPage: true });
      expect(statSync(shot).size).toBeGreaterThan(20_000);
      expect(errors).toEqual([]);
      expect(requests.filter((u) => !u.startsWith('file:'))).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
