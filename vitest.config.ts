// Two projects that never run at once (docs/testing.md): `unit` (test/unit/, pure logic:
// files in parallel, nothing built) first, then `lab` (everything else: real processes and
// memory measurements, one file at a time, after global setup builds native/ and makes the
// suite's shared runs). A pure test beside a memory measurement would disturb it.
import { defineConfig } from 'vitest/config';
import { UNIT } from './vitest.unit.config.js';

/** Which files each project runs (test/unit/suite-layout.test.ts: every test file in exactly one). */
export const PROJECTS = {
  unit: { include: UNIT.include, exclude: [] as string[] },
  lab: { include: ['test/**/*.test.ts'], exclude: ['test/unit/**'] },
} as const;

export default defineConfig({
  test: {
    reporters: ['default', './test/support/suite-reporter.ts'],
    projects: [
      {
        test: { ...UNIT, sequence: { groupOrder: 0 } },
      },
      {
        test: {
          name: 'lab',
          include: [...PROJECTS.lab.include],
          exclude: [...PROJECTS.lab.exclude],
          setupFiles: ['test/support/count-assertions.ts'],
          globalSetup: ['test/global-setup.ts'],
          // Memory measurements must not share the machine's two cores with each other: one
          // process runs the files one after another.
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
          // Files share that process's module cache (each file's own state is its own):
          // re-importing the harness for each of 40 files cost about a second a file.
          isolate: false,
          sequence: { groupOrder: 1 },
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
