// burst: the story of leak-lab. Light load, then a burst that puts ~450 MiB of requests in
// flight at once (1024 concurrent requests of 128-768 KiB, each held 1 s by the upstream),
// then drain, idle (does the allocator give memory back by itself?), then an explicit
// release and a window to watch what it gave back.
import { defineScenario } from '../harness/scenario/scenario.js';

export default defineScenario({
  name: 'burst',
  description: 'light load, a large burst, drain, idle, then an explicit release',
  relay: { threads: 8 },
  upstream: { delay: '1s', response: '4KiB' },
  connections: 64,
  trials: 1,
  seed: 42,
  phases: [
    { name: 'baseline', duration: '1s', load: { closed: 8, size: '4KiB' } },
    { name: 'burst', duration: '4s', load: { closed: 1024, size: { uniform: ['128KiB', '768KiB'] } } },
    { name: 'drain', duration: '2s' },
    { name: 'idle', duration: '3s' },
    { name: 'after-release', duration: '1500ms', actions: ['release'] },
  ],
  // --quick: ~170 MiB in flight (384 x 448 KiB on average), ~4.5 s per variant.
  quick: {
    upstream: { delay: '500ms' },
    phases: {
      baseline: { duration: '500ms' },
      burst: { duration: '1500ms', load: { closed: 384, size: { uniform: ['128KiB', '768KiB'] } } },
      drain: { duration: '1s' },
      idle: { duration: '1s' },
      'after-release': { duration: '1s' },
    },
  },
});
