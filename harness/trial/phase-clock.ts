// The harness's own phase clock, for a scenario whose phases have no built-in load (a
// target driven by load commands): each phase lasts its duration, or, with a load command
// `until: 'exit'`, until that command exits (its duration is then a time limit).
import type { Scenario } from '../scenario/scenario.js';
import type { CommandLoads } from './command-loads.js';

/** Resolves null at the end of the last phase (or once `over()`), or with a failure. */
export async function runPhaseClock(scenario: Scenario, onPhase: (name: string, index: number) => void,
  loads: CommandLoads, progress: () => void, over: () => boolean): Promise<string | null> {
  for (const [index, p] of scenario.phases.entries()) {
    if (over()) return null;
    onPhase(p.name, index);
    // The progress view's clock while no load generator ticks: twice a second is enough
    // for a bar that shows tenths of a second, and each wake-up of Node costs (docs/benches.md).
    const ticker = setInterval(progress, 500);
    try {
      const failure = await phaseEnd(p, loads);
      if (failure) return failure;
    } finally {
      clearInterval(ticker);
    }
  }
  return null;
}

/** Waits for the phase's end: its duration, or its `until: 'exit'` load command's exit. */
async function phaseEnd(p: Scenario['phases'][number], loads: CommandLoads): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  const sleep = new Promise<'time'>((r) => { timer = setTimeout(() => r('time'), p.duration); });
  const load = p.load?.mode === 'command' && p.load.until === 'exit' ? loads.of(p.name) : undefined;
  if (!load) {
    await sleep;
    return null;
  }
  const r = await Promise.race([sleep, load.proc.exited.then(() => 'exit' as const)]);
  clearTimeout(timer);
  return r === 'time' ? `phase '${p.name}': the load command (${load.proc.name}) did not exit within the phase's duration (${p.duration} ms), its limit with until: 'exit'` : null;
}
