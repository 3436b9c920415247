// The gate's table, in the manner of size-limit: per check the limit, the actual value and
// "exceeded by X" when over, then a one-line verdict. Text for the terminal, Markdown for
// GITHUB_STEP_SUMMARY and report.md. Pure functions over a GateResult.
import pc from 'picocolors';
import { scenarioKey, type Check, type GateResult } from '../gate/gate.js';
import { metricUnit } from '../analysis/metrics.js';
import { formatBytes } from '../core/units.js';

export function formatValue(metric: string, v: number | null | undefined): string {
  if (v === null || v === undefined) return '-';
  switch (metricUnit(metric)) {
    case 'bytes': return formatBytes(Math.round(v));
    case 'ms': return `${+v.toFixed(1)} ms`;
    case 'bytes/request': return `${+v.toFixed(1)} B/request`;
    case 'count': return String(Math.round(v));
    case 'rps': return `${Math.round(v)}/s`;
    default: return `${+v.toFixed(3)}`;
  }
}

function limitText(c: Check): string {
  if (c.kind === 'ceiling') return c.limitText;
  return c.limit === null ? c.limitText : `${formatValue(c.metric, c.limit)} (${c.limitText} ${formatValue(c.metric, c.baseline)})`;
}

/** "exceeded by 4.2 MiB (+42%)", "ok", "no value: ...", or why it was not run. */
export function checkResult(c: Check): string {
  if (c.status === 'pass') return 'ok';
  if (c.status === 'not-run') return `not run: ${c.reason}`;
  if (c.actual === null || c.limit === null) return c.reason;
  const over = c.actual - c.limit;
  const pct = c.limit > 0 ? ` (+${+((over / c.limit) * 100).toFixed(1)}%)` : '';
  return `exceeded by ${formatValue(c.metric, over)}${pct}`;
}

/** One sentence per failed check, for JUnit and logs. */
export function checkMessage(c: Check): string {
  const where = `${scenarioKey(c.scenario, c.quick)} / ${c.variant} / ${c.metric}`;
  const against = c.kind === 'baseline' ? 'baseline limit' : 'ceiling';
  if (c.status === 'fail' && c.actual !== null) return `${where}: ${formatValue(c.metric, c.actual)} is over the ${against} ${limitText(c)}, ${checkResult(c)}`;
  return `${where}: ${checkResult(c)}`;
}

export function gateVerdict(g: GateResult): string {
  const ran = g.passed + g.failed;
  const notRun = g.notRun ? `; ${g.notRun} not run` : '';
  return g.failed
    ? `gate failed: ${g.failed} of ${ran} checks over their limit${notRun}`
    : `gate passed: ${ran} of ${ran} checks within their limits${notRun}`;
}

const HEAD = ['scenario', 'variant', 'metric', 'limit', 'actual', 'result'];

function cells(c: Check): string[] {
  const kind = c.kind === 'baseline' ? ' (baseline)' : '';
  return [scenarioKey(c.scenario, c.quick), c.variant, c.metric + kind, limitText(c), formatValue(c.metric, c.actual), checkResult(c)];
}

export function gateText(g: GateResult, color = false): string {
  const paint = (c: Check, s: string) => (!color ? s : c.status === 'fail' ? pc.red(s) : c.status === 'pass' ? pc.green(s) : pc.dim(s));
  const rows = g.checks.map(cells);
  const widths = HEAD.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((x, i) => (i === r.length - 1 ? x : x.padEnd(widths[i]!))).join('  ');
  const out = [color ? pc.bold(line(HEAD)) : line(HEAD)];
  g.checks.forEach((c, i) => {
    const r = rows[i]!;
    const text = line(r);
    const head = text.slice(0, text.length - r.at(-1)!.length);
    out.push(c.status === 'not-run' && color ? pc.dim(text) : head + paint(c, r.at(-1)!));
  });
  const verdict = gateVerdict(g);
  out.push('', color ? (g.failed ? pc.red(pc.bold(verdict)) : pc.green(pc.bold(verdict))) : verdict);
  out.push(`ceilings: ${g.ceilingsFile}${g.baseline ? `; baseline: ${g.baseline.dir}` : ''}`);
  return out.join('\n');
}

function md(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function gateMarkdown(g: GateResult): string {
  const mark = (c: Check) => (c.status === 'pass' ? '✅' : c.status === 'fail' ? '❌' : '⏭️');
  const out = [
    `### leak-lab gate: ${g.failed ? 'failed' : 'passed'}`,
    '',
    `${gateVerdict(g)}. Ceilings: \`${md(g.ceilingsFile)}\`${g.baseline ? `; baseline: \`${md(g.baseline.dir)}\`` : ''}.`,
    '',
    `| ${HEAD.join(' | ')} |`,
    `|${HEAD.map(() => '---').join('|')}|`,
    ...g.checks.map((c) => {
      const r = cells(c);
      r[5] = `${mark(c)} ${r[5]}`;
      return `| ${r.map(md).join(' | ')} |`;
    }),
  ];
  return out.join('\n') + '\n';
}
