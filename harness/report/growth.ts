// The growth profile and the forecast of one summary row as lines of text, shared by the
// terminal and report.md (report.html draws its own table from the same fields).
import { formatBinary, formatCount } from '../analysis/growth.js';
import { profileReading } from '../analysis/profile-verdict.js';
import type { GrowthSite, SummaryRow } from '../core/types.js';

export const pct = (x: number) => `${(x * 100).toFixed(0)}%`;

/** One table row per site: share, bytes, objects, function. */
export function growthRow(s: GrowthSite): [string, string, string, string] {
  return [pct(s.share), formatBinary(s.bytes), s.objects === null ? '-' : formatCount(s.objects), s.site];
}

/** The profile's sentence, then up to `top` sites, then the forecast; [] when the row has neither. */
export function growthLines(row: SummaryRow, top = 3): string[] {
  const out: string[] = [];
  const reading = profileReading(row);
  if (reading) out.push(`growth profile: ${reading.text}`);
  if (row.profile?.status === 'profiled') {
    for (const s of (row.growth ?? []).slice(0, top)) {
      const [share, bytes, objects, site] = growthRow(s);
      out.push(`  ${share.padStart(4)}  ${bytes.padStart(10)}  ${objects.padStart(8)} objects  ${site}`);
    }
    out.push(`  (dumps and diffs: ${row.profile.dir}/${row.variant}-<trial>/)`);
  }
  if (row.forecast) out.push(`forecast: ${row.forecast.text}${row.forecast.rateSource === 'measured' ? ' (the rate measured in this run)' : ''}`);
  return out;
}

const hasGrowth = (r: SummaryRow) => Boolean(r.profile || r.forecast);

/** report.md: per profiled variant, the profile's sentence, the growth table and the forecast. */
export function growthMarkdown(rows: readonly SummaryRow[], md: (s: string) => string): string {
  const parts: string[] = [];
  for (const row of rows.filter(hasGrowth)) {
    const reading = profileReading(row);
    parts.push(`**${md(row.variant)}**${reading ? `: ${md(reading.text)}` : ''}`);
    if (row.profile?.status === 'profiled' && row.growth?.length) {
      parts.push(['| share | bytes | objects | site |', '|---:|---:|---:|:---|', ...row.growth.slice(0, 5).map((s) => {
        const [share, bytes, objects, site] = growthRow(s);
        return `| ${share} | ${bytes} | ${objects} | \`${site.replace(/`/g, "'")}\` |`;
      })].join('\n'));
      parts.push(`Dumps, diff and collapsed stacks: \`${row.profile.dir}/${md(row.variant)}-<trial>/\` (${row.profile.tool}).`);
    }
    if (row.forecast) parts.push(`Forecast: ${md(row.forecast.text)}${row.forecast.rateSource === 'measured' ? ' (the rate measured in this run)' : ''}.`);
  }
  return parts.length ? ['#### Growth profile', ...parts].join('\n\n') : '';
}

/** report.html: the same, as a table per variant. */
export function growthHtml(rows: readonly SummaryRow[], esc: (s: string) => string): string {
  const parts: string[] = [];
  for (const row of rows.filter(hasGrowth)) {
    const reading = profileReading(row);
    parts.push(`<p><b>${esc(row.variant)}</b>${reading ? `: ${esc(reading.text)}` : ''}</p>`);
    if (row.profile?.status === 'profiled' && row.growth?.length) {
      const body = row.growth.slice(0, 5).map((s) => `<tr>${growthRow(s).map((c, i) => (i < 3 ? `<td class="num">${esc(c)}</td>` : `<td><code>${esc(c)}</code></td>`)).join('')}</tr>`);
      parts.push(`<table class="summary growth"><thead><tr><th>share</th><th>bytes</th><th>objects</th><th>site</th></tr></thead><tbody>${body.join('')}</tbody></table>`,
        `<p class="note">Dumps, diff and collapsed stacks: <code>${esc(row.profile.dir)}/${esc(row.variant)}-&lt;trial&gt;/</code> (${esc(row.profile.tool)}).</p>`);
    }
    if (row.forecast) parts.push(`<p class="forecast">Forecast: ${esc(row.forecast.text)}${row.forecast.rateSource === 'measured' ? ' (the rate measured in this run)' : ''}.</p>`);
  }
  return parts.length ? ['<h3>Growth profile</h3>', ...parts].join('\n') : '';
}
