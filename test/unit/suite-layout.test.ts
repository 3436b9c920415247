// The suite's own layout (docs/testing.md): every test file belongs to exactly one vitest
// project, so none runs twice and none is left out; pure tests (test/unit/) import nothing
// that starts a process.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, matchesGlob, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../harness/core/paths.js';
import { PROJECTS } from '../../vitest.config.js';

function testFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return n === 'fixtures' ? [] : testFiles(p);
    return p.endsWith('.test.ts') ? [relative(ROOT, p)] : [];
  });
}

const inProject = (file: string, p: { include: readonly string[]; exclude: readonly string[] }) =>
  p.include.some((g) => matchesGlob(file, g)) && !p.exclude.some((g) => matchesGlob(file, g));

describe('test files and projects', () => {
  const files = testFiles(join(ROOT, 'test'));
  it('finds the suite', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(files).toContain('test/unit/analysis/diagnosis.test.ts');
    expect(files).toContain('test/native/physics.test.ts');
  });
  it('puts every test file in exactly one project', () => {
    const wrong = files.map((f) => [f, Object.entries(PROJECTS).filter(([, p]) => inProject(f, p)).map(([n]) => n)] as const)
      .filter(([, projects]) => projects.length !== 1);
    expect(wrong).toEqual([]);
  });
  it('keeps the lab\'s processes out of the unit project', () => {
    // The modules that start the lab, a relay or a native program.
    const starters = ['/lab-cli.js', '/shared-runs.js', '/native/helpers.js', '/run/procs.js', '/run/relay-lab.js', '/subject/build.js'];
    const spawning = files.filter((f) => f.startsWith('test/unit/')).filter((f) => {
      const imports = [...readFileSync(join(ROOT, f), 'utf8').matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1]!);
      return imports.some((i) => starters.some((s) => i.endsWith(s)));
    });
    expect(spawning).toEqual([]);
  });
});
