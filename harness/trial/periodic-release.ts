// A periodic release (a remedy, allocators/remedies.ts): the subject's release, called
// every `everyMs` through its control channel from the first phase on, as a production
// server's timer would, until the phase in which the scenario's own release is measured.
// Its release events are marked `periodic`, so the metrics still read the scenario's own
// release as the retention point.
import type { ReleaseEvent } from '../core/types.js';
import type { HookContext, TrialHook } from '../subjects/subject.js';

export function periodicReleaseHook(everyMs: number): TrialHook & { count(): number } {
  let timer: NodeJS.Timeout | null = null;
  let inFlight: Promise<unknown> = Promise.resolve();
  let count = 0;
  const stop = async () => {
    if (timer) clearInterval(timer);
    timer = null;
    await inFlight;
  };
  const tick = (ctx: HookContext) => {
    inFlight = inFlight.then(() => ctx.subject.release(ctx.elapsed, (e) => ctx.event(e.type === 'release' ? { ...e, periodic: true } as ReleaseEvent : e)))
      .then(() => { count += 1; }, () => {});
  };
  return {
    phaseStart: async (ctx, ended, started) => {
      if (started.releases) return stop();
      if (ended === null && !timer) timer = setInterval(() => tick(ctx), everyMs);
    },
    end: stop,
    count: () => count,
  };
}
