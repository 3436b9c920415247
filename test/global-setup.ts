// The lab project's global setup: builds native/ once (incremental: nothing to do when up
// to date), and makes the folder where this suite's shared runs go (test/support/shared-runs.ts),
// removed again at the end (LEAKLAB_KEEP_TMP=1 keeps it).
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ROOT } from '../harness/core/paths.js';
import { buildNative } from '../harness/tooling/build.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where this suite's shared runs are cached (one folder per `npm test`). */
    sharedRuns: string;
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  await buildNative((line) => console.log(line));
  const dir = join(ROOT, 'build', 'test-runs', `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  project.provide('sharedRuns', dir);
  return () => {
    if (process.env.LEAKLAB_KEEP_TMP) console.log(`kept the shared runs: ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  };
}
