// Parsing and formatting of the units scenarios and reports use: durations ("3s",
// "250ms") and sizes ("64KiB", "1.5MiB", "512"). Pure functions.

export type Bytes = number & { readonly __unit: 'bytes' };
export type Millis = number & { readonly __unit: 'ms' };

const sizeUnits: Record<string, number> = {
  '': 1, b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, kb: 1000, mb: 1000 ** 2, gb: 1000 ** 3,
};
const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };

export const SIZE_HELP = 'a size such as 512, "64KiB", "1.5MiB", "1GiB" (B, KiB, MiB, GiB, KB, MB, GB)';
export const DURATION_HELP = 'a duration such as "250ms", "3s", "1.5s", "2m"';

/** Parses a size; returns undefined when the text is not a size. */
export function parseSize(text: string | number): Bytes | undefined {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? (Math.round(text) as Bytes) : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return undefined;
  const factor = sizeUnits[m[2]!.toLowerCase()];
  if (factor === undefined) return undefined;
  return Math.round(Number(m[1]) * factor) as Bytes;
}

/** Parses a duration; returns undefined when the text is not a duration. */
export function parseDuration(text: string | number): Millis | undefined {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? (text as Millis) : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)\s*$/.exec(text);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * durationUnits[m[2]!]!) as Millis;
}

export const MiB = 1024 * 1024;

export function formatMiB(bytes: number | null | undefined, digits = 1): string {
  return bytes === null || bytes === undefined ? '-' : (bytes / MiB).toFixed(digits);
}

/** MiB to one decimal with its unit, for sentences (verdicts, rules, conclusions); a value
 * that rounds to zero is "0.0 MiB", never "-0.0 MiB". */
export function mibText(bytes: number): string {
  return `${(Math.round((bytes / MiB) * 10) / 10 || 0).toFixed(1)} MiB`;
}

export function formatPercent(ratio: number | null | undefined, digits = 0): string {
  return ratio === null || ratio === undefined ? '-' : `${(ratio * 100).toFixed(digits)}%`;
}

export function formatMs(ms: number | null | undefined, digits = 1): string {
  return ms === null || ms === undefined ? '-' : ms.toFixed(digits);
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${+(bytes / 1024 ** 3).toFixed(2)} GiB`;
  if (bytes >= MiB) return `${+(bytes / MiB).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}
