// scripts/run-ts.mjs as `npm run lab` uses it: plain Node, no TypeScript loader, so a scenario
// file in .ts is bundled by esbuild when it is loaded (harness/core/load-module.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../harness/core/paths.js';
import { LAB, NODE } from './lab-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'leaklab-launcher-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const lab = (args: string[]) => execa(NODE, [...LAB, ...args], { cwd: ROOT, reject: false, env: { FORCE_COLOR: '0' } });

describe('npm run lab under plain Node', () => {
  it('loads a .ts scenario from outside the repository that imports the harness', async () => {
    const file = join(dir, 'outside.ts');
    writeFileSync(file, [
      `import { defineScenario } from ${JSON.stringify(join(ROOT, 'harness/scenario/scenario.js'))};`,
      `const size: string = '4KiB';`,
      `export default defineScenario({ name: 'outside', description: 'a scenario outside the repository', phases: [{ name: 'only', duration: '1s', load: { closed: 1, size } }] });`,
    ].join('\n'));
    const r = await lab(['list', '--scenario', file]);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^outside \(the built-in relay\) runs by default: glibc, tcmalloc, jemalloc, mimalloc$/);
  });

  it('a scenario that does not compile: exit 2 naming the file, line and column', async () => {
    const file = join(dir, 'broken.ts');
    writeFileSync(file, `export default { name: 'broken', phases: [\n`);
    const r = await lab(['--scenario', file]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`cannot load scenario ${file}: line 2, column 1: Unexpected end of file`);
  });

  it('a reader that goes away ends the output quietly (`lab list | true`)', async () => {
    // `true` exits before the lab has written a byte: every write meets a closed pipe.
    const r = await execa('bash', ['-c', `"$0" "$@" list --scenario burst | true; exit \${PIPESTATUS[0]}`, NODE, ...LAB], { cwd: ROOT, reject: false, env: { FORCE_COLOR: '0' } });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
  });
});
