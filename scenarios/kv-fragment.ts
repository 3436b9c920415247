// kv-fragment: the fragmentation workload on the lab's own key-value server (mode free):
// fill 240 MiB of 100-300 B values (about 1.26 million), then delete 0.9 of the keys at
// random: a tenth stays in use (its STATS: stored_bytes about 24 MiB), spread over every
// page the fill touched, so few pages are wholly free; then idle and a probe release.
// Shared parts: scenarios/_kv.ts.
import { kvScenario, kvStep } from './_kv.js';

export default kvScenario({
  name: 'kv-fragment',
  description: 'leaklab-kv, mode free: fill 240 MiB of 100-300 B values, delete 0.9 at random; idle; probe release (a tenth stays, spread over every page)',
  serverArgs: ['--mode', 'free'],
  steps: [
    { name: 'fill', duration: '60s', load: kvStep('FILL', '240MiB', '100', '300', '1') },
    { name: 'delete', duration: '30s', load: kvStep('DELETE', '0.9', '2') },
  ],
  quickSteps: { fill: kvStep('FILL', '120MiB', '100', '300', '1') },
});
