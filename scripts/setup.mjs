#!/usr/bin/env zx
// npm run setup: installs the Debian packages leak-lab needs, then builds native/.
// (npm ci has already run: it is the first half of the `setup` script, so zx is here.)
// Safe to run twice: packages already installed are not fetched again.
import { $, which } from 'zx';

// The README's Quick start summarises this list; docs link here for the full one.
export const SYSTEM_PACKAGES = [
  'g++', 'cmake', 'make', 'pkg-config', 'procps', 'iproute2',
  'libgoogle-perftools-dev', 'libjemalloc-dev', 'libmimalloc-dev', 'nlohmann-json3-dev',
  'haproxy',
  // lab run --profile on tcmalloc: google-pprof symbolizes gperftools heap profiles (jeprof ships in libjemalloc-dev)
  'google-perftools',
  'chromium',  // headless, for the report.html browser test (test/report/run-reports.test.ts)
  // lab detect: valgrind memcheck, and clang with its ASan/LSan runtime for the sanitizer relay
  'valgrind', 'clang', 'libclang-rt-dev',
  // targets (issue 10): Redis from Debian as an example target and its tools; gdb for
  // the attach release
  'redis-server', 'redis-tools', 'gdb',
  // the plain-malloc example target (scenarios/mosquitto-queue.ts): the broker and its clients
  'mosquitto', 'mosquitto-clients',
  // leaklab-inspect (docs/inspect.md): libunwind-ptrace walks a stopped thread's stack
  'libunwind-dev',
];

$.verbose = false;

const aptGet = await which('apt-get', { nothrow: true });
if (!aptGet) {
  console.error('leak-lab setup: apt-get not found: this is not a Debian/Ubuntu system.');
  console.error('Install these (Debian package names) with your package manager, then run `npm run lab -- build`:');
  console.error('  ' + SYSTEM_PACKAGES.join(' '));
  process.exit(3);
}

const installed = new Set(
  (await $`dpkg-query -W -f=${'${Package} ${db:Status-Status}\n'}`.nothrow()).stdout
    .split('\n').filter((l) => l.endsWith(' installed')).map((l) => l.split(' ')[0]),
);
const missing = SYSTEM_PACKAGES.filter((p) => !installed.has(p));
if (missing.length > 0) {
  const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
  console.log(`leak-lab setup: installing ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await $({ stdio: 'inherit', env })`${sudo} apt-get update -qq`;
  await $({ stdio: 'inherit', env })`${sudo} apt-get install -y -qq --no-install-recommends ${missing}`;
} else {
  console.log('leak-lab setup: system packages already installed');
}

await $({ stdio: 'inherit' })`node scripts/run-ts.mjs harness/cli.ts build`;
