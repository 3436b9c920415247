// The growth profile next to the verdict: a leak verdict names the top growth site; a
// retention verdict says the program's live bytes did not grow (the allocator holds the
// memory); when the profile and the RSS rules disagree, the verdict says so. And the
// forecast of a leak: when RSS reaches --memory-limit. Pure functions over a summary row,
// applied after diagnosis.ts's verdict (which they do not change, only annotate).
import { THRESHOLDS } from './diagnosis.js';
import { forecast, formatBinary } from './growth.js';
import type { SummaryRow } from '../core/types.js';

const pct = (x: number) => `${Math.round(x * 100)}%`;

/** Growth between the dumps that the profile calls growth: a quarter of the leak floor.
 * Below the verdict's own floor on purpose, so that a leak the RSS rules miss in a short
 * or slow run (less than leakFloorBytes grown) still shows as a disagreement. */
export const PROFILE_GROWTH_FLOOR = THRESHOLDS.leakFloorBytes / 4;

/** The profile's reading of a row, in one sentence, and whether it disagrees with the verdict.
 * When requests were still in flight at the pre-release dump, the sentence says so. */
export function profileReading(row: SummaryRow): { text: string; disagrees: boolean } | null {
  const p = row.profile;
  if (!p || !row.verdict) return null;
  if (p.status !== 'profiled') return { text: `no growth profile: ${p.reason}`, disagrees: false };
  const r = reading(row, p.grownBytes);
  const busy = p.inFlightAtDump ?? 0;
  if (busy > 0) r.text += ` (${busy} requests were still in flight at the pre-release dump after waiting ${((p.quietWaitMs ?? 0) / 1000).toFixed(1)} s: part of the growth may be their buffers)`;
  return r;
}

function reading(row: SummaryRow, grownBytes: number): { text: string; disagrees: boolean } {
  const v = row.verdict!;
  const floor = PROFILE_GROWTH_FLOOR;
  const top = row.growth?.[0];
  const grew = grownBytes >= floor;
  const site = top ? `${top.site} (${pct(top.share)} of ${formatBinary(grownBytes)} grown between the baseline and the release)` : '';
  if (grew && !top) {
    return { text: `the growth profile shows ${formatBinary(grownBytes)} grown between the dumps, but no call site that grew in most trials (their top sites differ): read each trial's profile`, disagrees: false };
  }
  if (v.kind === 'leak') {
    return grew && top
      ? { text: `the growth profile names ${site}`, disagrees: false }
      : { text: `the growth profile disagrees: the program's live bytes grew only ${formatBinary(grownBytes)} between the dumps (below ${formatBinary(floor)}), so RSS grew for another reason`, disagrees: true };
  }
  if (grew && top) {
    return { text: `the growth profile disagrees with "${v.kind}": live bytes allocated at ${site} kept growing, which the RSS rules did not call a leak`, disagrees: true };
  }
  const holds = v.kind === 'retention' ? ': the allocator holds the memory, not the code' : '';
  return { text: `the growth profile shows no growth in the program's live bytes (${formatBinary(Math.max(0, grownBytes))} between the dumps)${holds}`, disagrees: false };
}

/** The row with the profile's reading in its verdict's evidence (`profile`, and the top
 * site's `growthSite` / `growthShare`), and `profileDisagrees` when it does. */
export function withProfileEvidence(row: SummaryRow): SummaryRow {
  const reading = profileReading(row);
  if (!reading || !row.verdict) return row;
  const top = row.profile?.status === 'profiled' ? row.growth?.[0] : undefined;
  const evidence = {
    ...row.verdict.evidence,
    profile: reading.text,
    ...(top ? { growthSite: top.site, growthShare: top.share } : {}),
    ...(reading.disagrees ? { profileDisagrees: 'yes' } : {}),
  };
  return { ...row, verdict: { ...row.verdict, evidence } };
}

export interface ForecastOptions {
  limitBytes: number;
  /** --rate; undefined: the highest phase throughput measured in the run. */
  rateRps?: number;
}

/** The highest median phase throughput of a row (requests per second), or null. */
export function measuredRate(row: SummaryRow): number | null {
  const rates = Object.entries(row.metrics).filter(([k]) => k.startsWith('throughput.')).map(([, s]) => s.median).filter((x): x is number => x !== null && x > 0);
  return rates.length ? Math.max(...rates) : null;
}

/** A leak verdict's forecast: leakSlope bytes per request at the rate, from the baseline RSS. */
export function withForecast(row: SummaryRow, o: ForecastOptions): SummaryRow {
  if (row.verdict?.kind !== 'leak') return row;
  const slope = row.metrics.leakSlope?.median ?? null;
  const rate = o.rateRps ?? measuredRate(row);
  if (slope === null || rate === null) return row;
  const f = forecast({ bytesPerRequest: slope, rateRps: rate, limitBytes: o.limitBytes, startBytes: row.metrics.baselineRss?.median ?? 0 });
  return { ...row, forecast: { ...f, rateSource: o.rateRps === undefined ? 'measured' : 'flag' } };
}
