// Field types shared by the scenario schema and its target section: sizes and durations
// written as text ('4KiB', '1500ms') or numbers, names, and argv arrays.
import { z } from 'zod';
import { DURATION_HELP, SIZE_HELP, parseDuration, parseSize } from '../core/units.js';

export const size = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const bytes = parseSize(v);
  if (bytes === undefined) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `'${v}' is not a size; expected ${SIZE_HELP}` });
    return z.NEVER;
  }
  return bytes as number;
});

export const duration = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `'${v}' is not a duration; expected ${DURATION_HELP}` });
    return z.NEVER;
  }
  return ms as number;
});

export const name = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lower-case letters, digits and dashes');

/** A program and its arguments, never a shell string: ['redis-cli', '-p', '{port}', 'ping']. */
export const argv = z.array(z.string(), { invalid_type_error: 'expected an argv array such as [\'redis-cli\', \'-p\', \'{port}\'] (never a shell string)' })
  .min(1, 'expected at least the program: [\'<program>\', ...args]')
  .refine((a) => a[0] !== '', { message: 'the program (first element) is empty' });

export const env = z.record(z.string(), z.string()).default({});
