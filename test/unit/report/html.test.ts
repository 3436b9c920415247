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
});
