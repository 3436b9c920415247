// release-policy: the same burst under each of the relay's own release policies (arms):
// none, periodic (every second), on idle (after 500 ms without requests), and when free
// resident bytes pass 64 MiB. Compare retainedRss (RSS saved), relayCpuMs (CPU spent),
// policyReleases, and p99 latency of the burst and drain phases.
import { defineScenario } from '../harness/scenario/scenario.js';

export default defineScenario({
  name: 'release-policy',
  description: 'one burst under each release policy: RSS saved vs CPU spent and p99 latency',
  upstream: { delay: '500ms', response: '4KiB' },
  seed: 3,
  phases: [
    { name: 'baseline', duration: '1s', load: { closed: 8, size: '4KiB' } },
    { name: 'burst', duration: '3s', load: { closed: 512, size: { uniform: ['64KiB', '512KiB'] } } },
    { name: 'drain', duration: '1s' },
    { name: 'idle', duration: '2s' },
    { name: 'after-release', duration: '1s', actions: ['release'] },
  ],
  arms: [
    { name: 'none', description: 'no release policy' },
    { name: 'periodic', description: 'release every second', relay: { releasePolicy: { every: '1s' } } },
    { name: 'idle', description: 'release after 500 ms without requests', relay: { releasePolicy: { idle: '500ms' } } },
    { name: 'free-over', description: 'release when free resident bytes pass 64 MiB', relay: { releasePolicy: { freeOver: '64MiB' } } },
  ],
  quick: {
    phases: {
      baseline: { duration: '500ms' },
      burst: { duration: '1500ms', load: { closed: 256, size: { uniform: ['64KiB', '512KiB'] } } },
      idle: { duration: '1500ms' },
    },
  },
});
