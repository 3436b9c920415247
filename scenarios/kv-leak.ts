// kv-leak: the lab's own key-value server in mode leak with share 0.5: of the values each
// CLEAR removes, every second one is kept forever in a list the program can still reach
// (memcheck's "still reachable"), the others are freed. Two fill/clear cycles of 300 MiB of
// 64-512 KiB values leave 300 MiB held (its STATS: leaked_bytes, live_payload_bytes); then
// idle and a probe release. Shared parts: scenarios/_kv.ts.
import { fillClearRepeated, kvScenario, quickFillClearRepeated } from './_kv.js';

export default kvScenario({
  name: 'kv-leak',
  description: 'leaklab-kv, mode leak (share 0.5, reachable): fill 300 MiB of 64-512 KiB values, clear, three times; idle; probe release',
  serverArgs: ['--mode', 'leak', '--leak-share', '0.5'],
  steps: fillClearRepeated('300MiB'),
  quickSteps: quickFillClearRepeated('150MiB'),
});
