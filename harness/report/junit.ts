// junit.xml: the gate for CI test reporters. One testsuite per scenario (and run form),
// one testcase per check; a failure carries the message, a not-run check is skipped.
import { scenarioKey, type Check, type GateResult } from '../gate/gate.js';
import { checkMessage, checkResult } from './gate.js';

/** Escapes text for XML attributes and content; drops characters XML 1.0 cannot hold. */
export function escapeXml(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function testcase(c: Check): string {
  const name = `${c.variant} ${c.metric}${c.kind === 'baseline' ? ' (baseline)' : ''} <= ${c.limitText}`;
  const open = `    <testcase classname="${escapeXml(`leak-lab.${scenarioKey(c.scenario, c.quick)}`)}" name="${escapeXml(name)}">`;
  if (c.status === 'pass') return `    <testcase classname="${escapeXml(`leak-lab.${scenarioKey(c.scenario, c.quick)}`)}" name="${escapeXml(name)}"/>`;
  if (c.status === 'not-run') return `${open}\n      <skipped message="${escapeXml(checkResult(c))}"/>\n    </testcase>`;
  const msg = checkMessage(c);
  return `${open}\n      <failure message="${escapeXml(msg)}" type="${c.kind}">${escapeXml(msg)}</failure>\n    </testcase>`;
}

export function junitXml(g: GateResult): string {
  const suites = new Map<string, Check[]>();
  for (const c of g.checks) {
    const key = scenarioKey(c.scenario, c.quick);
    suites.set(key, [...(suites.get(key) ?? []), c]);
  }
  const count = (cs: Check[], s: Check['status']) => cs.filter((c) => c.status === s).length;
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="leak-lab gate" tests="${g.checks.length}" failures="${g.failed}" errors="0" skipped="${g.notRun}">`,
  ];
  for (const [name, cs] of suites) {
    out.push(`  <testsuite name="${escapeXml(name)}" tests="${cs.length}" failures="${count(cs, 'fail')}" errors="0" skipped="${count(cs, 'not-run')}">`);
    out.push(...cs.map(testcase));
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return out.join('\n') + '\n';
}
