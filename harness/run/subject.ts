// A subject is the process being measured: the built-in relay (with its upstream) or a
// user's target. The runner knows a subject only through this interface: it is started
// ready, has a pid to sample, a control channel for stats, a release, and a stop.
import type { AdminClient } from '../subject/client.js';
import type { Allocator, ReleaseEvent, TraceEvent } from '../core/types.js';
import type { Exit } from './procs.js';

export interface SubjectExit {
  /** Which process ended (relay, upstream, the target, a helper) and how, with its last stderr. */
  message: string;
  exit: Exit;
}

export interface Subject {
  /** The measured process. */
  readonly pid: number;
  /** Where the built-in load generator connects (a server speaking the lab's protocol). */
  readonly loadPort: number | null;
  /** The admin channel (the relay's own, or the probe's in a target); null: RSS only. */
  readonly control: AdminClient | null;
  /** The allocator that really serves malloc in the subject, as it reported itself. */
  readonly allocator: { name: Allocator | 'unknown'; version: string | null };
  /** Resolves when any of the subject's processes ends before stop(). */
  readonly exited: Promise<SubjectExit>;
  /** Values of the placeholders ({port}, {pid}, {run_dir}, ...), for load commands. */
  readonly placeholders: Readonly<Record<string, string>>;
  /** Gives free memory back by the subject's release method; records a release event. */
  release(elapsed: () => number, event: (e: TraceEvent) => void): Promise<ReleaseEvent>;
  stop(): Promise<void>;
}
