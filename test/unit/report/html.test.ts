// report.html on a fake run: self-contained, every string escaped, chart data embedded
// safely. (The page in a real browser: html-browser.test.ts.)
import { describe, expect, it } from 'vitest';
import { esc, htmlReport, scriptJson } from '../../../harness/report/html.js';
import { fakeRun } from './fake-run.js';

const hostile = '</script><script>alert(1)</script> & <!-- \u2028 "quoted" \'single\'';

describe('htmlReport', () => {
  it('is one self-contained page: uPlot inlined, nothing fetched', () => {
    const html = htmlReport(fakeRun());
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('uPlot');
    expect(html).not.toMatch(/<script[^>]+src=/);
    expect(html).not.toMatch(/<link[^>]+rel="stylesheet"/);
    expect(html).not.toMatch(/(src|href)="https?:/);
    expect(html).toContain('<span class="verdict retention"');
  });

  it('escapes every string from the scenario, the variants and the command line', () => {
    const run = fakeRun({ description: hostile });
    run.info.command.push(hostile);
    run.info.errors.push(hostile);
    const html = htmlReport(run);
    // The only </script> are the page's own three closing tags.
    expect(html.match(/<\/script>/g)).toHaveLength(3);
    expect(html).not.toContain('<script>alert(1)');
    expect(html).toContain('&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;!-- ');
  });

  it('embeds chart data as JSON that cannot end its <script> element', () => {
    const json = scriptJson({ s: hostile });
    expect(json).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(json)).toEqual({ s: hostile });
    expect(esc(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  it('is the same for the same run (no time of rendering in it)', () => {
    expect(htmlReport(fakeRun())).toBe(htmlReport(fakeRun()));
  });

  it('draws the ledger at each phase end of a charted trial, on one scale, after the retention-point bars', () => {
    const run = fakeRun({ variants: ['glibc'] });
    const MiB = 1024 * 1024;
    const metric = (v: number) => ({ median: v, min: v, max: v });
    Object.assign(run.summary[0]!.metrics, { ledgerBrkHeap: metric(0), ledgerAnonymous: metric(100 * MiB), ledgerStacks: metric(0), ledgerFile: metric(0), ledgerOther: metric(0) });
    const split = (anon: number) => ({ rss: anon * MiB, brkHeap: 0, anonymous: anon * MiB, stacks: 0, file: 0, other: 0, lazyFree: 0, threads: 1, threadsLocated: 1 });
    run.charts[0]!.ledgers = [
      { type: 'ledger', tMs: 400, point: 'phase-end', phase: 'burst', readMs: 1, split: split(200), alloc: null },
      { type: 'ledger', tMs: 500, point: 'phase-end', phase: 'idle', readMs: 1, split: split(50), alloc: null },
    ];
    const html = htmlReport(run);
    const section = html.slice(html.indexOf('Where RSS sat at each phase end'));
    expect(section).toContain('<p class="ledger-variant">glibc (trial 1)</p>');
    // The largest reading fills the track; the other is a quarter of it.
    expect(section).toMatch(/end of burst<\/span><div class="ledger-track"><div class="ledger-bar" style="width:100\.0%">/);
    expect(section).toMatch(/end of idle<\/span><div class="ledger-track"><div class="ledger-bar" style="width:25\.0%">/);
    expect(htmlReport(fakeRun())).not.toContain('Where RSS sat at each phase end');
  });
});
