// Mutation testing of the pure logic (npm run test:mutation; docs/testing.md has the scores):
// Stryker changes the code of harness/analysis, harness/gate and harness/scenario one
// mutant at a time and runs the unit tests (vitest.unit.config.ts) against each; a mutant
// that no test notices survives. Nothing native is built: the unit tests need none.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.unit.config.ts' },
  plugins: ['@stryker-mutator/vitest-runner'],
  mutate: ['harness/analysis/**/*.ts', 'harness/gate/**/*.ts', 'harness/scenario/**/*.ts'],
  // The sandbox is a copy of the repository without what the unit tests do not read.
  ignorePatterns: ['/build', '/results', '/node_modules', '/.git', '/reports', '/.stryker-tmp'],
  tempDirName: 'build/stryker-tmp',
  coverageAnalysis: 'perTest',
  // Module-level mutants (schemas, tables: 25% of them) need every test re-run each, 95% of
  // the time: `npm run test:mutation -- --ignoreStatic false` runs them too (docs/testing.md).
  ignoreStatic: true,
  concurrency: 2,
  reporters: ['clear-text', 'progress', 'json', 'html'],
  jsonReporter: { fileName: 'build/stryker/mutation.json' },
  htmlReporter: { fileName: 'build/stryker/mutation.html' },
  thresholds: { high: 90, low: 80, break: 80 },
  timeoutMS: 20000,
};
