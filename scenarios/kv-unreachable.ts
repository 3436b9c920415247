// kv-unreachable: the lab's own key-value server in mode leak-unreachable with share 0.5:
// of the values each CLEAR removes, every second one is leaked by dropping its last pointer
// (memcheck's "definitely lost"; LeakSanitizer finds it), the others are freed. Two
// fill/clear cycles of 300 MiB of 64-512 KiB values; the program no longer holds the leaked
// bytes (live_payload_bytes 0) but never freed them (its STATS: leaked_bytes,
// unfreed_payload_bytes); then idle and a probe release. Shared parts: scenarios/_kv.ts.
import { fillClearRepeated, kvScenario, quickFillClearRepeated } from './_kv.js';

export default kvScenario({
  name: 'kv-unreachable',
  description: 'leaklab-kv, mode leak-unreachable (share 0.5): fill 300 MiB of 64-512 KiB values, clear, three times; idle; probe release',
  serverArgs: ['--mode', 'leak-unreachable', '--leak-share', '0.5'],
  steps: fillClearRepeated('300MiB'),
  quickSteps: quickFillClearRepeated('150MiB'),
});
