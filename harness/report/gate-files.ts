// What a gate writes into the run folder it gated: junit.xml, the gate's section of
// report.md (replacing an earlier one), and the gate table appended to
// $GITHUB_STEP_SUMMARY when that is set.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GateResult } from '../gate/gate.js';
import { gateMarkdown } from './gate.js';
import { junitXml } from './junit.js';

const BEGIN = '<!-- leak-lab gate -->';
const END = '<!-- /leak-lab gate -->';

/** Writes junit.xml into the run folder, puts the gate table into its report.md (replacing
 * an earlier gate section) when there is one, and appends report.md (or the gate table
 * alone) to $GITHUB_STEP_SUMMARY when that is set. Returns the paths written. */
export function writeGateFiles(dir: string, result: GateResult, env: NodeJS.ProcessEnv = process.env): string[] {
  const written: string[] = [];
  const junit = join(dir, 'junit.xml');
  writeFileSync(junit, junitXml(result));
  written.push(junit);
  const table = gateMarkdown(result);
  const reportMd = join(dir, 'report.md');
  let markdown = table;
  if (existsSync(reportMd)) {
    const text = readFileSync(reportMd, 'utf8');
    const section = `${BEGIN}\n${table}${END}\n`;
    const start = text.indexOf(BEGIN);
    const end = text.indexOf(END);
    markdown = start >= 0 && end > start
      ? text.slice(0, start) + section + text.slice(end + END.length + 1)
      : `${text.trimEnd()}\n\n${section}`;
    writeFileSync(reportMd, markdown);
    written.push(reportMd);
  }
  const stepSummary = env.GITHUB_STEP_SUMMARY;
  if (stepSummary) {
    appendFileSync(stepSummary, `${markdown}\n`);
    written.push(stepSummary);
  }
  return written;
}
