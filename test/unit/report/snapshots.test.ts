// The Markdown and terminal reporters on a hand-built ("fake") run, as snapshots: a change
// in what people read shows up in review as a diff of test/report/__snapshots__/.
import { describe, expect, it } from 'vitest';
import { markdownReport, mermaidChart } from '../../../harness/report/markdown.js';
import { rssCharts, summaryTable } from '../../../harness/report/terminal.js';
import { diagnose } from '../../../harness/analysis/diagnosis.js';
import { fakeRun } from './fake-run.js';

describe('the fake run itself', () => {
  it('carries the verdicts the rules give its numbers, so the snapshots show no verdict the lab would never write', () => {
    expect(fakeRun().summary.map((r) => [r.variant, diagnose(r).kind, diagnose(r).severity])).toEqual([
      ['glibc', 'retention', 'warning'], ['tcmalloc', 'retention', 'critical'],
    ]);
    expect(fakeRun().summary.map((r) => [r.verdict?.kind, r.verdict?.severity])).toEqual([['retention', 'warning'], ['retention', 'critical']]);
  });
});

describe('markdownReport on a fake run', () => {
  it('renders tables, verdicts, a Mermaid chart, the environment and the command', async () => {
    const md = markdownReport(fakeRun());
    await expect(md).toMatchFileSnapshot('./__snapshots__/fake-run.report.md');
    expect(md).toContain('| glibc | 3 (1 failed) | 4.0 | 500.0 (490.0-510.0) |');
    expect(md).toContain('**retention**');
    expect(md).toContain('```mermaid');
    expect(md).toContain('npm run lab -- --scenario burst --trials 3 --variants glibc,tcmalloc');
    expect(md).not.toMatch(/\d{4}-\d\d-\d\dT(?!00:00:)/);  // no time but the run's own
  });

  it('has no verdict column while rows carry no verdict', () => {
    const md = markdownReport(fakeRun({ verdicts: false }));
    expect(md).not.toContain('verdict');
  });

  it('escapes what could break a table or inject HTML', () => {
    const md = markdownReport(fakeRun({ description: 'a | b <img src=x onerror=alert(1)>' }));
    expect(md).toContain('a \\| b &lt;img src=x onerror=alert(1)&gt;');
  });

  it('keeps the peak in the Mermaid chart', () => {
    const chart = mermaidChart('burst', fakeRun().charts, 7);
    expect(chart).toMatch(/line \[.*\b500\b.*\]/);
    expect(chart).toContain('y-axis "RSS (MiB)" 0 --> 530');
  });
});

describe('terminal reporter on a fake run', () => {
  it('summary table and RSS charts', () => {
    const run = fakeRun();
    const curves = run.charts.map((c) => ({
      variant: c.variant, points: c.rss.t.map((t, i): [number, number] => [t, c.rss.v[i]!]), releaseAt: c.releases[0]?.tMs ?? null,
    }));
    expect(summaryTable(run.summary) + '\n' + rssCharts('burst', curves, false, 40, 5)).toMatchSnapshot();
  });
});
