// A scenario's load commands (a target driven by programs of its own, such as
// mosquitto_pub or redis-benchmark): each started at its phase's start with the subject's
// placeholders filled, stopped at the phase's end (`until: 'phase-end'`) or left to exit
// (`until: 'exit'`); a command that fails ends the trial with its exit and last stderr.
import { type NativeProcess, describeExit } from '../core/procs.js';
import type { Scenario } from '../scenario/scenario.js';
import { fillPlaceholders } from '../scenario/target.js';
import type { ProcessRecord } from '../subjects/subject.js';
import { launch } from '../subjects/target/procs.js';

export interface RunningLoad {
  proc: NativeProcess;
  phase: string;
  until: 'phase-end' | 'exit';
  stopping: boolean;
}

export class CommandLoads {
  private readonly loads: RunningLoad[] = [];

  constructor(private readonly o: {
    scenario: Scenario;
    placeholders: () => Readonly<Record<string, string>>;
    onProcess?: (r: ProcessRecord) => void;
    /** A command that exits with an error while it is not being stopped. */
    onFailure: (message: string) => void;
  }) {}

  /** Starts the load command of phase `name`, if it has one. */
  start(name: string): void {
    const p = this.o.scenario.phases.find((x) => x.name === name);
    if (p?.load?.mode !== 'command') return;
    // {repetition}: the phase's repetition in a repeated group (1, 2, ...), 0 outside one.
    const values = { ...this.o.placeholders(), repetition: String(p.repetition ?? 0) };
    const fill = (x: string) => fillPlaceholders(x, values);
    const argv = p.load.argv.map(fill);
    const env = Object.fromEntries(Object.entries(p.load.env).map(([k, v]) => [k, fill(v)]));
    const proc = launch(`load command of phase '${name}'`, argv, env, p.load.cwd ? fill(p.load.cwd) : undefined);
    const entry: RunningLoad = { proc, phase: name, until: p.load.until, stopping: false };
    this.loads.push(entry);
    const started = performance.now();
    void proc.exited.then((e) => {
      this.o.onProcess?.({ role: 'load', name: `${name}: ${argv[0]}`, argv, exit: e, durationMs: Math.round(performance.now() - started), stdoutTail: proc.lastStdout(), stderrTail: proc.lastStderr() });
      if (!entry.stopping && e.code !== 0) this.o.onFailure(`${proc.name} (${argv.join(' ')}) ${describeExit(e)}${proc.describeStderr(10)}`);
    });
  }

  /** The load command started for phase `name`. */
  of(name: string): RunningLoad | undefined {
    return this.loads.find((l) => l.phase === name);
  }

  /** Stops the commands that end with their phase, or (`all`) every one still running. */
  async stop(all: boolean): Promise<void> {
    const going = this.loads.filter((l) => !l.stopping && (all || l.until === 'phase-end'));
    for (const l of going) l.stopping = true;
    await Promise.all(going.map((l) => l.proc.stop()));
  }
}
