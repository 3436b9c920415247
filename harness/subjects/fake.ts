// A fake subject (no process): a SubjectKind whose subject is this very process, with no
// control channel and a release that answers what it is told to. For the trial runner's
// unit tests (test/unit/trial/runner.test.ts), as hyperfine's MockExecutor is for its
// scheduler; never used by a run.
import { findVariant } from '../allocators/variants.js';
import type { ReleaseEvent, TraceEvent } from '../core/types.js';
import type { Subject, SubjectExit, SubjectKind, SubjectReady, TrialHook } from './subject.js';

export interface FakeSubjectOptions {
  ready?: SubjectReady;
  /** What each release answers (default: ok, 1.5 ms). */
  release?: Partial<ReleaseEvent>;
  hooks?: TrialHook[];
}

/** The fake kind, and handles on what it did: its releases and a way to make it exit. */
export function fakeSubject(o: FakeSubjectOptions = {}): { kind: SubjectKind; releases: number[]; exit(message: string): void; stopped(): boolean } {
  const releases: number[] = [];
  let exit: (x: SubjectExit) => void = () => {};
  const exited = new Promise<SubjectExit>((resolve) => { exit = resolve; });
  let stopped = false;
  const subject: Subject = {
    pid: process.pid,
    loadPort: null,
    control: null,
    ready: o.ready ?? { allocator: 'glibc', version: 'fake' },
    exited,
    placeholders: {},
    release: async (elapsed: () => number, event: (e: TraceEvent) => void) => {
      const tMs = elapsed();
      releases.push(tMs);
      const e: ReleaseEvent = { type: 'release', tMs, ok: true, releaseMs: 1.5, rssBeforeBytes: null, rssAfterBytes: null, call: 'fake', ...o.release };
      event(e);
      return e;
    },
    leakedBytes: async () => null,
    stop: async () => { stopped = true; },
  };
  const kind: SubjectKind = {
    description: 'a fake subject',
    command: null,
    needsRelayBinaries: false,
    defaultVariantIds: () => ['glibc'],
    plainVariant: () => findVariant('glibc')!,
    variantApplies: () => true,
    variantStatuses: (variants) => variants.map((v) => ({ id: v.id, allocator: v.allocator, available: true, version: null, reason: null })),
    check: () => ({ program: null, staticBinary: false }),
    programFor: () => null,
    trialHooks: () => o.hooks ?? [],
    start: async () => subject,
  };
  return { kind, releases, exit: (message) => exit({ message, exit: { code: 1, signal: null } }), stopped: () => stopped };
}
