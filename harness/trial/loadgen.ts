// The built-in load: the native load generator runs the scenario's schedule against the
// subject's load port, announces each phase start (at once) and ticks every 100 ms (in
// batches, each stamped with its own time), and ends with its totals per phase.
import { binaryPath } from '../core/paths.js';
import { type NativeProcess, describeExit, spawnNative } from '../core/procs.js';
import type { PhaseLoad, TraceEvent } from '../core/types.js';
import type { Scenario } from '../scenario/scenario.js';
import { toSchedule } from '../scenario/schedule.js';
import { numOrNull } from '../subjects/control.js';

export interface LoadgenHandlers {
  onPhase(name: string, index: number): void;
  onTick(e: Extract<TraceEvent, { type: 'load' }>): void;
  onTotals(phases: PhaseLoad[]): void;
}

/** Starts the load generator; resolves null when it ends well, or with its failure. */
export function runLoadgen(scenario: Scenario, seed: number, port: number, monoT0Us: number, elapsed: () => number,
  h: LoadgenHandlers): { proc: NativeProcess; ended: Promise<string | null> } {
  const proc = spawnNative('loadgen', binaryPath('loadgen'), ['--port', String(port), '--schedule', '-']);
  proc.onJson((line) => {
    if (line.type === 'phase') h.onPhase(String(line.name), Number(line.index));
    else if (line.type === 'tick') h.onTick(tickEvent(line, monoT0Us, elapsed));
    else if (line.type === 'totals') h.onTotals(parsePhases(line.phases));
  });
  proc.writeStdin(JSON.stringify(toSchedule(scenario, seed)));
  return { proc, ended: proc.exited.then((e) => (e.code === 0 ? null : `loadgen ${describeExit(e)}${proc.describeStderr()}`)) };
}

function tickEvent(line: Record<string, unknown>, monoT0Us: number, elapsed: () => number): Extract<TraceEvent, { type: 'load' }> {
  return {
    // Ticks arrive in batches (native/src/loadgen.cc): each carries its own time.
    type: 'load', tMs: typeof line.mono_us === 'number' ? Math.round((line.mono_us - monoT0Us) / 100) / 10 : elapsed(), phase: String(line.phase), sent: Number(line.sent), completed: Number(line.completed),
    errors: Number(line.errors), inFlight: Number(line.in_flight), intervalCompleted: Number(line.interval_completed),
    p50Us: numOrNull(line.p50_us), p99Us: numOrNull(line.p99_us),
  };
}

function parsePhases(raw: unknown): PhaseLoad[] {
  if (!Array.isArray(raw)) return [];
  return raw.map((p: Record<string, unknown>) => ({
    name: String(p.name),
    durationMs: Number(p.duration_ms),
    sent: Number(p.sent),
    completed: Number(p.completed),
    errors: Number(p.errors),
    throughputRps: Number(p.throughput_rps),
    p50Us: numOrNull(p.p50_us),
    p99Us: numOrNull(p.p99_us),
    requests: numOrNull(p.requests),
  }));
}

/** Why the load itself failed a trial, or null: the load generator exits 0 whatever its
 * error count (it reports them in its totals), so request errors and a count-sized phase
 * cut short by its time limit are caught here. */
export function loadFailure(phases: readonly PhaseLoad[]): string | null {
  const problems = phases.flatMap((p) => [
    ...(p.errors > 0 ? [`${p.errors} request errors in phase '${p.name}'`] : []),
    ...(p.requests && p.sent < p.requests ? [`phase '${p.name}' reached its ${p.durationMs} ms limit after ${p.sent} of ${p.requests} requests`] : []),
  ]);
  return problems.length ? `loadgen: ${problems.join('; ')}` : null;
}
