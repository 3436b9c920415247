// The suite's own reporter, beside vitest's default one:
// - per test file: its project, time (vitest's own account: preparing, importing the file,
//   setup files, and every test and hook), tests and expect() calls (test/support/count-assertions.ts), written to
//   build/test-timings.json; `npm run test:timings` puts them into docs/testing.md;
// - skipped tests: any test that did not run fails the suite, unless test/skips.ts lists
//   it with its reason (a skip that passes silently would hide a check that stopped running).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { Reporter, TestModule, Vitest } from 'vitest/node';
import { ALLOWED_SKIPS } from '../skips.js';

export interface FileTiming {
  file: string;
  project: string;
  wallMs: number;
  tests: number;
  assertions: number;
  state: string;
}

export interface SuiteTimings {
  startedAt: string;
  wallMs: number;
  projects: Record<string, { wallMs: number; files: number; tests: number; assertions: number }>;
  files: FileTiming[];
}

/** A file's time as vitest accounts it (its reporter events arrive in batches, so a clock
 * here would not see when the file really started). */
function fileMs(m: TestModule): number {
  const d = m.diagnostic();
  return d.environmentSetupDuration + d.prepareDuration + d.collectDuration + d.setupDuration + d.duration;
}

export default class SuiteReporter implements Reporter {
  private root = process.cwd();
  private firstStart: Record<string, number> = {};
  private lastEnd: Record<string, number> = {};
  private t0 = performance.now();
  private startedAt = new Date().toISOString();
  private files: FileTiming[] = [];

  /** -t picks tests by name and reports the others as skipped: then skips are not checked. */
  private filtered = false;

  onInit(vitest: Vitest): void {
    this.root = vitest.config.root;
    this.filtered = vitest.config.testNamePattern !== undefined;
    this.t0 = performance.now();
  }

  onTestModuleStart(m: TestModule): void {
    this.firstStart[m.project.name] ??= performance.now();
  }

  onTestModuleEnd(m: TestModule): void {
    const now = performance.now();
    this.lastEnd[m.project.name] = now;
    const tests = [...m.children.allTests()];
    this.files.push({
      file: relative(this.root, m.moduleId),
      project: m.project.name,
      wallMs: Math.round(fileMs(m)),
      tests: tests.length,
      assertions: tests.reduce((n, t) => n + ((t.meta() as { assertions?: number }).assertions ?? 0), 0),
      state: m.state(),
    });
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const unlisted: string[] = [];
    for (const m of modules) {
      const file = relative(this.root, m.moduleId);
      for (const t of m.children.allTests()) {
        if (t.result().state !== 'skipped') continue;
        const allowed = ALLOWED_SKIPS.some((s) => s.file === file && s.test.test(t.fullName));
        if (!allowed) unlisted.push(`${file} > ${t.fullName}`);
      }
    }
    this.writeTimings();
    if (unlisted.length && !this.filtered) {
      process.stderr.write(`\nskipped tests not listed in test/skips.ts (a skip must say why, or the check must run):\n${unlisted.map((u) => `  ${u}`).join('\n')}\n`);
      process.exitCode = 1;
    }
  }

  private writeTimings(): void {
    const projects: SuiteTimings['projects'] = {};
    for (const f of this.files) {
      const p = (projects[f.project] ??= { wallMs: 0, files: 0, tests: 0, assertions: 0 });
      p.files += 1;
      p.tests += f.tests;
      p.assertions += f.assertions;
    }
    for (const name of Object.keys(projects)) projects[name]!.wallMs = Math.round((this.lastEnd[name] ?? 0) - (this.firstStart[name] ?? 0));
    const out: SuiteTimings = {
      startedAt: this.startedAt, wallMs: Math.round(performance.now() - this.t0), projects,
      files: [...this.files].sort((a, b) => b.wallMs - a.wallMs),
    };
    const path = join(this.root, 'build', 'test-timings.json');
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, JSON.stringify(out, null, 2) + '\n');
  }
}
