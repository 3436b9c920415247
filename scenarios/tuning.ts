// tuning: the burst across every variant, defaults and tuned, so the effect of each knob
// shows side by side (run it with --quick for a first look).
import { VARIANTS } from '../harness/allocators/variants.js';
import { defineScenario } from '../harness/scenario/scenario.js';
import burst from './burst.js';

export default defineScenario({
  ...burst,
  name: 'tuning',
  description: 'the burst on every variant, defaults and tuned',
  variants: VARIANTS.map((v) => v.id),
});
