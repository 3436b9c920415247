// kv-pool: the lab's own key-value server in mode pool (unbounded): removed values go into
// a free list in the program and the second fill reuses them, so the program's holding
// levels off at about one fill (its STATS: pooled_bytes, live_payload_bytes) instead of
// growing. Fill 300 MiB of 64-512 KiB values, clear, three times; idle; probe release: what stays
// is held by the program (a pool), not kept by the allocator. Shared parts: scenarios/_kv.ts.
import { fillClearRepeated, kvScenario, quickFillClearRepeated } from './_kv.js';

export default kvScenario({
  name: 'kv-pool',
  description: 'leaklab-kv, mode pool (unbounded): fill 300 MiB of 64-512 KiB values, clear, three times; idle; probe release (the program holds its pool)',
  serverArgs: ['--mode', 'pool'],
  steps: fillClearRepeated('300MiB'),
  quickSteps: quickFillClearRepeated('150MiB'),
});
