// burst-repeat: three bursts with pauses between them. Does RSS ratchet up from one
// pause to the next (rssEnd.pause-1 < rssEnd.pause-2 < rssEnd.pause-3), or does each
// burst reuse what the previous one left?
import { defineScenario } from '../harness/scenario/scenario.js';

const burst = { closed: 512, size: { uniform: ['64KiB', '512KiB'] as [string, string] } };
const quickBurst = { closed: 256, size: { uniform: ['64KiB', '512KiB'] as [string, string] } };

export default defineScenario({
  name: 'burst-repeat',
  description: 'three bursts of ~150 MiB in flight with pauses: does RSS ratchet up?',
  upstream: { delay: '500ms', response: '4KiB' },
  seed: 5,
  phases: [
    { name: 'baseline', duration: '1s', load: { closed: 8, size: '4KiB' } },
    { name: 'burst-1', duration: '2s', load: burst },
    { name: 'pause-1', duration: '2s' },
    { name: 'burst-2', duration: '2s', load: burst },
    { name: 'pause-2', duration: '2s' },
    { name: 'burst-3', duration: '2s', load: burst },
    { name: 'pause-3', duration: '2s' },
    { name: 'after-release', duration: '1s', actions: ['release'] },
  ],
  quick: {
    phases: {
      baseline: { duration: '500ms' },
      'burst-1': { duration: '1s', load: quickBurst },
      'pause-1': { duration: '1s' },
      'burst-2': { duration: '1s', load: quickBurst },
      'pause-2': { duration: '1s' },
      'burst-3': { duration: '1s', load: quickBurst },
      'pause-3': { duration: '1s' },
    },
  },
});
