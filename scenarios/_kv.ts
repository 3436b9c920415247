// Shared by the kv-* scenarios (not a scenario: scenario names skip files starting with
// '_'): the lab's own key-value server (native/test/kv_server.cc, build/native/leaklab-kv)
// as a target in one of its modes, under the four preload variants, driven by its own
// client as load commands. Every step's client also prints the server's STATS (--stats),
// so each trial's processes.jsonl records the server's own truth after each step.
import { type ScenarioInput, defineScenario } from '../harness/scenario/scenario.js';

/** One client command as a load that the phase waits for (its duration is then a limit). */
export const kvStep = (...words: string[]) => ({
  command: ['{lab_build}/leaklab-kv', 'client', '--port', '{port}', '--stats', ...words],
  until: 'exit' as const,
});

type Phases = ScenarioInput['phases'];

/** A kv scenario: the server started with `serverArgs` (its --mode and options), a 1 s
 * baseline, the `steps`, a 3 s idle, and a release through the probe. `quickSteps` replaces
 * the steps' loads in the --quick form, phase by phase. */
export function kvScenario(o: {
  name: string;
  description: string;
  serverArgs: string[];
  steps: Phases;
  quickSteps: Record<string, ReturnType<typeof kvStep>>;
}): ScenarioInput {
  return defineScenario({
    name: o.name,
    description: o.description,
    target: {
      command: ['{lab_build}/leaklab-kv', '--port', '{port}', ...o.serverArgs],
      ready: { tcp: '{port}' },
      release: { method: 'probe' },
      // The server's own count of what it leaked (its STATS), the truth `lab detect` judges
      // the leak checkers by.
      truth: { command: ['{lab_build}/leaklab-kv', 'client', '--port', '{port}', 'STATS'], field: 'leaked_bytes' },
    },
    variants: ['glibc', 'tcmalloc', 'jemalloc', 'mimalloc'],
    trials: 1,
    phases: [
      { name: 'baseline', duration: '1s' },
      ...o.steps,
      { name: 'idle', duration: '3s' },
      { name: 'after-release', duration: '2s', actions: ['release'] },
    ],
    quick: {
      phases: {
        ...Object.fromEntries(Object.entries(o.quickSteps).map(([phase, load]) => [phase, { load }])),
        'after-release': { duration: '1500ms' },
      },
    },
  });
}

/** The value modes' steps: fill `size` of 64-512 KiB values, then clear, three times in a
 * row (a repeated group: growth per repetition tells a leak from a pool); each fill draws
 * other sizes from the same distribution (its seed is the repetition). */
export function fillClearRepeated(size: string): Phases {
  return [{
    repeat: 3,
    phases: [
      { name: 'fill', duration: '60s', load: kvStep('FILL', size, '64KiB', '512KiB', '{repetition}') },
      { name: 'clear', duration: '30s', load: kvStep('CLEAR') },
    ],
  }];
}

/** The --quick load of fillClearRepeated's fills (every repetition) at another size. */
export function quickFillClearRepeated(size: string): Record<string, ReturnType<typeof kvStep>> {
  return { fill: kvStep('FILL', size, '64KiB', '512KiB', '{repetition}') };
}
