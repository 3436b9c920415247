// Records how many expect() calls each test made (in its meta), so the suite reporter can
// say how much the suite checks (docs/testing.md: the count before and after a change).
import { afterEach, expect } from 'vitest';

afterEach((context) => {
  (context.task.meta as { assertions?: number }).assertions = expect.getState().assertionCalls;
});
