// Bad input for targets: exit 2 naming the field (program not found or not executable, bad
// placeholders, unknown release method, a missing release or load command, a preload
// variant for a static binary or for a binary linking its own allocator), exit 3 naming
// the package (allocator library, gdb), all before anything starts. The lab's main() in
// process (as harness/cli.ts calls it), so each case costs milliseconds; the two cases that
// need another PATH start it as a process.
import { mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { labInProcess as inProcess } from '../support/in-process.js';
import { lab, relayTarget, shortPhases, tempDir, writeScenario } from './helpers.js';

const dir = tempDir('leaklab-target-bad-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base = (target: Record<string, unknown>, more: Record<string, unknown> = {}) => ({ name: 'bad', target, phases: shortPhases, ...more });

describe('exit 2 naming the field', () => {
  const notExec = join(dir, 'not-executable');
  writeFileSync(notExec, '#!/bin/sh\n');
  it.each([
    ['target not found', base(relayTarget({ command: ['/nonexistent/my-server', '--port', '{port}'] })), /target\.command\[0\]: no such file \/nonexistent\/my-server/],
    ['target not on PATH', base(relayTarget({ command: ['no-such-server-xyz', '{port}'] })), /target\.command\[0\]: 'no-such-server-xyz' is not on PATH/],
    ['target not executable', base(relayTarget({ command: [notExec, '{port}'] })), /target\.command\[0\]: .*not-executable is not executable/],
    ['unknown placeholder', base(relayTarget({ command: ['{lab_build}/relay-glibc', '--port', '{prot}'] })), /target\.command\[2\]: unknown placeholder \{prot\}; valid: \{port\}/],
    ['lone brace', base(relayTarget({ command: ['{lab_build}/relay-glibc', '--port', '{port'] })), /target\.command\[2\]: unknown placeholder a lone '\{'/],
    ['{pid} in the target command', base(relayTarget({ command: ['{lab_build}/relay-glibc', '--port', '{port}', '{pid}'] })), /target\.command\[3\]: unknown placeholder \{pid\}/],
    ['readiness port not in the command', base(relayTarget({ ready: { tcp: '{port9}' } })), /target\.ready\.tcp: \{port9\} does not appear in the command/],
    ['shell string instead of argv', base(relayTarget({ command: 'relay-glibc --port {port}' })), /target\.command: expected an argv array/],
    ['unknown release method', base(relayTarget({ release: { method: 'magic' } })), /target\.release\.method: expected one of probe, command, attach/],
    ['release command missing', base(relayTarget({ release: { method: 'command' } })), /target\.release\.command: required when method is 'command'/],
    ['release program not found', base(relayTarget({ release: { method: 'command', command: ['no-such-cli-xyz', '{port}'] } })), /target\.release\.command\[0\]: 'no-such-cli-xyz' is not on PATH/],
    ['load command missing', base(relayTarget(), { phases: [{ name: 'a', duration: '1s', load: { until: 'exit' } }] }), /phases\[0\]\.load\.command: Required/],
    ['load program not found', base(relayTarget(), { phases: [{ name: 'a', duration: '1s', load: { command: ['no-such-bench-xyz', '{port}'] } }] }), /phases\[0\]\.load\.command\[0\]: 'no-such-bench-xyz' is not on PATH/],
    ["until 'exit' with built-in load", base(relayTarget(), { phases: [...shortPhases, { name: 'x', duration: '1s', load: { command: ['true'], until: 'exit' } }] }), /phases\[3\]\.load\.until: 'exit' cannot be combined with built-in load/],
    ['load command without a target', { name: 'bad', phases: [{ name: 'a', duration: '1s', load: { command: ['true'] } }] }, /phases\[0\]\.load\.command: a load command needs a `target`/],
    ['as-built without a target', { name: 'bad', variants: ['as-built'], phases: [{ name: 'a', duration: '1s' }] }, /variants\[0\]: unknown variant 'as-built'.*only with a target/],
  ])('%s', async (_what, scenario, message) => {
    const file = writeScenario(dir, 'bad', scenario);
    const r = await inProcess(['--scenario', file, '--out', dir]);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain(file);
    expect(r.exitCode).toBe(2);
  });

  it('a preload variant for a static binary is refused in one line', async () => {
    // /sbin/ldconfig is static-pie in Debian: no interpreter, so nothing reads LD_PRELOAD.
    const file = writeScenario(dir, 'static', { name: 'static', target: { command: ['/sbin/ldconfig', '{port}'], release: { method: 'command', command: ['true'] } }, phases: [{ name: 'a', duration: '1s' }] });
    const r = await inProcess(['--scenario', file, '--variants', 'tcmalloc', '--out', dir]);
    expect(r.stderr).toMatch(/variant 'tcmalloc' refused for \/(usr\/)?s?bin\/ldconfig: it is statically linked, so LD_PRELOAD cannot replace its allocator; run it with --variants as-built/);
    expect(r.exitCode).toBe(2);
  });

  it('the probe release on a static binary is refused naming target.release.method', async () => {
    const file = writeScenario(dir, 'static2', { name: 'static2', target: { command: ['/sbin/ldconfig', '{port}'] }, phases: [{ name: 'a', duration: '1s' }] });
    const r = await inProcess(['--scenario', file, '--out', dir]);
    expect(r.stderr).toMatch(/target\.release\.method: 'probe' needs the probe or a debugger .* statically linked/);
    expect(r.exitCode).toBe(2);
  });

  it("a preload variant for Redis (it links its own jemalloc) is refused: the label would lie", async () => {
    const file = writeScenario(dir, 'redis', { name: 'redis', target: { command: ['redis-server', '--port', '{port}'] }, phases: [{ name: 'a', duration: '1s' }] });
    const r = await inProcess(['--scenario', file, '--variants', 'tcmalloc', '--out', dir]);
    expect(r.stderr).toMatch(/variant 'tcmalloc' refused for \/usr\/bin\/redis-server: it links its own allocator \(libjemalloc\)/);
    expect(r.exitCode).toBe(2);
  });
});

/** A PATH with every program of /usr/bin and /bin except `missing`: an environment where
 * that tool is not installed. */
function pathWithout(missing: string[]): string {
  const bin = join(dir, `bin-without-${missing.join('-')}`);
  mkdirSync(bin, { recursive: true });
  for (const d of ['/usr/bin', '/bin', '/usr/sbin', '/sbin']) {
    for (const name of readdirSync(d)) {
      if (missing.includes(name)) continue;
      try {
        symlinkSync(join(d, name), join(bin, name));
      } catch {
        // already linked from an earlier folder
      }
    }
  }
  return bin;
}

describe('exit 3 naming the package', () => {
  it('gdb missing for the attach release', async () => {
    const file = writeScenario(dir, 'attach', base(relayTarget({ release: { method: 'attach' } })));
    const r = await lab(['--scenario', file, '--variants', 'glibc', '--out', dir], { PATH: pathWithout(['gdb']) });
    expect(r.stderr).toMatch(/target\.release\.method 'attach' needs gdb, which is not installed: sudo apt-get install gdb/);
    expect(r.exitCode).toBe(3);
  });

  it('an allocator library that cannot be found (no package list: dpkg is missing)', async () => {
    const file = writeScenario(dir, 'lib', base(relayTarget()));
    const r = await lab(['--scenario', file, '--variants', 'mimalloc', '--out', dir], { PATH: pathWithout(['dpkg']) });
    expect(r.stderr).toMatch(/cannot preload mimalloc: libmimalloc\.so\.2 not found in the installed package libmimalloc2\.0; install it with: apt-get install libmimalloc2\.0/);
    expect(r.exitCode).toBe(3);
  });
});
