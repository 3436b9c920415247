// The run folder: results/<run-id>/ with files written as the run goes (samples.csv and
// events.jsonl streamed, trials.jsonl after each trial) and the summaries at the end;
// results/latest points at the newest run.
import { appendFileSync, createWriteStream, mkdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync, type WriteStream } from 'node:fs';
import { join, relative } from 'node:path';
import { LabError } from '../core/errors.js';
import type { Sample, TraceEvent, Trace, TrialMetrics } from '../core/types.js';
import { SAMPLE_COLUMNS, type TrialKey, sampleRow } from './schema.js';

/** One CSV record as csv-stringify writes it (a field is quoted only when it holds a comma,
 * a quote or a line break; null is empty), without its per-call option handling: this runs
 * ~110 times a second for every trial, and csv-stringify was a fifth of the harness's
 * steady-state CPU (node --cpu-prof of a 30 s steady phase). */
export function csvLine(fields: readonly (string | number | null)[]): string {
  let line = '';
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    if (i > 0) line += ',';
    if (f === null || f === undefined) continue;
    if (typeof f === 'number') line += String(f);
    else line += /[",\r\n]/.test(f) ? `"${f.replaceAll('"', '""')}"` : f;
  }
  return line + '\n';
}


export function makeRunId(date: Date, scenarios: string[]): string {
  const stamp = date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${scenarios.join('+')}`;
}

/** Rows are appended to samples.csv in batches: every FLUSH_MS, or sooner past
 * FLUSH_BYTES, and at the end of each trial. One write per batch instead of one per
 * row keeps the harness's own CPU low (npm run bench -- harness). */
const FLUSH_MS = 1000;
const FLUSH_BYTES = 256 * 1024;

export class RunStore {
  readonly dir: string;
  private readonly csvPath: string;
  private csvPending: string[] = [];
  private csvPendingBytes = 0;
  private csvTimer: NodeJS.Timeout | undefined;
  private eventsPending = '';
  private readonly eventsPath: string;
  private readonly trials: WriteStream;
  private processes: WriteStream | undefined;

  constructor(readonly outDir: string, readonly runId: string) {
    this.dir = join(outDir, runId);
    try {
      mkdirSync(this.dir, { recursive: true });
      writeFileSync(join(this.dir, '.write-test'), '');
      rmSync(join(this.dir, '.write-test'));
    } catch (err) {
      throw new LabError('outDir', { dir: outDir, reason: (err as Error).message });
    }
    this.csvPath = join(this.dir, 'samples.csv');
    writeFileSync(this.csvPath, csvLine(SAMPLE_COLUMNS));
    this.eventsPath = join(this.dir, 'events.jsonl');
    writeFileSync(this.eventsPath, '');
    this.trials = createWriteStream(join(this.dir, 'trials.jsonl'));
  }

  sample(key: TrialKey, s: Sample): void {
    const line = csvLine(sampleRow(key, s));
    this.csvPending.push(line);
    this.csvPendingBytes += line.length;
    if (this.csvPendingBytes >= FLUSH_BYTES) this.flushSamples();
    else this.csvTimer ??= setTimeout(() => this.flushSamples(), FLUSH_MS);
  }

  /** Writes the rows (synchronously: a crash loses at most FLUSH_MS of rows) and events
   * taken so far. */
  flushSamples(): void {
    if (this.csvTimer) clearTimeout(this.csvTimer);
    this.csvTimer = undefined;
    if (this.eventsPending) {
      appendFileSync(this.eventsPath, this.eventsPending);
      this.eventsPending = '';
    }
    if (this.csvPending.length === 0) return;
    appendFileSync(this.csvPath, this.csvPending.join(''));
    this.csvPending = [];
    this.csvPendingBytes = 0;
  }

  /** Where the next rows and events will go: the sizes of samples.csv and events.jsonl
   * once everything taken so far is written (a trial's rows start there). */
  offsets(): { csv: number; events: number } {
    this.flushSamples();
    return { csv: statSync(this.csvPath).size, events: statSync(this.eventsPath).size };
  }

  get samplesPath(): string {
    return this.csvPath;
  }

  get eventsFile(): string {
    return this.eventsPath;
  }

  /** Events go out with the sample batches (one write per FLUSH_MS instead of one per
   * event); trial() and close() flush them. */
  event(key: TrialKey, e: TraceEvent): void {
    this.eventsPending += JSON.stringify({ ...key, ...e }) + '\n';
    this.csvTimer ??= setTimeout(() => this.flushSamples(), FLUSH_MS);
  }

  /** A target's helper, target, load or release process as it ended (processes.jsonl):
   * its argv, exit, duration and last output lines. */
  process(key: TrialKey, record: object): void {
    this.processes ??= createWriteStream(join(this.dir, 'processes.jsonl'));
    this.processes.write(JSON.stringify({ ...key, ...record }) + '\n');
  }

  /** One line per finished trial: its status, load per phase, VmHWM and metrics. */
  trial(trace: Trace, metrics: TrialMetrics): void {
    this.flushSamples();
    const { samples: _s, events: _e, ...rest } = trace;
    this.trials.write(JSON.stringify({ ...rest, metrics }) + '\n');
  }

  writeJson(name: string, value: unknown): void {
    this.writeText(name, JSON.stringify(value, null, 2) + '\n');
  }

  /** Atomic (write then rename), so a reader never sees half a file. */
  writeText(name: string, text: string): void {
    const tmp = join(this.dir, `.${name}.tmp`);
    writeFileSync(tmp, text);
    renameSync(tmp, join(this.dir, name));
  }

  async close(): Promise<void> {
    const ended = (s: WriteStream) => new Promise<void>((resolve) => s.end(resolve));
    this.flushSamples();
    await Promise.all([ended(this.trials), ...(this.processes ? [ended(this.processes)] : [])]);
  }

  /** Points <outDir>/latest at this run (a relative symbolic link). */
  markLatest(): void {
    const link = join(this.outDir, 'latest');
    const tmp = join(this.outDir, `.latest-${process.pid}`);
    rmSync(tmp, { force: true });
    symlinkSync(relative(this.outDir, this.dir), tmp);
    renameSync(tmp, link);
  }
}
