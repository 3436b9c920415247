// growth.json: a trial's growth profile as kept in its profile folder
// (profiles/<scenario>/<variant>-<trial>/), what `lab merge` recomputes a row's growth from.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TrialGrowth } from '../analysis/growth.js';

/** A trial's growth as kept in its profile folder (growth.json), or why it has none: what
 * `lab merge` recomputes a row's growth from. */
export type TrialGrowthFile = Omit<TrialGrowth, 'files'> | { error: string };

export function writeTrialGrowth(dir: string, g: TrialGrowth | { error: string }): void {
  const { files: _files, ...kept } = g as TrialGrowth;
  writeFileSync(join(dir, 'growth.json'), JSON.stringify('error' in g ? { error: g.error } : kept, null, 2) + '\n');
}

/** The growth.json of a trial's profile folder; an error when it is missing (a run of an
 * older leak-lab, or a trial that did not complete). */
export function readTrialGrowth(dir: string): TrialGrowthFile {
  const path = join(dir, 'growth.json');
  if (!existsSync(path)) return { error: `${path} is missing` };
  return JSON.parse(readFileSync(path, 'utf8')) as TrialGrowthFile;
}
