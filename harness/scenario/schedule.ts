// Turns a scenario into the load generator's schedule (native/src/schedule.h) and the
// relay/upstream command lines. Pure functions.
import type { Scenario, SizeDistribution } from './scenario.js';

export interface LoadgenSchedule {
  seed: number;
  connections: number;
  phases: Array<{ name: string; duration_ms: number; load: LoadgenLoad | null }>;
}
type LoadgenSize =
  | { dist: 'fixed'; bytes: number }
  | { dist: 'uniform'; min: number; max: number }
  | { dist: 'lognormal'; median: number; sigma: number; max: number };
type LoadgenLoad =
  | { mode: 'closed'; concurrency: number; size: LoadgenSize; reconnect_every?: number; requests?: number }
  | { mode: 'open'; rate: number; max_in_flight: number; size: LoadgenSize; reconnect_every?: number; requests?: number };

function sizeOf(d: SizeDistribution): LoadgenSize {
  return d;
}

export function toSchedule(s: Scenario, seed: number): LoadgenSchedule {
  return {
    seed,
    connections: s.connections,
    phases: s.phases.map((p) => ({
      name: p.name,
      duration_ms: p.duration,
      load: !p.load || p.load.mode === 'command'
        ? null  // no load, or a target's load command (the harness starts it)
        : {
          ...(p.load.mode === 'closed'
            ? { mode: 'closed' as const, concurrency: p.load.concurrency, size: sizeOf(p.load.size) }
            : { mode: 'open' as const, rate: p.load.rate, max_in_flight: p.load.maxInFlight, size: sizeOf(p.load.size) }),
          ...(p.load.reconnectEvery ? { reconnect_every: p.load.reconnectEvery } : {}),
          ...(p.load.requests ? { requests: p.load.requests } : {}),
        },
    })),
  };
}

export function scheduledMs(s: Scenario): number {
  return s.phases.reduce((sum, p) => sum + p.duration, 0);
}

export function upstreamArgs(s: Scenario, seed: number): string[] {
  const u = s.upstream;
  const delay = typeof u.delay === 'number'
    ? ['--delay-ms', String(u.delay)]
    : ['--delay-ms-min', String(u.delay.min), '--delay-ms-max', String(u.delay.max)];
  const response = typeof u.response === 'number'
    ? ['--response-bytes', String(u.response)]
    : ['--response-ratio', String(u.response.ratio)];
  return [...delay, ...response, '--seed', String(u.seed ?? seed), '--max-frame', String(s.relay.maxFrame)];
}

export function relayArgs(s: Scenario, upstreamPort: number): string[] {
  const r = s.relay;
  const args = [
    '--upstream-port', String(upstreamPort),
    '--threads', String(r.threads),
    '--max-frame', String(r.maxFrame),
    '--high-water', String(r.highWater),
  ];
  // Behaviours: only passed when set, so a relay without them runs unchanged.
  if (r.leakRate > 0) args.push('--leak-rate', String(r.leakRate));
  if (r.logRecord) {
    args.push('--log-record-bytes', String(r.logRecord.bytes), '--log-record-every', String(r.logRecord.every),
      '--log-retention-ms', String(r.logRecord.retention));
  }
  const p = r.releasePolicy;
  if (p?.every !== undefined) args.push('--release-every-ms', String(p.every));
  if (p?.idle !== undefined) args.push('--release-idle-ms', String(p.idle));
  if (p?.freeOver !== undefined) args.push('--release-free-over', String(p.freeOver));
  if (r.threadChurn !== undefined) args.push('--thread-churn-ms', String(r.threadChurn));
  return args;
}
