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
