// Bad CLI, scenario and ceiling input: exit 2 and a message that names the flag, file or
// field and what would be valid; an unwritable results folder: exit 3 and the fix. The
// lab's main() in process (as harness/cli.ts calls it), so each case costs milliseconds;
// test/cli.test.ts covers the same path as a real process.
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { labInProcess } from './support/in-process.js';
import { ROOT } from '../harness/core/paths.js';
import { LAB, NODE } from './lab-cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'leaklab-bad-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function lab(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await labInProcess(args);
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

function file(name: string, content: unknown): string {
  const path = join(tmp, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const PHASES = [{ name: 'load', duration: '1s', load: { closed: 4, size: '4KiB' } }];
const scenario = (extra: Record<string, unknown>, phases: unknown = PHASES) => ({ name: 'bad', phases, ...extra });

// A run folder as the harness writes it (run.json and summary.json), for gate and compare.
const runDir = join(tmp, 'run');
mkdirSync(runDir);
writeFileSync(join(runDir, 'run.json'), JSON.stringify({
  runId: 'r1', status: 'complete', quick: true, errors: [], shard: null,
  scenarios: [{ name: 'burst', file: 'scenarios/burst.ts', trials: 1, seed: 42, scenario: { name: 'burst', phases: [{ name: 'burst' }] } }],
  variants: [{ id: 'glibc', allocator: 'glibc', env: {} }],
}));
writeFileSync(join(runDir, 'summary.json'), '[]');
const notARun = join(tmp, 'not-a-run');
mkdirSync(notARun);

describe('bad input exits 2 and says what is valid', () => {
  it.each<[string, string[], RegExp]>([
    ['--shard 3/2', ['--scenario', 'burst', '--shard', '3/2'], /--shard: '3\/2' is not valid; expected i\/n with 1 <= i <= n/],
    ['--shard x', ['--scenario', 'burst', '--shard', 'x'], /--shard: 'x' is not valid; expected i\/n/],
    ['--max-regression abc', ['--scenario', 'burst', '--max-regression', 'abc'], /--max-regression: 'abc' is not valid; expected a percentage such as 10%/],
    ['--variants empty', ['--scenario', 'burst', '--variants', ','], /--variants: unknown variant ','; valid: glibc, tcmalloc/],
    ['--trials 1.5', ['--scenario', 'burst', '--trials', '1.5'], /--trials: '1.5' is not valid; expected an integer >= 1/],
    ['--baseline without --gate', ['--scenario', 'burst', '--baseline', runDir], /--baseline: .* expected it together with --gate/],
    ['admin port 0', ['admin', '0', 'ping'], /<port>: '0' is not valid; expected an integer >= 1/],
    ['detect --tools', ['detect', '--scenario', 'leak', '--tools', 'memcheck,purify'], /--tools: 'memcheck,purify' is not valid; expected a comma-separated list of memcheck/],
    ['merge with no folders', ['merge', '--out', join(tmp, 'merged')], /missing required argument 'run-dir/],
    ['merge without --out', ['merge', runDir], /required option '--out <dir>' not specified/],
    ['compare with a folder that is not a run', ['compare', notARun, runDir], /not-a-run: not a leak-lab run folder \(no run\.json\)/],
    ['report on a missing folder', ['report', join(tmp, 'nowhere')], /nowhere: not a leak-lab run folder \(no such folder\)/],
    ['gate with a missing ceilings file', ['gate', runDir, '--ceilings', join(tmp, 'none.json')], /cannot load ceilings .*none\.json: no such file; pass another file with --ceilings FILE/],
    ['gate with a bad ceilings metric', ['gate', runDir, '--ceilings', file('c1.json', { 'burst --quick': { '*': { peakRSS: '1MiB' } } })], /invalid ceilings .*c1\.json:\n {2}- .*unknown metric 'peakRSS'/],
    ['gate with a bad ceilings size', ['gate', runDir, '--ceilings', file('c2.json', { 'burst --quick': { '*': { peakRss: 'huge' } } })], /invalid ceilings .*c2\.json:\n {2}- .*peakRss.*'huge'/],
    ['gate with a ceilings file that is not JSON', ['gate', runDir, '--ceilings', file('c3.json', '{ nope')], /cannot load ceilings .*c3\.json: .*JSON/],
    ['scenario with a bad size', ['--scenario', file('s1.json', scenario({ relay: { highWater: '4 parsecs' } }))],
      /invalid scenario .*s1\.json:\n {2}- relay\.highWater: '4 parsecs' is not a size; expected/],
    ['scenario with a bad load', ['--scenario', file('s9.json', scenario({}, [{ name: 'load', duration: '1s', load: { closed: 4, size: '4 parsecs' } }]))],
      /s9\.json:\n {2}- phases\[0\]\.load: expected \{ closed: <concurrency>, size/],
    ['scenario with a bad duration', ['--scenario', file('s2.json', scenario({}, [{ name: 'load', duration: 'soon' }]))],
      /invalid scenario .*s2\.json:\n {2}- phases\[0\]\.duration: 'soon' is not a duration; expected/],
    ['scenario with an unknown key', ['--scenario', file('s3.json', scenario({ colour: 'red' }))], /invalid scenario .*s3\.json:\n {2}- \(top level\): Unrecognized key\(s\) in object: 'colour'/],
    ['scenario with an unknown variant', ['--scenario', file('s4.json', scenario({ variants: ['hoard'] }))], /s4\.json:\n {2}- variants\[0\]: unknown variant 'hoard'; valid: glibc/],
    ['scenario --quick for a phase it lacks', ['--scenario', file('s5.json', scenario({ quick: { phases: { nope: { duration: '1s' } } } }))],
      /s5\.json:\n {2}- quick\.phases\.nope: no phase named 'nope'; phases are load/],
    ['scenario with a request larger than maxFrame', ['--scenario', file('s6.json', scenario({ relay: { maxFrame: '1KiB' } }))],
      /s6\.json:\n {2}- phases\[0\]\.load\.size: 4096 bytes exceeds relay\.maxFrame \(1024\)/],
    ['scenario with a bad phase name', ['--scenario', file('s7.json', scenario({}, [{ name: 'Load Phase', duration: '1s' }]))],
      /s7\.json:\n {2}- phases\[0\]\.name: must be lower-case letters, digits and dashes/],
    ['scenario that is not JSON', ['--scenario', file('s8.json', '{ "name": ')], /cannot load scenario .*s8\.json: .*JSON/],
  ])('%s', async (_name, args, message) => {
    const r = await lab(args);
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(2);
  });
});

describe('environment errors exit 3 with the fix', () => {
  // As root, a read-only folder is still writable; a path under a regular file is not.
  it('--out under a regular file', async () => {
    const blocker = file('a-file.txt', 'not a folder');
    const r = await lab(['--scenario', 'burst', '--quick', '--variants', 'glibc', '--out', join(blocker, 'sub')]);
    expect(r.stderr).toMatch(/--out: cannot write results under .*a-file\.txt\/sub: .*ENOTDIR.*; choose a writable folder with --out DIR/);
    expect(r.code).toBe(3);
  });
  it('a missing cmake: exit 3 with the package that brings it', async () => {
    // A PATH with only sh in it: the build looks for cmake and c++ there.
    const bin = join(dirname(file('path-marker', '')), 'bin-without-cmake');
    mkdirSync(bin, { recursive: true });
    if (!existsSync(join(bin, 'sh'))) symlinkSync('/bin/sh', join(bin, 'sh'));
    const r = await execa(NODE, [...LAB, 'build'], {
      cwd: ROOT, reject: false, env: { PATH: bin, FORCE_COLOR: '0' }, extendEnv: false,
    });
    expect(r.stderr).toMatch(/cmake not found; install it with: sudo apt-get install cmake \(or run `npm run setup`\)/);
    expect(r.exitCode).toBe(3);
  });
  // A missing allocator library is not simulated here: it needs a machine without the
  // -dev package (CMake then skips that relay, naming the package, and --variants for it
  // exits 3 with `apt-get install <package>`; harness/subject/variants.ts variantStatus).
});
