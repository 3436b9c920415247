// Placeholders of targets (pure): which names are valid where, how they are filled, and
// the cross-field checks of the target schema.
import { describe, expect, it } from 'vitest';
import { fillPlaceholders, placeholdersIn } from '../../../harness/scenario/target.js';
import { parseScenario } from '../../../harness/scenario/scenario.js';

describe('placeholdersIn', () => {
  it('accepts {port}, {port<suffix>}, {run_dir}, {lab_build}; {pid} only where allowed', () => {
    expect(placeholdersIn('--listen=127.0.0.1:{port} --admin {port_admin} {port2} {run_dir}/x {lab_build}', false))
      .toEqual({ names: ['port', 'port_admin', 'port2', 'run_dir', 'lab_build'], bad: [] });
    expect(placeholdersIn('{pid}', false).bad).toEqual(['{pid}']);
    expect(placeholdersIn('{pid}', true)).toEqual({ names: ['pid'], bad: [] });
  });
  it('reports unknown names and lone braces; {{ and }} are literal', () => {
    expect(placeholdersIn('{prot} {PORT}', false).bad).toEqual(['{prot}', '{PORT}']);
    expect(placeholdersIn('{port', false).bad).toEqual(["a lone '{'"]);
    expect(placeholdersIn('{{"json": 1}}', false)).toEqual({ names: [], bad: [] });
  });
});

describe('fillPlaceholders', () => {
  it('fills every name with its value and unescapes braces', () => {
    expect(fillPlaceholders('127.0.0.1:{port} {{x}} {port} {run_dir}', { port: '4242', run_dir: '/r' })).toBe('127.0.0.1:4242 {x} 4242 /r');
  });
  it('throws on a name without a value', () => {
    expect(() => fillPlaceholders('{port9}', { port: '1' })).toThrow(/\{port9\} has no value/);
  });
});

describe('the target schema', () => {
  const base = { name: 't', phases: [{ name: 'a', duration: '1s' }] };
  it('defaults: ready on {port}, release by the probe, loads as commands', () => {
    const s = parseScenario({ ...base, target: { command: ['srv', '{port}'] }, phases: [{ name: 'a', duration: '1s', load: { command: ['bench', '{port}'] } }] }, 'x');
    expect(s.target).toMatchObject({ ready: { kind: 'tcp', port: '{port}', timeoutMs: 15_000 }, release: { method: 'probe' }, helpers: [] });
    expect(s.phases[0]!.load).toEqual({ mode: 'command', argv: ['bench', '{port}'], until: 'phase-end', cwd: undefined, env: {} });
  });
  it('a line readiness needs a valid regex', () => {
    expect(() => parseScenario({ ...base, target: { command: ['srv'], ready: { line: '(' } } }, 'x.ts')).toThrow(/target\.ready: expected/);
  });
  it('the --quick form may replace the target command, checked like the target', () => {
    expect(() => parseScenario({ ...base, target: { command: ['srv', '{port}'] }, quick: { target: { command: ['srv', '{bogus}'] } } }, 'x.ts'))
      .toThrow(/quick\.target\.command\[1\]: unknown placeholder \{bogus\}/);
  });
});
