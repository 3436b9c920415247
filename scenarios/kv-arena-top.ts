// kv-arena-top: glibc's thread-arena top, which malloc_trim never trims. The lab's own
// key-value server (mode free) serves each connection on a thread of its own, so its values
// come from a glibc thread arena. One 16 MiB value, stored and cleared first, is mmapped and
// its free raises glibc's mmap threshold to 16 MiB and its trim threshold to twice that
// (glibc's dynamic threshold, mallopt(3)); then 30 MiB of 64-512 KiB values come from the
// thread arena, and when they are cleared they merge into its top, under the raised trim
// threshold: free() keeps them, and malloc_trim(0) trims only the main arena's top. The
// program holds nothing at the end. Shared parts: scenarios/_kv.ts.
import { kvScenario, kvStep } from './_kv.js';

export default kvScenario({
  name: 'kv-arena-top',
  description: 'leaklab-kv, mode free: store and clear one 16 MiB value (raises glibc\'s trim threshold), fill 30 MiB of 64-512 KiB values, clear; idle; probe release',
  serverArgs: ['--mode', 'free'],
  steps: [
    { name: 'large', duration: '30s', load: kvStep('FILL', '31MiB', '31MiB', '31MiB', '1') },
    { name: 'clear-large', duration: '30s', load: kvStep('CLEAR') },
    { name: 'fill', duration: '60s', load: kvStep('FILL', '56MiB', '64KiB', '512KiB', '2') },
    { name: 'clear', duration: '30s', load: kvStep('CLEAR') },
  ],
  quickSteps: {},
});
