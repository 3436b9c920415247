// The `target` section of a scenario (harness/scenario/target.ts; docs/targets.md): its
// schema, and the cross-field checks a bad target exits 2 on, each naming the field and
// what is valid. The scenarios are hand-built data, not files; nothing is started.
import { describe, expect, it } from 'vitest';
import { LabError } from '../../../harness/core/errors.js';
import { applyQuick, parseScenario } from '../../../harness/scenario/scenario.js';
import { isCommandLoadInput, placeholdersIn } from '../../../harness/scenario/target.js';

/** The valid placeholders, as every "unknown placeholder" message lists them (docs/targets.md, "Placeholders"). */
const VALID = "{port}, {port<suffix>} (e.g. {port2}, {port_admin}), {run_dir}, {lab_build} (the lab's native build folder), in load and release commands {pid}, and {repetition} (a phase's repetition in a repeated group, 0 outside one); '{{' and '}}' for literal braces";
const unknown = (field: string, what: string) => `${field}: unknown placeholder ${what}; valid: ${VALID}`;
const notListening = (field: string, ref: string) => `${field}: ${ref} does not appear in the command or env it belongs to: the program would never listen there`;
const notAPort = (field: string, ref: string) => `${field}: '${ref}' is not a port: expected a number or a port placeholder such as '{port}'`;

const idle = { name: 'idle', duration: '1s' };
const builtIn = { name: 'load', duration: '1s', load: { closed: 4, size: '4KiB' } };
const command = (argv: string[], extra: Record<string, unknown> = {}) => ({ name: argv[0], duration: '5s', load: { command: argv, ...extra } });

/** A scenario around `target` (a fake: data only). */
function scenario(target: Record<string, unknown> | undefined, phases: unknown[] = [idle], rest: Record<string, unknown> = {}) {
  return { name: 't', ...(target ? { target } : {}), phases, ...rest };
}

/** The issues a rejected scenario lists, one per line of the message after its first. */
function issues(raw: unknown): string[] {
  try {
    parseScenario(raw, 'my-server.ts');
  } catch (err) {
    expect(err).toBeInstanceOf(LabError);
    expect((err as LabError).exitCode).toBe(2);
    const [head, ...lines] = (err as Error).message.split('\n');
    expect(head).toBe('invalid scenario my-server.ts:');
    return lines.map((l) => l.replace(/^ {2}- /, ''));
  }
  return [];
}

describe('placeholders by place', () => {
  it('{pid} only in load and release commands; an unknown name is unknown wherever pid is allowed', () => {
    expect(placeholdersIn('{pid} {run_dir}', true)).toEqual({ names: ['pid', 'run_dir'], bad: [] });
    expect(placeholdersIn('{bogus} {pid}', true)).toEqual({ names: ['pid'], bad: ['{bogus}'] });
    expect(placeholdersIn('{lab_build}/relay', false)).toEqual({ names: ['lab_build'], bad: [] });
  });

  it('names the field of every bad placeholder in the target, its env, cwd and helpers, with the valid ones', () => {
    expect(issues(scenario({
      command: ['srv', '--port', '{port}', '--pid', '{pid}'],
      env: { LOG: '{run_dir}/log', BAD: '{bogus}', PID: '{pid}' },
      cwd: '/srv/{pid}',
      helpers: [{ name: 'up', command: ['upstream', '{pid}'], env: { X: '{nope}', PID: '{pid}' } }],
    }))).toEqual([
      unknown('target.command[4]', '{pid}'),
      unknown('target.env.BAD', '{bogus}'),
      unknown('target.env.PID', '{pid}'),
      unknown('target.cwd', '{pid}'),
      unknown('target.helpers[0].command[1]', '{pid}'),
      unknown('target.helpers[0].env.X', '{nope}'),
      unknown('target.helpers[0].env.PID', '{pid}'),
    ]);
  });

  it('accepts placeholders everywhere they are valid', () => {
    const s = parseScenario(scenario({
      command: ['{lab_build}/srv', '--port', '{port}', '--admin', '{port_admin}'],
      env: { LOG: '{run_dir}/log' },
      cwd: '{run_dir}',
      helpers: [{ name: 'up', command: ['upstream', '--port', '{port_up}'], env: { DIR: '{run_dir}' }, ready: { tcp: '{port_up}' } }],
      release: { method: 'command', command: ['kill', '-USR1', '{pid}'] },
    }, [command(['bench', '-p', '{port}', '--pid', '{pid}'], { env: { PID: '{pid}' } })]), 'x');
    expect(s.target!.release).toEqual({ method: 'command', command: ['kill', '-USR1', '{pid}'], timeout: 60_000 });
    expect(s.target!.helpers[0]!.ready).toEqual({ kind: 'tcp', port: '{port_up}', timeoutMs: 15_000 });
  });

  it('checks release and load commands, where {pid} is valid', () => {
    expect(issues(scenario(
      { command: ['srv', '{port}'], release: { method: 'command', command: ['cli', '{pid}', '{prot}'] } },
      [idle, command(['bench', '{pid}', '{bogus}'], { env: { A: '{pid}', B: '{x}' } })],
    ))).toEqual([
      unknown('target.release.command[2]', '{prot}'),
      unknown('phases[1].load.command[2]', '{bogus}'),
      unknown('phases[1].load.env.B', '{x}'),
    ]);
  });

  it('a lone brace is named as such; several bad placeholders in one argument are listed together', () => {
    expect(issues(scenario({ command: ['srv', '{port}', 'a}b'] }))).toEqual([unknown('target.command[2]', "a lone '}'")]);
    expect(issues(scenario({ command: ['srv', '{port}', '{host}:{prot}'] }))).toEqual([unknown('target.command[2]', '{host}, {prot}')]);
  });
});

describe('readiness and ports', () => {
  it('defaults to a connection on {port} within 15 s; a line on stdout within 15 s when asked', () => {
    const tcp = parseScenario(scenario({ command: ['srv', '{port}'] }), 'x');
    expect(tcp.target!.ready).toEqual({ kind: 'tcp', port: '{port}', timeoutMs: 15_000 });
    expect(tcp.target!.port).toBe('{port}');
    expect(tcp.target!.stopGrace).toBe(3000);
    // A line readiness has no port: the command need not name {port}.
    const line = parseScenario(scenario({ command: ['srv'], ready: { line: 'listening on \\d+' } }), 'x');
    expect(line.target!.ready).toEqual({ kind: 'line', pattern: 'listening on \\d+', stream: 'stdout', timeoutMs: 15_000 });
    const stderr = parseScenario(scenario({ command: ['srv'], ready: { line: 'ready', stream: 'stderr', timeout: '30s' } }), 'x');
    expect(stderr.target!.ready).toEqual({ kind: 'line', pattern: 'ready', stream: 'stderr', timeoutMs: 30_000 });
  });

  it('a readiness that is neither form says which forms there are', () => {
    const expected = ["target.ready: expected { tcp: '{port}', timeout? } or { line: '<regex>', stream?: 'stdout' | 'stderr', timeout? }"];
    expect(issues(scenario({ command: ['srv'], ready: { line: '(' } }))).toEqual(expected);
    expect(issues(scenario({ command: ['srv', '{port}'], ready: { tcp: '{port}', udp: 1 } }))).toEqual(expected);
  });

  it('takes a port number as it is', () => {
    const s = parseScenario(scenario({ command: ['srv'], ready: { tcp: 8080 } }), 'x');
    expect(s.target!.ready).toEqual({ kind: 'tcp', port: '8080', timeoutMs: 15_000 });
    expect(issues(scenario({ command: ['srv'], ready: { tcp: '6379' } }))).toEqual([]);
  });

  it('refuses a readiness port that is not a number or a port placeholder', () => {
    for (const ref of ['80x', 'x80', '{run_dir}', 'x{port}', '{port}x']) {
      // Each ref also appears in the command, so only its form is wrong.
      expect(issues(scenario({ command: ['srv', ref], ready: { tcp: ref } })), ref).toEqual([notAPort('target.ready.tcp', ref)]);
    }
  });

  it('refuses a readiness port the command does not name (docs/targets.md: "readiness port not in the command")', () => {
    expect(issues(scenario({ command: ['srv', '--port', '{port}'], ready: { tcp: '{port2}' } }))).toEqual([notListening('target.ready.tcp', '{port2}')]);
    expect(issues(scenario({ command: ['srv'] }))).toEqual([notListening('target.ready.tcp', '{port}')]);
    // The env counts as the command's: a server that reads its port from the environment.
    expect(issues(scenario({ command: ['srv'], env: { PORT: '{port}' } }))).toEqual([]);
    // Each argument on its own: '{port' and '}' in two arguments do not make {port}.
    expect(issues(scenario({ command: ['srv', 'a{port', '}b'] }))).toEqual([
      unknown('target.command[1]', "a lone '{'"), unknown('target.command[2]', "a lone '}'"), notListening('target.ready.tcp', '{port}'),
    ]);
  });

  it('checks the port the built-in load generator connects to only when a phase has built-in load', () => {
    const t = { command: ['srv', '--listen', '{port_x}'], ready: { tcp: '{port_x}' } };
    expect(issues(scenario(t, [builtIn]))).toEqual([notListening('target.port', '{port}')]);
    expect(issues(scenario({ ...t, port: 'here' }, [idle, builtIn]))).toEqual([notAPort('target.port', 'here')]);
    expect(issues(scenario({ ...t, port: '{port_x}' }, [builtIn]))).toEqual([]);
    // No built-in load (a load command, or no load): the port is not used.
    expect(issues(scenario(t, [idle, command(['bench', '{port_x}'])]))).toEqual([]);
  });

  it('checks a helper\'s readiness port against the helper\'s own command and env', () => {
    const helper = (h: Record<string, unknown>) => scenario({ command: ['srv', '{port}', '{port_up}'], helpers: [{ name: 'up', command: ['upstream'], ...h }] });
    expect(issues(helper({ ready: { tcp: '{port_up}' } }))).toEqual([notListening('target.helpers[0].ready.tcp', '{port_up}')]);
    expect(issues(helper({ env: { PORT: '{port_up}' }, ready: { tcp: '{port_up}' } }))).toEqual([]);
    expect(issues(helper({ ready: { tcp: 'up' } }))).toEqual([notAPort('target.helpers[0].ready.tcp', 'up')]);
    expect(issues(helper({ ready: { line: 'ready' } }))).toEqual([]);
    expect(issues(helper({}))).toEqual([]);
    // Each argument on its own, as for the target.
    expect(issues(helper({ command: ['upstream', 'a{port_up', '}'], ready: { tcp: '{port_up}' } }))).toEqual([
      unknown('target.helpers[0].command[1]', "a lone '{'"), unknown('target.helpers[0].command[2]', "a lone '}'"),
      notListening('target.helpers[0].ready.tcp', '{port_up}'),
    ]);
  });
});

describe('release', () => {
  it('defaults to the probe, with a 60 s timeout', () => {
    expect(parseScenario(scenario({ command: ['srv', '{port}'] }), 'x').target!.release).toEqual({ method: 'probe', timeout: 60_000 });
  });

  it('names the valid methods, and a command exactly when the method is command', () => {
    expect(issues(scenario({ command: ['srv', '{port}'], release: { method: 'gdb' } }))).toEqual(['target.release.method: expected one of probe, command, attach']);
    expect(issues(scenario({ command: ['srv', '{port}'], release: { method: 'command' } }))).toEqual([
      "target.release.command: required when method is 'command': the argv to run, e.g. ['redis-cli', '-p', '{port}', 'memory', 'purge']",
    ]);
    expect(issues(scenario({ command: ['srv', '{port}'], release: { method: 'attach', command: ['gdb'] } }))).toEqual([
      "target.release.command: only with method 'command' (method is 'attach')",
    ]);
    expect(parseScenario(scenario({ command: ['srv', '{port}'], release: { method: 'attach' } }), 'x').target!.release.method).toBe('attach');
  });
});

describe('load commands', () => {
  it('a phase load that names `command` or `until` is a load command', () => {
    expect(isCommandLoadInput({ command: ['x'] })).toBe(true);
    expect(isCommandLoadInput({ until: 'exit' })).toBe(true);
    expect(isCommandLoadInput({ closed: 4, size: '4KiB' })).toBe(false);
    expect(isCommandLoadInput(null)).toBe(false);
    expect(isCommandLoadInput('bench -p 1')).toBe(false);
    expect(isCommandLoadInput(undefined)).toBe(false);
  });

  it('takes its argv, until (default phase-end), cwd and env', () => {
    const s = parseScenario(scenario({ command: ['srv', '{port}'] }, [command(['bench'], { until: 'exit', cwd: '/w', env: { A: '1' } })]), 'x');
    expect(s.phases[0]!.load).toEqual({ mode: 'command', argv: ['bench'], until: 'exit', cwd: '/w', env: { A: '1' } });
  });

  it('names the valid values of until', () => {
    expect(issues(scenario({ command: ['srv', '{port}'] }, [command(['bench'], { until: 'never' })]))).toEqual(["phases[0].load.until: expected 'phase-end' or 'exit'"]);
  });

  it('needs a target: the built-in relay is driven by the built-in load generator', () => {
    expect(issues(scenario(undefined, [builtIn, command(['bench'])]))).toEqual([
      'phases[1].load.command: a load command needs a `target` (the built-in relay is driven by the built-in load generator)',
    ]);
  });

  it("until: 'exit' only when no phase has built-in load", () => {
    const t = { command: ['srv', '{port}'] };
    expect(issues(scenario(t, [command(['fill'], { until: 'exit' }), builtIn]))).toEqual([
      "phases[0].load.until: 'exit' cannot be combined with built-in load phases (the load generator's clock drives those phases); use 'phase-end'",
    ]);
    expect(issues(scenario(t, [idle, command(['fill'], { until: 'exit' }), command(['drain'])]))).toEqual([]);
    // A load command that stops at the phase end goes with built-in load.
    expect(issues(scenario(t, [command(['fill'], { until: 'phase-end' }), command(['drain']), builtIn]))).toEqual([]);
  });
});

describe('argv fields', () => {
  it('an argv is an array with a program first', () => {
    expect(issues(scenario({ command: 'srv --port {port}' }))).toEqual(["target.command: expected an argv array such as ['redis-cli', '-p', '{port}'] (never a shell string)"]);
    expect(issues(scenario({ command: ['', '{port}'] }))).toEqual(['target.command: the program (first element) is empty']);
  });
});

describe('the --quick form of a target', () => {
  it('may replace the command, env or helpers, checked like the target', () => {
    const s = parseScenario(scenario({ command: ['srv', '{port}', '--items', '1000'], env: { A: '1' } }, [idle], { quick: { target: { command: ['srv', '{port}', '--items', '10'] } } }), 'x');
    expect(applyQuick(s).target!.command).toEqual(['srv', '{port}', '--items', '10']);
    expect(applyQuick(s).target!.env).toEqual({ A: '1' });
    expect(s.target!.command).toEqual(['srv', '{port}', '--items', '1000']);
    expect(issues(scenario({ command: ['srv', '{port}'] }, [idle], { quick: { target: { command: ['srv'] } } }))).toEqual([notListening('quick.target.ready.tcp', '{port}')]);
  });

  it('needs a target to override', () => {
    expect(issues(scenario(undefined, [idle], { quick: { target: { command: ['srv'] } } }))).toEqual(['quick.target: there is no target to override']);
  });
});
