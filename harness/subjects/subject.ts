// A subject is the process being measured: the built-in relay (with its upstream) or a
// user's target (a live process comes next). A scenario names its kind, chosen once
// (subjects/index.ts, subjectFor); everything above this folder knows a subject only
// through these interfaces: a kind checks what it needs before a run, says which variants
// apply, and starts a `Subject` for each trial, which has a pid to sample, a control
// channel (stats, release, profile dumps), and a stop.
import type { AdminClient } from './protocol/client.js';
import type { Allocator, ReleaseEvent, Trace, TraceEvent } from '../core/types.js';
import type { Exit, NativeProcess } from '../core/procs.js';
import type { Variant, VariantStatus } from '../allocators/variants.js';
import type { BinaryInfo } from './target/binary.js';

export interface SubjectExit {
  /** Which process ended (relay, upstream, the target, a helper) and how, with its last stderr. */
  message: string;
  exit: Exit;
}

/** What a started subject reported of itself: the allocator that really serves malloc (and
 * for a target the probe's announcement and the allocator libraries mapped). */
export interface SubjectReady {
  allocator: Allocator | 'unknown';
  version: string | null;
  mapped?: Allocator[];
  probe?: Record<string, unknown> | null;
}

/** A started subject, for one trial. */
export interface Subject {
  /** The measured process. */
  readonly pid: number;
  /** Where the built-in load generator connects (a server speaking the lab's protocol). */
  readonly loadPort: number | null;
  /** The control channel (the relay's admin port, or the probe's in a target); null: RSS only. */
  readonly control: AdminClient | null;
  readonly ready: SubjectReady;
  /** Resolves when any of the subject's processes ends before stop(). */
  readonly exited: Promise<SubjectExit>;
  /** Values of the placeholders ({port}, {pid}, {run_dir}, ...), for load commands. */
  readonly placeholders: Readonly<Record<string, string>>;
  /** Gives free memory back by the subject's release method; records a release event. */
  release(elapsed: () => number, event: (e: TraceEvent) => void): Promise<ReleaseEvent>;
  /** The program's own count of the bytes it leaked, where it keeps one (the relay's leak
   * mode; a target's `truth` command); null when it does not: no ground truth. */
  leakedBytes(): Promise<number | null>;
  stop(): Promise<void>;
}

/** How to start the subject when not plainly: under a tool (lab detect), with more
 * environment (a heap profiler), longer waits (a tool slows the start and reports at exit). */
export interface Launch {
  /** The subject's program runs as `command ...args <program> <its args>`. */
  wrapper?: { command: string; args: string[] };
  /** Another build of the program (the built-in relay's ASan build). */
  binary?: string;
  env?: Record<string, string>;
  /** More arguments for the subject's program (the built-in relay's flags). */
  extraArgs?: string[];
  /** Shared objects preloaded before the rest (a leak checker's runtime). */
  preload?: string[];
  /** Start without the probe (valgrind replaces malloc: there is nothing for it to observe). */
  noProbe?: boolean;
  readyTimeoutMs?: number;
  stopGraceMs?: number;
  /** Called with the measured process once spawned (a tool's output is read from it). */
  onSpawn?: (proc: NativeProcess) => void;
}

/** A helper, target, load or release process as it ended (processes.jsonl). */
export interface ProcessRecord {
  role: 'target' | 'helper' | 'load' | 'release';
  name: string;
  argv: string[];
  exit: { code: number | null; signal: string | null } | null;
  durationMs: number;
  stdoutTail: string[];
  stderrTail: string[];
}

export interface SubjectStart {
  variant: Variant;
  /** The trial's seed (the built-in relay's upstream delays). */
  seed: number;
  /** The trial's own folder ({run_dir}; a target's probe writes its port file there). */
  workDir: string;
  signal: AbortSignal;
  launch?: Launch;
  onProcess?: (r: ProcessRecord) => void;
}

/** Something that runs at every phase start and at the end of a trial: profiling's heap
 * dumps, a target's look at its child processes. Phase starts are awaited before the
 * phase's actions (a release) run. */
export interface TrialHook {
  phaseStart?(ctx: HookContext, ended: string | null, started: { name: string; index: number; releases: boolean }): Promise<void> | void;
  end?(ctx: HookContext, lastPhase: string): Promise<void> | void;
}

export interface HookContext {
  subject: Subject;
  trace: Trace;
  elapsed(): number;
  event(e: TraceEvent): void;
}

/** What a kind found before the run: the program it runs (what growth profiles symbolize
 * against), whether it is statically linked (nothing can be preloaded), and a target's
 * binary facts for run.json (path, build id or checksum, package). */
export interface SubjectFacts {
  program: string | null;
  staticBinary: boolean;
  binary?: BinaryInfo;
}

/** The kind of subject a scenario names. */
export interface SubjectKind {
  /** How messages and reports name it: "the built-in relay", "target /usr/sbin/mosquitto". */
  readonly description: string;
  /** The program's argv as the scenario gives it; null for the built-in relay. */
  readonly command: readonly string[] | null;
  /** Whether its variants need the relay binaries built (checked after the build). */
  readonly needsRelayBinaries: boolean;
  /** Variant ids run when --variants is not given. */
  defaultVariantIds(): string[];
  /** The variant that runs the program with the allocator it was built with (the relay on
   * glibc; a target as built): what a tool that replaces malloc itself wraps. */
  plainVariant(): Variant;
  /** Whether a variant can run on it at all (as-built only on targets). */
  variantApplies(variantId: string): boolean;
  /** Whether each variant can run here now, and why not (lab list). */
  variantStatuses(variants: readonly Variant[]): VariantStatus[];
  /** Checks before a run (exit 2 naming the field, 3 naming the package); `probe: false`
   * before the build, which makes the probe. Returns facts for run.json. */
  check(variants: readonly Variant[], o: { probe: boolean }): SubjectFacts;
  /** The program a growth profile of `variant` symbolizes against. */
  programFor(variant: Variant, facts: SubjectFacts): string | null;
  /** Hooks this kind adds to each of its trials. */
  trialHooks(): TrialHook[];
  start(o: SubjectStart, facts: SubjectFacts): Promise<Subject>;
}
