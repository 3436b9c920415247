// Lab runs that several test files assert on, each made once per `npm test`: the first file
// that asks runs it (as a user does, through package.json's command), the others read the
// same run folder, stdout and stderr. The cache is the folder the lab project's global
// setup made for this suite (test/global-setup.ts), so nothing carries over between suites.
import { existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { inject } from 'vitest';
import { ROOT } from '../../harness/core/paths.js';
import { LAB, NODE } from '../lab-cli.js';

/** The shared runs, by name. A sharded run is made as `--shard i/n` runs merged with `lab merge`. */
export const SHARED_RUNS = {
  /** The story on every allocator: test/cli, test/report/run-reports, test/gate/cli,
   * test/cli/progress, test/scenarios (tuning's defaults). */
  burst: { args: ['--scenario', 'burst', '--quick', '--variants', 'glibc,tcmalloc,jemalloc,mimalloc'], shards: 0 },
  /** The leak on every allocator, profiled where the allocator can be, with a forecast, in two
   * shards merged: test/scenarios, test/run/profile, test/run/merge-growth. */
  leak: {
    args: ['--scenario', 'leak', '--quick', '--variants', 'glibc,tcmalloc,jemalloc,mimalloc', '--profile', '--memory-limit', '16GiB', '--rate', '2000'],
    shards: 2,
  },
} as const;

export type SharedRunName = keyof typeof SHARED_RUNS;

export interface LabOutput {
  args: string[];
  exitCode: number;
  stdout: string;
  stderr: string;
  /** The run folder the lab wrote (the `latest` link of its --out). */
  dir: string;
}

export interface SharedRun extends LabOutput {
  /** The --out folder (results/ of this run). */
  out: string;
  /** For a sharded run: each shard's own output; `dir` is then the merged folder. */
  shards: LabOutput[];
}

async function labRun(args: string[], out: string): Promise<LabOutput> {
  const all = [...args, '--out', out];
  const r = await execa(NODE, [...LAB, ...all], { cwd: ROOT, reject: false, timeout: 600_000, env: { FORCE_COLOR: '0', GITHUB_STEP_SUMMARY: '' } });
  const latest = join(out, 'latest');
  const dir = existsSync(latest) ? join(out, readlinkSync(latest)) : '';
  return { args: all, exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr, dir };
}

/** The shared run `name`, made now if no test of this suite has made it yet. */
export async function sharedRun(name: SharedRunName): Promise<SharedRun> {
  const folder = join(inject('sharedRuns'), name);
  const record = join(folder, 'run.json');
  if (existsSync(record)) return JSON.parse(readFileSync(record, 'utf8')) as SharedRun;
  mkdirSync(folder, { recursive: true });
  const spec = SHARED_RUNS[name];
  const out = join(folder, 'out');
  let result: SharedRun;
  if (spec.shards === 0) {
    result = { ...(await labRun([...spec.args], out)), out, shards: [] };
  } else {
    const shards: LabOutput[] = [];
    for (let i = 1; i <= spec.shards; i++) shards.push(await labRun([...spec.args, '--shard', `${i}/${spec.shards}`], join(folder, `shard${i}`)));
    const merged = join(folder, 'merged');
    const m = await execa(NODE, [...LAB, 'merge', ...shards.map((s) => s.dir), '--out', merged], { cwd: ROOT, reject: false, env: { FORCE_COLOR: '0' } });
    result = { args: ['merge', ...shards.map((s) => s.dir), '--out', merged], exitCode: m.exitCode ?? -1, stdout: m.stdout, stderr: m.stderr, dir: merged, out: merged, shards };
  }
  writeFileSync(record, JSON.stringify(result));
  return result;
}
