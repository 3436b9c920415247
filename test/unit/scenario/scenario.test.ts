import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LabError } from '../../../harness/core/errors.js';
import { applyQuick, expandArms, listScenarioNames, loadScenario, parseScenario } from '../../../harness/scenario/scenario.js';
import { relayArgs, scheduledMs, toSchedule, upstreamArgs } from '../../../harness/scenario/schedule.js';
import { defineScenario } from '../../../harness/scenario/define.js';

const minimal = {
  name: 'tiny',
  phases: [{ name: 'load', duration: '1s', load: { closed: 4, size: '4KiB' } }],
};

function issuesOf(raw: unknown): string {
  try {
    parseScenario(raw, 'scenarios/x.ts');
  } catch (err) {
    expect(err).toBeInstanceOf(LabError);
    expect((err as LabError).exitCode).toBe(2);
    return (err as Error).message;
  }
  throw new Error('expected the scenario to be rejected');
}

describe('scenario schema', () => {
  it('fills defaults and converts units', () => {
    const s = parseScenario(minimal, 'x');
    expect(s.relay).toEqual({ threads: 8, maxFrame: 16 * 1024 * 1024, highWater: 8 * 1024 * 1024, leakRate: 0 });
    expect(s.trials).toBe(1);
    expect(s.phases[0]).toEqual({ name: 'load', duration: 1000, actions: [], load: { mode: 'closed', concurrency: 4, size: { dist: 'fixed', bytes: 4096 }, reconnectEvery: 0 } });
  });

  it('accepts every size distribution and the open-loop form', () => {
    const s = parseScenario({
      name: 'dists',
      phases: [
        { name: 'a', duration: '1s', load: { rate: 100, size: { uniform: ['1KiB', '2KiB'] } } },
        { name: 'b', duration: '1s', load: { closed: 2, size: { lognormal: { median: '64KiB', sigma: 1, max: '1MiB' } } } },
        { name: 'c', duration: '1s', load: { closed: 2, size: { fixed: 10 } } },
        { name: 'd', duration: '1s', actions: ['release'] },
      ],
    }, 'x');
    expect(s.phases.map((p) => (p.load && p.load.mode !== 'command' ? p.load.size.dist : undefined))).toEqual(['uniform', 'lognormal', 'fixed', undefined]);
    expect(s.phases[0]!.load).toMatchObject({ mode: 'open', rate: 100, maxInFlight: 100000 });
  });

  it.each([
    [{ ...minimal, phases: [{ name: 'load', duration: '3 sec' }] }, 'phases[0].duration', 'not a duration'],
    [{ ...minimal, phases: [{ name: 'load', duration: '1s', load: { closed: 4, size: '4 parsecs' } }] }, 'phases[0].load', 'expected'],
    [{ ...minimal, phases: [] }, 'phases', 'at least 1'],
    [{ ...minimal, relay: { threads: 0 } }, 'relay.threads', 'greater than or equal to 1'],
    [{ ...minimal, relay: { thread: 2 } }, 'relay', "'thread'"],
    [{ ...minimal, name: 'Has Spaces' }, 'name', 'lower-case'],
    [{ ...minimal, phases: [{ name: 'load', duration: '1s', actions: ['purge'] }] }, 'phases[0].actions[0]', "'release'"],
    [{ ...minimal, phases: [minimal.phases[0], minimal.phases[0]] }, 'phases[1].name', 'duplicate'],
    [{ ...minimal, quick: { phases: { nope: { duration: '1s' } } } }, 'quick.phases.nope', "no phase named 'nope'"],
    [{ ...minimal, variants: ['glibc', 'hoard'] }, 'variants[1]', "unknown variant 'hoard'; valid: glibc"],
    [{ ...minimal, relay: { leakRate: 2 } }, 'relay.leakRate', 'less than or equal to 1'],
    [{ ...minimal, relay: { releasePolicy: { every: 'often' } } }, 'relay.releasePolicy.every', 'not a duration'],
    [{ ...minimal, arms: [{ name: 'a' }, { name: 'a' }] }, 'arms[1].name', "duplicate arm name 'a'"],
    [{ ...minimal, phases: [{ name: 'load', duration: '1s', load: { closed: 1, size: '32MiB' } }] }, 'phases[0].load.size', 'exceeds relay.maxFrame'],
    [{ ...minimal, phases: [{ name: 'l', duration: '1s', load: { closed: 1, size: { uniform: ['2KiB', '1KiB'] } } }] }, 'phases[0].load', 'expected'],
  ])('rejects %j naming the field', (raw, field, words) => {
    const message = issuesOf(raw);
    expect(message).toContain('scenarios/x.ts');
    expect(message).toContain(field);
    expect(message).toContain(words);
  });

  it('applies the quick overrides by phase name', () => {
    const s = parseScenario({ ...minimal, upstream: { delay: '1s' }, quick: { upstream: { delay: '100ms' }, phases: { load: { duration: '200ms' } } } }, 'x');
    const q = applyQuick(s);
    expect(q.phases[0]!.duration).toBe(200);
    expect(q.phases[0]!.load).toEqual(s.phases[0]!.load);
    expect(q.upstream.delay).toBe(100);
    expect(s.phases[0]!.duration).toBe(1000);
  });
});

describe('scenario files', () => {
  it('loads burst by name, with at least 400 MiB in flight (150 MiB quick)', async () => {
    const { scenario } = await loadScenario('burst');
    const inFlight = (s: typeof scenario) => {
      const burst = s.phases.find((p) => p.name === 'burst')!.load!;
      if (burst.mode === 'command') return 0;
      const mean = burst.size.dist === 'uniform' ? (burst.size.min + burst.size.max) / 2 : 0;
      return burst.mode === 'closed' ? burst.concurrency * mean : 0;
    };
    expect(inFlight(scenario)).toBeGreaterThanOrEqual(400 * 1024 * 1024);
    expect(inFlight(applyQuick(scenario))).toBeGreaterThanOrEqual(150 * 1024 * 1024);
    expect(scenario.phases.find((p) => p.name === 'idle')!.duration).toBeGreaterThanOrEqual(3000);
    expect(scenario.phases.at(-1)!.actions).toEqual(['release']);
    expect(scenario.phases.at(-1)!.duration).toBeGreaterThanOrEqual(1000);
    expect(listScenarioNames()).toContain('burst');
  });

  it('names unknown scenarios and lists the valid ones', async () => {
    await expect(loadScenario('nope')).rejects.toThrow(/unknown scenario 'nope'; valid: .*burst/);
  });

  it('loads a JSON scenario by path and reports a bad one with its path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leaklab-scn-'));
    try {
      const good = join(dir, 'good.json');
      writeFileSync(good, JSON.stringify(minimal));
      expect((await loadScenario(good)).scenario.name).toBe('tiny');
      const bad = join(dir, 'bad.json');
      writeFileSync(bad, JSON.stringify({ ...minimal, trials: 0 }));
      await expect(loadScenario(bad)).rejects.toThrow(new RegExp(`${bad}[\\s\\S]*trials`));
      const broken = join(dir, 'broken.json');
      writeFileSync(broken, '{ not json');
      await expect(loadScenario(broken)).rejects.toThrow(/cannot load scenario .*broken.json/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('arms', () => {
  it('expands into one scenario per arm with its relay settings', () => {
    const s = parseScenario({ ...minimal, relay: { threads: 4 }, arms: [{ name: 'none' }, { name: 'idle', relay: { releasePolicy: { idle: '500ms' } } }] }, 'x');
    const [none, idle] = expandArms(s);
    expect(none!.name).toBe('tiny-none');
    expect(idle!.name).toBe('tiny-idle');
    expect(idle!.relay).toMatchObject({ threads: 4, releasePolicy: { idle: 500 } });
    expect(relayArgs(idle!, 9)).toEqual(expect.arrayContaining(['--release-idle-ms', '500']));
    expect(relayArgs(none!, 9)).not.toContain('--release-idle-ms');
    expect(expandArms(parseScenario(minimal, 'x'))).toHaveLength(1);
  });
  it('passes relay behaviours only when set', () => {
    const s = parseScenario({ ...minimal, relay: { leakRate: 0.05, logRecord: { bytes: '512', retention: '2s' }, threadChurn: '250ms' } }, 'x');
    expect(relayArgs(s, 7)).toEqual(['--upstream-port', '7', '--threads', '8', '--max-frame', '16777216', '--high-water', '8388608',
      '--leak-rate', '0.05', '--log-record-bytes', '512', '--log-record-every', '1', '--log-retention-ms', '2000', '--thread-churn-ms', '250']);
  });
});

describe('schedule', () => {
  it('turns phases into the load generator schedule', () => {
    const s = parseScenario({ ...minimal, connections: 8, upstream: { delay: { min: '1ms', max: '5ms' }, response: { ratio: 0.5 } },
      phases: [...minimal.phases, { name: 'idle', duration: '250ms' }, { name: 'open', duration: '1s', load: { rate: 50, maxInFlight: 10, size: { uniform: [1, 2] }, reconnectEvery: 100 } }] }, 'x');
    expect(toSchedule(s, 7)).toEqual({
      seed: 7,
      connections: 8,
      phases: [
        { name: 'load', duration_ms: 1000, load: { mode: 'closed', concurrency: 4, size: { dist: 'fixed', bytes: 4096 } } },
        { name: 'idle', duration_ms: 250, load: null },
        { name: 'open', duration_ms: 1000, load: { mode: 'open', rate: 50, max_in_flight: 10, size: { dist: 'uniform', min: 1, max: 2 }, reconnect_every: 100 } },
      ],
    });
    expect(scheduledMs(s)).toBe(2250);
    expect(upstreamArgs(s, 7)).toEqual(['--delay-ms-min', '1', '--delay-ms-max', '5', '--response-ratio', '0.5', '--seed', '7', '--max-frame', String(16 * 1024 * 1024)]);
  });
});

describe('repeated phases', () => {
  const file = 'repeat.json';
  const base = {
    name: 'rep',
    target: { command: ['/bin/sleep', '1000', '{port}'], ready: { tcp: '{port}' } },
    phases: [
      { name: 'baseline', duration: '1s' },
      { repeat: 3, phases: [{ name: 'fill', duration: '2s', load: { command: ['true', '{repetition}'], until: 'exit' } }, { name: 'clear', duration: '1s' }] },
      { name: 'after', duration: '1s', actions: ['release'] },
    ],
  };
  it('expands a group into <name>-<k> phases, each with its repetition, in order', () => {
    const s = parseScenario(base, file);
    expect(s.phases.map((p) => [p.name, p.repetition ?? null])).toEqual([
      ['baseline', null], ['fill-1', 1], ['clear-1', 1], ['fill-2', 2], ['clear-2', 2], ['fill-3', 3], ['clear-3', 3], ['after', null],
    ]);
    expect(s.phases[1]!.load).toMatchObject({ mode: 'command', argv: ['true', '{repetition}'] });
  });
  it('a --quick override by the phase\'s name in the file applies to every repetition', () => {
    const s = applyQuick(parseScenario({ ...base, quick: { phases: { fill: { duration: '500ms' } } } }, file));
    expect(s.phases.filter((p) => p.base === 'fill').map((p) => p.duration)).toEqual([500, 500, 500]);
  });
  it('rejects a group of one, a nested group, and a {repetition} outside a command', () => {
    const bad = (phases: unknown[], re: RegExp) => expect(() => parseScenario({ ...base, phases }, file)).toThrow(re);
    bad([{ repeat: 1, phases: [{ name: 'a', duration: '1s' }] }], /repeat: Number must be greater than or equal to 2/);
    bad([{ repeat: 2, phases: [{ repeat: 2, phases: [] }] }], /phases\.0\.name: Required|Unrecognized key\(s\) in object: 'repeat'/);
    expect(() => parseScenario({ ...base, target: { ...base.target, command: ['/bin/sleep', '{repetition}', '{port}'] } }, file)).toThrow(/unknown placeholder \{repetition\}/);
  });
});

/** The lines of a rejected scenario's message after its first: one issue each. */
function issueLines(raw: unknown): string[] {
  return issuesOf(raw).split('\n').slice(1).map((l) => l.replace(/^ {2}- /, ''));
}

// The variant ids of docs/variants.md, in its order.
const VARIANT_IDS = 'glibc, tcmalloc, jemalloc, mimalloc, tcmalloc-rate0, tcmalloc-rate10, jemalloc-decay0, jemalloc-bg, glibc-arenas2, glibc-trim, mimalloc-eager';

describe('scenario schema: bounds and messages', () => {
  it('a uniform size may have min = max; a lognormal median may equal its max, not exceed it', () => {
    const s = parseScenario({ ...minimal, phases: [
      { name: 'u', duration: '1s', load: { closed: 1, size: { uniform: ['1KiB', '1KiB'] } } },
      { name: 'l', duration: '1s', load: { closed: 1, size: { lognormal: { median: '1KiB', sigma: 1, max: '1KiB' } } } },
    ] }, 'x');
    expect(s.phases.map((p) => p.load)).toEqual([
      { mode: 'closed', concurrency: 1, reconnectEvery: 0, requests: undefined, size: { dist: 'uniform', min: 1024, max: 1024 } },
      { mode: 'closed', concurrency: 1, reconnectEvery: 0, requests: undefined, size: { dist: 'lognormal', median: 1024, sigma: 1, max: 1024 } },
    ]);
    expect(issueLines({ ...minimal, phases: [{ name: 'l', duration: '1s', load: { closed: 1, size: { lognormal: { median: '2KiB', sigma: 1, max: '1KiB' } } } }] }))
      .toEqual(['phases[0].load: expected { closed: <concurrency>, size, reconnectEvery?, requests? } or { rate: <requests per second>, maxInFlight?, size, reconnectEvery?, requests? }']);
  });

  it('a load size may be as large as relay.maxFrame, not larger, for every distribution', () => {
    expect(parseScenario({ ...minimal, phases: [{ name: 'f', duration: '1s', load: { closed: 1, size: '16MiB' } }] }, 'x').phases[0]!.load)
      .toMatchObject({ size: { dist: 'fixed', bytes: 16 * 1024 * 1024 } });
    expect(issueLines({ ...minimal, phases: [{ name: 'f', duration: '1s', load: { closed: 1, size: '32MiB' } }] }))
      .toEqual(['phases[0].load.size: 33554432 bytes exceeds relay.maxFrame (16777216)']);
    expect(issueLines({ ...minimal, relay: { maxFrame: '1MiB' }, phases: [idle(), { name: 'u', duration: '1s', load: { rate: 10, size: { uniform: ['1KiB', '2MiB'] } } }] }))
      .toEqual(['phases[1].load.size: 2097152 bytes exceeds relay.maxFrame (1048576)']);
  });

  it('names a bad size with what a size is', () => {
    expect(issueLines({ ...minimal, relay: { maxFrame: '1 parsec' } }))
      .toEqual(['relay.maxFrame: \'1 parsec\' is not a size; expected a size such as 512, "64KiB", "1.5MiB", "1GiB" (B, KiB, MiB, GiB, KB, MB, GB)']);
  });

  it('names what is wrong at the top level', () => {
    expect(issueLines(42)).toEqual(['(top level): Expected object, received number']);
  });

  it('lists the phases when a quick override names none of them', () => {
    expect(issueLines({ ...minimal, phases: [...minimal.phases, idle()], quick: { phases: { nope: { duration: '1s' } } } }))
      .toEqual(["quick.phases.nope: no phase named 'nope'; phases are load, idle"]);
  });

  it('lists the valid variants; as-built only with a target', () => {
    expect(issueLines({ ...minimal, variants: ['as-built'] }))
      .toEqual([`variants[0]: unknown variant 'as-built'; valid: ${VARIANT_IDS} ('as-built' only with a target)`]);
    const target = { command: ['srv', '{port}'] };
    expect(parseScenario({ ...minimal, phases: [idle()], target, variants: ['as-built', 'glibc', 'mimalloc-eager'] }, 'x').variants)
      .toEqual(['as-built', 'glibc', 'mimalloc-eager']);
    expect(issueLines({ ...minimal, phases: [idle()], target, variants: ['glibc', 'hoard'] }))
      .toEqual([`variants[1]: unknown variant 'hoard'; valid: as-built, ${VARIANT_IDS}`]);
  });
});

function idle(): { name: string; duration: string } {
  return { name: 'idle', duration: '250ms' };
}

describe('applyQuick and expandArms', () => {
  it('returns a scenario without a quick form as it is', () => {
    const s = parseScenario(minimal, 'x');
    expect(applyQuick(s)).toBe(s);
  });

  it('overrides relay settings and connections only where the quick form sets them', () => {
    const s = parseScenario({ ...minimal, connections: 32, relay: { threads: 4, highWater: '1MiB' }, quick: { relay: { threads: 2 } } }, 'x');
    const q = applyQuick(s);
    expect(q.relay).toEqual({ threads: 2, maxFrame: 16 * 1024 * 1024, highWater: 1024 * 1024, leakRate: 0 });
    expect(q.connections).toBe(32);
    expect(applyQuick(parseScenario({ ...minimal, quick: { connections: 8 } }, 'x')).connections).toBe(8);
    // No target, no target in the quick form.
    expect(q.target).toBeUndefined();
  });

  it('gives each arm its own description, or the scenario\'s', () => {
    const s = parseScenario({ ...minimal, description: 'the burst', arms: [{ name: 'none' }, { name: 'idle', description: 'released when idle' }] }, 'x');
    expect(expandArms(s).map((a) => [a.name, a.description, a.arms])).toEqual([['tiny-none', 'the burst', undefined], ['tiny-idle', 'released when idle', undefined]]);
  });
});

describe('schedule and command lines', () => {
  it('gives a phase driven by a load command no built-in load, and passes a request count', () => {
    const s = parseScenario({
      name: 't', target: { command: ['srv', '{port}'] },
      phases: [{ name: 'fill', duration: '5s', load: { command: ['bench', '{port}'] } }],
    }, 'x');
    expect(toSchedule(s, 1).phases).toEqual([{ name: 'fill', duration_ms: 5000, load: null }]);
    const counted = parseScenario({ ...minimal, phases: [{ name: 'steady', duration: '10s', load: { closed: 64, size: '32KiB', requests: 32000 } }] }, 'x');
    expect(toSchedule(counted, 1).phases[0]!.load).toEqual({ mode: 'closed', concurrency: 64, size: { dist: 'fixed', bytes: 32768 }, requests: 32000 });
  });

  it('passes a fixed upstream delay and response size, and the upstream\'s own seed when it has one', () => {
    const s = parseScenario({ ...minimal, upstream: { delay: '1s', response: '4KiB' } }, 'x');
    expect(upstreamArgs(s, 42)).toEqual(['--delay-ms', '1000', '--response-bytes', '4096', '--seed', '42', '--max-frame', '16777216']);
    const seeded = parseScenario({ ...minimal, upstream: { seed: 7 } }, 'x');
    expect(upstreamArgs(seeded, 42)).toEqual(['--delay-ms', '0', '--response-bytes', '1024', '--seed', '7', '--max-frame', '16777216']);
  });

  it('passes no relay behaviour that is not set', () => {
    expect(relayArgs(parseScenario(minimal, 'x'), 9)).toEqual(['--upstream-port', '9', '--threads', '8', '--max-frame', '16777216', '--high-water', '8388608']);
  });

  it('passes each release policy in its unit', () => {
    const s = parseScenario({ ...minimal, relay: { releasePolicy: { every: '2s', idle: '500ms', freeOver: '64MiB' } } }, 'x');
    expect(relayArgs(s, 9).slice(8)).toEqual(['--release-every-ms', '2000', '--release-idle-ms', '500', '--release-free-over', '67108864']);
  });
});

describe('listing and loading scenario files', () => {
  it('lists the scenarios of scenarios/ by name, sorted, without the ceilings file', () => {
    const names = listScenarioNames();
    expect(names.slice(0, 2)).toEqual(['burst', 'burst-repeat']);
    expect(names).toEqual([...names].sort());
    expect(names).toContain('mosquitto-queue');
    expect(names).not.toContain('ceilings');
    expect(names.every((n) => /^[a-z0-9-]+$/.test(n))).toBe(true);
  });

  it('takes a name with a slash, or ending in .ts, .js, .mjs or .json, as a path', async () => {
    await expect(loadScenario('scenarios/burst')).rejects.toThrow(/^cannot load scenario scenarios\/burst: no such file$/);
    await expect(loadScenario('burst.ts')).rejects.toThrow(/^cannot load scenario burst\.ts: no such file$/);
    await expect(loadScenario('burst.json5')).rejects.toThrow(/^unknown scenario 'burst\.json5'; valid: burst, /);
  });

  it('names a module without a default export, and a file that does not parse', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leaklab-scn-'));
    try {
      const none = join(dir, 'none.mjs');
      writeFileSync(none, 'export const scenario = {};\n');
      await expect(loadScenario(none)).rejects.toThrow(`cannot load scenario ${none}: the file has no default export`);
      const broken = join(dir, 'broken.json');
      writeFileSync(broken, '{ not json');
      const e = await loadScenario(broken).catch((err: Error) => err);
      expect((e as Error).message).toMatch(new RegExp(`^cannot load scenario ${broken}: .*JSON`));
      expect((e as Error).message).not.toContain('no default export');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('defineScenario (define.ts, for scenario files outside the repository)', () => {
  it('returns the scenario it is given, unchanged', () => {
    expect(defineScenario(minimal)).toBe(minimal);
    expect(parseScenario(defineScenario(minimal), 'x').name).toBe('tiny');
  });
});
