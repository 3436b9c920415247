// Writes every report of a run folder from its raw files. The run calls this after its
// last raw file is closed, and `lab report <run-dir>` calls it again: both render from
// what is on disk (never from memory, never with the time of rendering), so a re-render
// is byte-identical.
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadRun, type RunData } from '../results/reader.js';
import { summaryCsv } from './csv.js';
import { htmlReport } from './html.js';
import { markdownReport } from './markdown.js';

/** Every report, one file per format, each `(run: RunData) => string`. */
export const REPORTS: ReadonlyArray<{ file: string; render: (run: RunData) => string }> = [
  { file: 'summary.csv', render: (run) => summaryCsv(run.summary) },
  { file: 'report.md', render: markdownReport },
  { file: 'report.html', render: htmlReport },
];

/** Renders and writes every report into `dir`; returns the paths written. */
export async function writeReports(dir: string): Promise<string[]> {
  const run = await loadRun(dir);
  return REPORTS.map(({ file, render }) => {
    const path = join(dir, file);
    const tmp = join(dir, `.${file}.tmp`);
    writeFileSync(tmp, render(run));
    renameSync(tmp, path);  // a reader never sees half a report
    return path;
  });
}
