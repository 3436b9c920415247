// The one place that decides what kind of subject a scenario names: the built-in relay, or a
// user's target (a live process, for `lab inspect`, comes next). Everything else holds a
// SubjectKind and never asks which it is (docs/architecture.md, "Adding a subject kind").
import type { Scenario } from '../scenario/scenario.js';
import { relaySubject } from './relay.js';
import type { Variant } from '../allocators/variants.js';
import type { SubjectFacts, SubjectKind } from './subject.js';
import { targetSubject } from './target/kind.js';

export type * from './subject.js';

export function subjectFor(scenario: Scenario, file: string): SubjectKind {
  return scenario.target ? targetSubject({ ...scenario, target: scenario.target }, file) : relaySubject(scenario);
}

/** The subject of `scenario` and what its check found, for a trial run outside a whole run
 * (lab detect, tests): checked for `variants`. */
export function checkedSubject(scenario: Scenario, file: string, variants: readonly Variant[] = []): { subject: SubjectKind; facts: SubjectFacts } {
  const subject = subjectFor(scenario, file);
  return { subject, facts: subject.check(variants, { probe: true }) };
}
