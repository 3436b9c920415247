// Shared by the target tests: the lab CLI as a user runs it, scenario files written
// outside the repository, and the run folder `latest` points at.
import { chmodSync, mkdtempSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { ROOT } from '../../harness/core/paths.js';
import { LAB, NODE } from '../lab-cli.js';

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** `npm run lab -- ...args` (one node process, so a signal reaches the harness). */
export function lab(args: string[], env: Record<string, string> = {}, timeout = 240_000) {
  return execa(NODE, [...LAB, ...args], {
    cwd: ROOT, reject: false, timeout, env: { FORCE_COLOR: '0', ...env },
  });
}

/** Writes a scenario as JSON into `dir` (a scenario file outside the repository). */
export function writeScenario(dir: string, name: string, scenario: object): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(scenario, null, 2));
  return file;
}

/** Writes an executable script (a test's stand-in program: a daemon, a killer). */
export function writeScript(dir: string, name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

export function latestRun(out: string): { dir: string; run: Record<string, any>; summary: Array<Record<string, any>>; trials: Array<Record<string, any>>; processes: Array<Record<string, any>>; events: Array<Record<string, any>> } {
  const dir = join(out, readlinkSync(join(out, 'latest')));
  const lines = (f: string) => {
    try {
      return readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    } catch {
      return [];
    }
  };
  return {
    dir,
    run: JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')),
    summary: JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')),
    trials: lines('trials.jsonl'),
    processes: lines('processes.jsonl'),
    events: lines('events.jsonl'),
  };
}

/** A minimal target: the lab's own relay with its upstream as a helper, driven by the built-in load. */
export function relayTarget(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    command: ['{lab_build}/relay-glibc', '--port', '{port}', '--upstream-port', '{port_up}', '--threads', '2'],
    helpers: [{ name: 'upstream', command: ['{lab_build}/upstream', '--port', '{port_up}', '--delay-ms', '100'], ready: { tcp: '{port_up}' } }],
    ...extra,
  };
}

export const shortPhases = [
  { name: 'baseline', duration: '300ms', load: { closed: 4, size: '4KiB' } },
  { name: 'load', duration: '1s', load: { closed: 32, size: '64KiB' } },
  { name: 'after-release', duration: '300ms', actions: ['release'] },
];
