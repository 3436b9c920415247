// The ledger table of the terminal and report.md (harness/report/ledger.ts), on hand-built
// summary rows (fake-run.ts): shown, with each bucket in MiB, when rows carry a ledger;
// absent for a run made before the ledger existed, so its reports stay as they were.
import { describe, expect, it } from 'vitest';
import { markdownReport } from '../../../harness/report/markdown.js';
import { summaryTable } from '../../../harness/report/terminal.js';
import { fakeRow, fakeRun } from './fake-run.js';

const MiB = 1024 * 1024;
const spread = (mib: number) => ({ median: mib * MiB, min: mib * MiB, max: mib * MiB });

function withLedger() {
  const row = fakeRow('tcmalloc', 400);
  Object.assign(row.metrics, {
    ledgerBrkHeap: spread(0.5), ledgerAnonymous: spread(402.25), ledgerStacks: spread(0.25), ledgerFile: spread(6),
    ledgerOther: spread(0), ledgerLazyFree: spread(0), ledgerHeapNotInUse: spread(380),
  });
  return row;
}

describe('the ledger table', () => {
  it('the terminal shows each bucket of a row with a ledger, in MiB', () => {
    const text = summaryTable([withLedger()]);
    expect(text).toContain('Where RSS sat before the release');
    const line = text.split('\n').find((l) => l.includes('tcmalloc') && l.includes('402.3'))!;
    expect(line.split('│').map((c) => c.trim()).filter(Boolean)).toEqual(['tcmalloc', '0.5', '402.3', '0.3', '6.0', '0.0', '0.0', '380.0']);
  });

  it('report.md gets the same table under its heading', () => {
    const run = fakeRun({ variants: ['tcmalloc'] });
    run.summary = [withLedger()];
    const md = markdownReport(run);
    expect(md).toContain('### Where RSS sat before the release');
    expect(md).toContain('| tcmalloc | 0.5 | 402.3 | 0.3 | 6.0 | 0.0 | 0.0 | 380.0 |');
  });

  it('rows without a ledger (an older run) show no table', () => {
    expect(summaryTable([fakeRow('glibc', 100)])).not.toContain('Where RSS sat');
    expect(markdownReport(fakeRun())).not.toContain('Where RSS sat');
  });
});
