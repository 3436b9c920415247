// churn: connections come and go (each client connection is closed and reopened after 20
// responses) and so do threads (a transient relay thread takes over building responses
// for 250 ms, then exits), under a moderate load with a burst in the middle. Thread
// caches and per-thread heaps are created and abandoned all the time.
import { defineScenario } from '../harness/scenario/scenario.js';

export default defineScenario({
  name: 'churn',
  description: 'connections reopened every 20 responses and transient relay threads, with a burst',
  relay: { threadChurn: '250ms' },
  upstream: { delay: '50ms', response: '8KiB' },
  seed: 13,
  phases: [
    { name: 'baseline', duration: '1s', load: { closed: 8, size: '4KiB' } },
    { name: 'churn', duration: '3s', load: { closed: 128, size: { uniform: ['1KiB', '64KiB'] }, reconnectEvery: 20 } },
    { name: 'burst', duration: '2s', load: { closed: 512, size: { uniform: ['64KiB', '512KiB'] }, reconnectEvery: 20 } },
    { name: 'drain', duration: '1s' },
    { name: 'idle', duration: '2s' },
    { name: 'after-release', duration: '1s', actions: ['release'] },
  ],
  quick: {
    phases: {
      baseline: { duration: '500ms' },
      churn: { duration: '1500ms' },
      burst: { duration: '1s', load: { closed: 256, size: { uniform: ['64KiB', '512KiB'] }, reconnectEvery: 20 } },
      idle: { duration: '1s' },
    },
  },
});
