// The unit tests alone (test/unit/: pure logic, nothing built, files in parallel): the `unit`
// project of vitest.config.ts, and what Stryker runs for each mutant (stryker.config.mjs).
import { defineConfig } from 'vitest/config';

export const UNIT = {
  name: 'unit',
  include: ['test/unit/**/*.test.ts'],
  setupFiles: ['test/support/count-assertions.ts'],
  testTimeout: 10_000,
};

// Under Stryker (its workers carry STRYKER_MUTATOR_WORKER), the docs test stays out: it reads
// the repository through git, which Stryker's sandbox copy (build/stryker-tmp/) is not, and
// it checks no code that is mutated.
const underStryker = process.env.STRYKER_MUTATOR_WORKER !== undefined;

export default defineConfig({ test: { ...UNIT, exclude: underStryker ? ['test/unit/docs.test.ts'] : [] } });
