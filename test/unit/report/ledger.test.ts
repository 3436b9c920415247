// The ledger table of the terminal and report.md (harness/report/ledger.ts), on hand-built
// summary rows (fake-run.ts): one column per variant with a ledger, the kernel's split, the
// in-use bytes, each pool, the remainder marked over the tolerance (5% of RSS or 8 MiB);
// absent for a run made before the ledger existed, so its reports stay as they were.
import { describe, expect, it } from 'vitest';
import { phaseBars } from '../../../harness/report/ledger.js';
import { markdownReport } from '../../../harness/report/markdown.js';
import { summaryTable } from '../../../harness/report/terminal.js';
import { fakeRow, fakeRun } from './fake-run.js';

const MiB = 1024 * 1024;
const spread = (mib: number) => ({ median: mib * MiB, min: mib * MiB, max: mib * MiB });

function withLedger(unexplainedMiB: number) {
  const row = fakeRow('tcmalloc', 400);
  Object.assign(row.metrics, {
    retainedRss: spread(400), ledgerBrkHeap: spread(390.5), ledgerAnonymous: spread(2.25), ledgerStacks: spread(0.25), ledgerFile: spread(6),
    ledgerOther: spread(0), ledgerLazyFree: spread(0), ledgerInUse: spread(2), 'pool.pageheapFree': spread(380), 'pool.metadata': spread(1.5),
    ledgerUnexplained: spread(unexplainedMiB),
  });
  return row;
}

const cells = (text: string, label: string) => text.split('\n').find((l) => l.includes(label))!.split('│').map((c) => c.trim()).filter(Boolean);

describe('the ledger table', () => {
  it('the terminal shows the kernel\'s split, the in-use bytes, each pool and the remainder, in MiB', () => {
    const text = summaryTable([withLedger(9.25)]);
    expect(text).toContain('Where RSS sat right before the release (MiB, medians)');
    expect(cells(text, 'brk heap')).toEqual(['brk heap', '390.5']);
    expect(cells(text, 'anonymous')).toEqual(['anonymous', '2.3']);
    expect(cells(text, 'in use by the program')).toEqual(['in use by the program (allocator\'s count)', '2.0']);
    expect(cells(text, 'tcmalloc page heap free')).toEqual(['tcmalloc page heap free', '380.0']);
    expect(cells(text, 'allocator metadata')).toEqual(['allocator metadata', '1.5']);
    // 9.25 MiB is within 5% of 400 MiB (20 MiB).
    expect(cells(text, 'unexplained')).toEqual(['unexplained (heap - in use - resident pools)', '9.3']);
  });

  it('marks a remainder over the tolerance: over 5% of RSS, and over 8 MiB', () => {
    expect(cells(summaryTable([withLedger(20.5)]), 'unexplained')[1]).toBe('20.5 (over tolerance)');
    expect(cells(summaryTable([withLedger(19.5)]), 'unexplained')[1]).toBe('19.5');
    expect(cells(summaryTable([withLedger(-20.5)]), 'unexplained')[1]).toBe('-20.5 (over tolerance)');
  });

  it('report.md gets the same table under its heading', () => {
    const run = fakeRun({ variants: ['tcmalloc'] });
    run.summary = [withLedger(9.25)];
    const md = markdownReport(run);
    expect(md).toContain('### Where RSS sat right before the release (MiB, medians)');
    expect(md).toContain('| tcmalloc page heap free | 380.0 |');
  });

  it('rows without a ledger (an older run) show no table', () => {
    expect(summaryTable([fakeRow('glibc', 100)])).not.toContain('Where RSS sat');
    expect(markdownReport(fakeRun())).not.toContain('Where RSS sat');
  });

  it('a bar per ledger reading of a trial: the allocator\'s parts of the heap, then what sits outside it', () => {
    const sp = (brk: number, anon: number) => ({ rss: (brk + anon + 4) * MiB, brkHeap: brk * MiB, anonymous: anon * MiB, stacks: 1 * MiB, file: 3 * MiB, other: 0, lazyFree: 0, threads: 2, threadsLocated: 2 });
    const bars = phaseBars('tcmalloc', [
      { type: 'ledger', tMs: 100, point: 'phase-end', phase: 'burst', readMs: 3, split: sp(200, 2), alloc: {
        'generic.current_allocated_bytes': 150 * MiB, 'tcmalloc.pageheap_free_bytes': 40 * MiB, 'generic.heap_size': 201 * MiB,
        'tcmalloc.pageheap_unmapped_bytes': 0, 'generic.total_physical_bytes': 202 * MiB } },
      { type: 'ledger', tMs: 200, point: 'before-release', phase: 'idle', readMs: 3, split: sp(50, 2), alloc: null },
      { type: 'ledger', tMs: 300, point: 'after-release', phase: 'after-release', readMs: 3, split: sp(5, 2), alloc: null },
    ]);
    expect(bars.map((b) => b.label)).toEqual(['end of burst', 'before the release', 'after the release']);
    // 202 heap - 150 in use - 40 page heap - 1 metadata = 11 unexplained.
    expect(bars[0]!.segments.map((x) => [x.label, x.bytes / MiB])).toEqual([
      ['in use by the program', 150], ['tcmalloc page heap free', 40], ['allocator metadata', 1], ['unexplained', 11], ['thread stacks', 1], ['file-backed', 3]]);
    expect(bars[0]!.total).toBe(206 * MiB);
    // Without counters: the kernel's brk heap and anonymous memory.
    expect(bars[1]!.segments.map((x) => [x.label, x.bytes / MiB])).toEqual([['brk heap', 50], ['anonymous', 2], ['thread stacks', 1], ['file-backed', 3]]);
  });
});
