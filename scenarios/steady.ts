// steady: constant moderate load. RSS should plateau a little above the ~4 MiB in flight
// and come back; every allocator should be diagnosed healthy (what it keeps is under the
// verdicts' 32 MiB floor).
import { defineScenario } from '../harness/scenario/scenario.js';

export default defineScenario({
  name: 'steady',
  description: 'constant moderate load (about 4 MiB in flight), then drain, idle and release',
  upstream: { delay: '20ms', response: '4KiB' },
  seed: 7,
  phases: [
    { name: 'baseline', duration: '1s', load: { closed: 8, size: '4KiB' } },
    { name: 'steady', duration: '6s', load: { closed: 128, size: { uniform: ['4KiB', '64KiB'] } } },
    { name: 'drain', duration: '500ms' },
    { name: 'idle', duration: '2s' },
    { name: 'after-release', duration: '1s', actions: ['release'] },
  ],
  quick: {
    phases: {
      baseline: { duration: '500ms' },
      steady: { duration: '2500ms' },
      idle: { duration: '1s' },
    },
  },
});
