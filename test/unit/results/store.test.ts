// samples.csv records: the store's own formatter must write what csv-stringify writes (the
// reports read samples.csv back with csv-parse), including fields that need quoting.
import { stringify } from 'csv-stringify/sync';
import { describe, expect, it } from 'vitest';
import { csvLine } from '../../../harness/results/store.js';

describe('csvLine', () => {
  const rows: (string | number | null)[][] = [
    ['burst', 'glibc', 1, 12.5, 'idle', 'statm', 123456789, null, null, 0, -1, 1e21, 0.1],
    ['a,b', 'say "hi"', 'line\nbreak', 'cr\rhere', '', 'plain'],
    [null, null, null],
    [Number.MAX_SAFE_INTEGER, -0.5, 3],
  ];
  for (const row of rows) {
    it(`matches csv-stringify on ${JSON.stringify(row)}`, () => {
      expect(csvLine(row)).toBe(stringify([row]));
    });
  }
});
