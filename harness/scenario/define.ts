// defineScenario, alone in a file with no run-time imports, so a scenario file anywhere on
// disk (outside the repository, with no package.json or node_modules near it) can import
// it by path: `import { defineScenario } from '/path/to/leak-lab/harness/scenario/define.js'`.
import type { ScenarioInput } from './scenario.js';

/** Identity, for typing: `export default defineScenario({ ... })`. */
export function defineScenario(s: ScenarioInput): ScenarioInput {
  return s;
}
