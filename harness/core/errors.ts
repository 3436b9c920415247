// Every user-facing error in one table. Core code throws LabError; the CLI decides the
// exit code in one place (see cli/main.ts), as docs/architecture.md lists them:
// 0 ok, 1 gate failed or a run failed, 2 bad usage/scenario/config, 3 environment, 130 interrupted.

export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  environment: 3,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

const messages = {
  unknownScenario: (p: { name: string; valid: string[] }) =>
    `unknown scenario '${p.name}'; valid: ${p.valid.join(', ')} (or a path to a scenario file)`,
  badScenario: (p: { file: string; issues: string[] }) =>
    `invalid scenario ${p.file}:\n${p.issues.map((i) => `  - ${i}`).join('\n')}`,
  scenarioLoad: (p: { file: string; reason: string }) =>
    `cannot load scenario ${p.file}: ${p.reason}`,
  unknownVariant: (p: { ids: string[]; valid: string[] }) =>
    `--variants: unknown variant ${p.ids.map((i) => `'${i}'`).join(', ')}; valid: ${p.valid.join(', ')}`,
  unavailableVariant: (p: { id: string; reason: string }) =>
    `variant '${p.id}' is not available: ${p.reason}`,
  noVariants: () => `no variant is available; run \`npm run setup\` (see \`npm run lab -- list\`)`,
  badFlag: (p: { flag: string; value: string; valid: string }) =>
    `${p.flag}: '${p.value}' is not valid; expected ${p.valid}`,
  missingTool: (p: { tool: string; install: string }) =>
    `${p.tool} not found; install it with: ${p.install} (or run \`npm run setup\`)`,
  buildFailed: (p: { step: string; output: string }) =>
    `native build failed at ${p.step}:\n${p.output}`,
  outDir: (p: { dir: string; reason: string }) =>
    `--out: cannot write results under ${p.dir}: ${p.reason}; choose a writable folder with --out DIR`,
  runDir: (p: { dir: string; reason: string }) => `${p.dir}: not a leak-lab run folder (${p.reason})`,
  badCeilings: (p: { file: string; issues: string[] }) =>
    `invalid ceilings ${p.file}:\n${p.issues.map((i) => `  - ${i}`).join('\n')}`,
  ceilingsLoad: (p: { file: string; reason: string }) =>
    `cannot load ceilings ${p.file}: ${p.reason}; pass another file with --ceilings FILE`,
  noCeilings: (p: { file: string; keys: string[] }) =>
    `no ceiling in ${p.file} applies to this run; add entries under ${p.keys.map((k) => `'${k}'`).join(' or ')} (a gate that checks nothing never passes)`,
  baselineMismatch: (p: { dir: string; reason: string }) =>
    `--baseline ${p.dir}: ${p.reason}; compare against a run of the same form`,
  mergeInput: (p: { reason: string }) => `merge: ${p.reason}`,
  badTarget: (p: { file: string; field: string; reason: string }) =>
    `invalid target in ${p.file}: ${p.field}: ${p.reason}`,
  preloadRefused: (p: { variant: string; program: string; reason: string }) =>
    `variant '${p.variant}' refused for ${p.program}: ${p.reason}; run it with --variants as-built`,
  missingPackage: (p: { what: string; pkg: string }) =>
    `${p.what} is not installed: sudo apt-get install ${p.pkg} (or npm run setup)`,
  allocatorLibraryMissing: (p: { allocator: string; pkg: string; soname: string }) =>
    `cannot preload ${p.allocator}: ${p.soname} not found in the installed package ${p.pkg}; install it with: apt-get install ${p.pkg} (or run \`npm run setup\`)`,
  probeMissing: (p: { path: string }) =>
    `the probe library ${p.path} is not built; build it with \`npm run lab -- build\` (needs the packages of \`npm run setup\`)`,
  probeTimeout: (p: { dir: string; pid: number; timeoutMs: number; seen: string; stderr?: string }) =>
    `no probe announced itself for pid ${p.pid} within ${p.timeoutMs} ms (waited for ${p.dir}/probe-${p.pid}.json; ${p.seen}); the target may be statically linked, ignore LD_PRELOAD, close inherited descriptors, run as a user who cannot write that folder, or have died${p.stderr ?? ''}`,
  ptraceDenied: (p: { pid: number; detail: string }) =>
    `attach release: cannot ptrace pid ${p.pid} (${p.detail}); allow it with \`sysctl kernel.yama.ptrace_scope=0\` (or 1 and run the target as a child of the harness), or give the harness CAP_SYS_PTRACE (docker: --cap-add=SYS_PTRACE)`,
  attachRefused: (p: { pid: number; reason: string }) =>
    `attach release refused for pid ${p.pid}: ${p.reason}; use release: 'probe' or 'command' for this target`,
  attachFailed: (p: { pid: number; reason: string }) =>
    `attach release failed for pid ${p.pid}: ${p.reason}`,
  targetLostAfterAttach: (p: { pid: number; what: string }) =>
    `the target (pid ${p.pid}) ${p.what} after the attach release: the attach damaged it; the run fails`,
  noProcess: (p: { pid: string }) =>
    `inspect: no process ${p.pid}; expected the pid of a running process (see \`pgrep -a <name>\`)`,
  inspectorMissing: (p: { path: string }) =>
    `inspect: the inspector ${p.path} is not built; build it with \`npm run lab -- build\` (needs libunwind-dev from \`npm run setup\`)`,
  inspectRefused: (p: { pid: number; reason: string }) =>
    `inspect refused for pid ${p.pid}: ${p.reason}`,
  inspectFailed: (p: { pid: number; command: string; error: string; reason: string }) =>
    `inspect ${p.command} of pid ${p.pid} failed (${p.error}): ${p.reason}`,
} as const;

export type ErrorId = keyof typeof messages;
type Params<K extends ErrorId> = Parameters<(typeof messages)[K]>[0];

const exitCodes: Record<ErrorId, ExitCode> = {
  unknownScenario: ExitCode.usage,
  badScenario: ExitCode.usage,
  scenarioLoad: ExitCode.usage,
  unknownVariant: ExitCode.usage,
  unavailableVariant: ExitCode.environment,
  noVariants: ExitCode.environment,
  badFlag: ExitCode.usage,
  missingTool: ExitCode.environment,
  buildFailed: ExitCode.environment,
  outDir: ExitCode.environment,
  runDir: ExitCode.usage,
  badCeilings: ExitCode.usage,
  ceilingsLoad: ExitCode.usage,
  noCeilings: ExitCode.usage,
  baselineMismatch: ExitCode.usage,
  mergeInput: ExitCode.usage,
  badTarget: ExitCode.usage,
  preloadRefused: ExitCode.usage,
  missingPackage: ExitCode.environment,
  allocatorLibraryMissing: ExitCode.environment,
  probeMissing: ExitCode.environment,
  probeTimeout: ExitCode.failed,
  ptraceDenied: ExitCode.environment,
  attachRefused: ExitCode.environment,
  attachFailed: ExitCode.failed,
  targetLostAfterAttach: ExitCode.failed,
  noProcess: ExitCode.usage,
  inspectorMissing: ExitCode.environment,
  inspectRefused: ExitCode.environment,
  inspectFailed: ExitCode.failed,
};

type ErrorArgs = { [K in ErrorId]: Params<K> extends undefined ? [id: K] : [id: K, params: Params<K>] }[ErrorId];

export class LabError extends Error {
  readonly id: ErrorId;
  readonly exitCode: ExitCode;
  constructor(...args: ErrorArgs) {
    const [id, params] = args as [ErrorId, unknown];
    super((messages[id] as (p: unknown) => string)(params));
    this.id = id;
    this.exitCode = exitCodes[id];
  }
}
