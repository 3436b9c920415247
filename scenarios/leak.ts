// leak: steady load with the relay in leak mode: 5% of requests stay in the pending table
// forever. The memory is still reachable (memcheck: "still reachable", not lost), RSS
// grows linearly with requests served, and no release brings it back.
// The steady phase is sized by request count, not time: the leak is 5% x 32 KiB = 1.6 KiB
// per request, so 64,000 requests leak 100 MiB (32,000: 50 MiB with --quick) on any
// machine, fast or slow; the verdict's 32 MiB floor is never a question of speed. The
// phase's duration is its limit: a machine too slow to serve the requests in it fails the
// trial instead of reporting a smaller leak.
import { defineScenario } from '../harness/scenario/scenario.js';

export default defineScenario({
  name: 'leak',
  description: 'steady load with 5% of requests never erased from the pending table',
  relay: { leakRate: 0.05 },
  upstream: { delay: '5ms', response: '1KiB' },
  seed: 11,
  phases: [
    { name: 'baseline', duration: '1s', load: { closed: 8, size: '4KiB' } },
    { name: 'steady', duration: '60s', load: { closed: 64, size: '32KiB', requests: 64_000 } },
    { name: 'drain', duration: '500ms' },
    { name: 'idle', duration: '1s' },
    { name: 'after-release', duration: '1s', actions: ['release'] },
  ],
  quick: {
    phases: {
      baseline: { duration: '500ms' },
      steady: { duration: '30s', load: { closed: 64, size: '32KiB', requests: 32_000 } },
    },
  },
});
