// `lab list`: every variant, available or not and why, with its library version.
import { ExitCode } from '../core/errors.js';
import { VARIANTS, variantStatus } from '../subject/variants.js';
import type { Io } from './io.js';

export async function listCommand(flags: { json?: boolean }, io: Io): Promise<number> {
  const statuses = VARIANTS.map(variantStatus);
  if (flags.json) {
    io.stdout.write(JSON.stringify(statuses, null, 2) + '\n');
    return ExitCode.ok;
  }
  for (const s of statuses) {
    const v = VARIANTS.find((x) => x.id === s.id)!;
    const mark = s.available ? 'yes' : 'no ';
    io.stdout.write(`${s.id.padEnd(18)} ${mark}  ${(s.version ?? '-').padEnd(20)} ${s.available ? v.description : s.reason}\n`);
  }
  return ExitCode.ok;
}
