// kv-free: the lab's own key-value server in mode free (every removed value is free()d) is
// filled with 300 MiB of 64-512 KiB values and cleared, twice, then idles and is released
// through the probe. The program holds nothing at the end (its STATS: live_payload_bytes
// 0), so whatever RSS stays is the allocator's (retention). Shared parts: scenarios/_kv.ts.
import { fillClearRepeated, kvScenario, quickFillClearRepeated } from './_kv.js';

export default kvScenario({
  name: 'kv-free',
  description: 'leaklab-kv, mode free: fill 300 MiB of 64-512 KiB values, clear, three times; idle; probe release (the program holds nothing)',
  serverArgs: ['--mode', 'free'],
  steps: fillClearRepeated('300MiB'),
  quickSteps: quickFillClearRepeated('150MiB'),
});
