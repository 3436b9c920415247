// An allocator package installed after the first configure is found by the next build,
// without deleting build/. No package is uninstalled: the first configure runs with
// pkg-config pointed at an empty folder (PKG_CONFIG_LIBDIR), so tcmalloc and jemalloc
// are "missing" exactly as on a machine without their -dev packages; the next build runs
// with the real pkg-config, as after `apt-get install`.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { buildNative, skippedRelays } from '../../harness/tooling/build.js';

const dir = mkdtempSync(join(tmpdir(), 'leaklab-build-'));
const noPackages = mkdtempSync(join(tmpdir(), 'leaklab-no-pc-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(noPackages, { recursive: true, force: true });
});

async function build(env?: Record<string, string>): Promise<{ lines: string[]; skipped: string[] }> {
  const lines: string[] = [];
  const r = await buildNative((l) => lines.push(l), dir, { target: 'codec_test', env });
  return { lines, skipped: r.skipped };
}

it('reconfigures while a relay is skipped, warns each time, and finds the allocator once it is there', async () => {
  const hidden = { PKG_CONFIG_LIBDIR: noPackages };
  const first = await build(hidden);
  expect(first.lines[0]).toMatch(/^configuring native\//);
  expect(skippedRelays(dir)).toEqual(expect.arrayContaining(['relay-tcmalloc', 'relay-jemalloc']));
  expect(first.skipped.join('\n')).toMatch(/skipping relay-tcmalloc/);

  // Still missing: the next build looks again and says so again (not only the first time).
  const again = await build(hidden);
  expect(again.lines[0]).toMatch(/reconfiguring .*relay-tcmalloc/);
  expect(again.skipped.join('\n')).toMatch(/skipping relay-tcmalloc/);

  // "Installed": the real pkg-config finds both, with the same build folder.
  const found = await build();
  expect(found.lines[0]).toMatch(/reconfiguring .*relay-jemalloc/);
  expect(found.skipped).toEqual([]);
  expect(skippedRelays(dir)).toEqual([]);
  const cache = readFileSync(join(dir, 'CMakeCache.txt'), 'utf8');
  expect(cache).toMatch(/^TCMALLOC_FOUND:INTERNAL=1$/m);
  expect(cache).toMatch(/^JEMALLOC_FOUND:INTERNAL=1$/m);
  expect(readFileSync(join(dir, 'Makefile'), 'utf8')).toContain('relay-tcmalloc');

  // Nothing skipped any more: no reconfigure.
  const quiet = await build();
  expect(quiet.lines).toEqual([]);
}, 600_000);
