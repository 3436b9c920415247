// leak: steady load with the relay in leak mode: 5% of requests stay in the pending table
// forever. The memory is still reachable (memcheck: "still reachable", not lost), RSS
// grows linearly with requests served, and no release brings it back.
import { defineScenario } from '../harness/scenario/scenario.js';

export default defineScenario({
  name: 'leak',
  description: 'steady load with 5% of requests never erased from the pending table',
  relay: { leakRate: 0.05 },
  upstream: { delay: '5ms', response: '1KiB' },
  seed: 11,
  phases: [
    { name: 'baseline', duration: '1s', load: { closed: 8, size: '4KiB' } },
    { name: 'steady', duration: '6s', load: { closed: 64, size: '32KiB' } },
    { name: 'drain', duration: '500ms' },
    { name: 'idle', duration: '1s' },
    { name: 'after-release', duration: '1s', actions: ['release'] },
  ],
  quick: {
    phases: {
      baseline: { duration: '500ms' },
      steady: { duration: '3s' },
    },
  },
});
