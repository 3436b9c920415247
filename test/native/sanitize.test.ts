// The ASan + UBSan build (build/native-sanitize, `lab build --sanitize`): burst --quick on
// it, glibc only, as a user runs it (LEAKLAB_BUILD_DIR), must give no sanitizer report.
// detect_leaks=0: leaks at exit are `lab detect`'s job; here we look for memory errors
// and undefined behaviour (any UBSan report aborts: -fno-sanitize-recover=undefined).
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANITIZE_BUILD_DIR, buildNative } from '../../harness/tooling/build.js';
import { ROOT } from '../../harness/core/paths.js';
import { LAB, NODE } from '../lab-cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'leaklab-sanitize-'));
const logs = join(tmp, 'logs');  // the sanitizers write any report here (log_path), per process
const out = join(tmp, 'out');
mkdirSync(logs);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SANITIZER_REPORT = /ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer/;
const env = {
  FORCE_COLOR: '0',
  LEAKLAB_BUILD_DIR: SANITIZE_BUILD_DIR,
  ASAN_OPTIONS: `detect_leaks=0:abort_on_error=0:log_path=${logs}/asan`,
  UBSAN_OPTIONS: `print_stacktrace=1:log_path=${logs}/ubsan`,
};

describe('ASan + UBSan build', () => {
  beforeAll(async () => {
    await buildNative(() => {}, SANITIZE_BUILD_DIR);
  }, 240_000);

  it('instruments the relay, the upstream and the load generator', async () => {
    for (const name of ['relay-glibc', 'upstream', 'loadgen']) {
      // ASan prints its flags when asked, before main() rejects the bad flag.
      const r = await execa(join(SANITIZE_BUILD_DIR, name), ['--no-such-flag'], { reject: false, env: { ASAN_OPTIONS: 'help=1' } });
      expect(r.stderr, name).toContain('Available flags for AddressSanitizer');
    }
  });

  it('runs burst --quick on glibc with no sanitizer report', async () => {
    const r = await execa(NODE, [...LAB, '--scenario', 'burst', '--quick', '--variants', 'glibc', '--out', out],
      { cwd: ROOT, reject: false, timeout: 120_000, env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(`${r.stdout}\n${r.stderr}`).not.toMatch(SANITIZER_REPORT);
    const run = JSON.parse(readFileSync(join(out, readlinkSync(join(out, 'latest')), 'run.json'), 'utf8')) as { status: string; errors: string[] };
    expect(run.status).toBe('complete');
    expect(run.errors).toEqual([]);
    const reports = readdirSync(logs).map((f) => `${f}:\n${readFileSync(join(logs, f), 'utf8')}`);
    expect(reports.join('\n').slice(0, 4000)).toBe('');
  });
});
