// Flag types and parsers shared by the commands: each parser throws LabError('badFlag')
// naming the flag and what would be valid.
import { LabError } from '../core/errors.js';
import { parseRegression } from '../gate/gate.js';
import { type Shard, parseShard } from '../results/shard.js';
import { SIZE_HELP, parseDuration, parseSize } from '../core/units.js';

export interface RunFlags {
  scenario?: string[];
  variants?: string;
  trials?: number;
  seed?: number;
  quick?: boolean;
  out?: string;
  json?: boolean;
  gate?: boolean;
  ceilings?: string;
  baseline?: string;
  maxRegression?: number;
  shard?: Shard;
  profile?: boolean;
  statsPoll?: boolean;
  memoryLimit?: number;
  rate?: number;
  remedies?: boolean;
  remedyBudget?: number;
}

export interface GateFlags {
  ceilings?: string;
  baseline?: string;
  maxRegression?: number;
  json?: boolean;
}

export function regressionFlag(value: string): number {
  const r = parseRegression(value);
  if (r === undefined) throw new LabError('badFlag', { flag: '--max-regression', value, valid: 'a percentage such as 10% (or a fraction up to 1 such as 0.1)' });
  return r;
}

export function shardFlag(value: string): Shard {
  const s = parseShard(value);
  if (!s) throw new LabError('badFlag', { flag: '--shard', value, valid: 'i/n with 1 <= i <= n, e.g. 1/4' });
  return s;
}

export function intFlag(flag: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new LabError('badFlag', { flag, value, valid: `an integer >= ${min}` });
    }
    return n;
  };
}

export function durationFlag(flag: string) {
  return (value: string): number => {
    const n = parseDuration(value);
    if (n === undefined || n <= 0) throw new LabError('badFlag', { flag, value, valid: 'a duration such as 500ms, 30s or 5m' });
    return n;
  };
}

export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function sizeFlag(flag: string) {
  return (value: string): number => {
    const n = parseSize(value);
    if (n === undefined || n <= 0) throw new LabError('badFlag', { flag, value, valid: SIZE_HELP });
    return n;
  };
}

export function rateFlag(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+(\.\d+)?\s*$/.test(value) || !(n > 0)) throw new LabError('badFlag', { flag: '--rate', value, valid: 'requests per second, a number > 0 such as 2000' });
  return n;
}
