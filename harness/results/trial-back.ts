// A trial's rows read back from the run folder once the trial has ended. While a trial
// runs, executeRun keeps none of its samples or load ticks in memory (runTrial with
// retain: false): they stream to samples.csv and events.jsonl, so the harness's own RSS
// stays flat however long the trial (npm run bench -- memory). The metrics are then
// computed from what was written, the same files `lab report` reads later.
import { RssSeries } from '../core/rss-series.js';
import type { Sample, Trace, TraceEvent } from '../core/types.js';
import { csvRecords, jsonLines } from './read-files.js';
import { type RunStore } from './store.js';
import { rowSample, type TrialKey } from './schema.js';

const sameKey = (a: TrialKey, b: TrialKey) => a.scenario === b.scenario && a.variant === b.variant && a.trial === b.trial;

/** The samples (statm rows as columns) and events of trial `key`, written from `from` on. */
export async function readTrialBack(store: RunStore, from: { csv: number; events: number }, key: TrialKey): Promise<Required<Pick<Trace, 'samples' | 'rss' | 'events'>>> {
  store.flushSamples();
  const rss = new RssSeries();
  const samples: Sample[] = [];
  for await (const r of csvRecords(store.samplesPath, from.csv)) {
    const { key: k, sample } = rowSample(r);
    if (!sameKey(k, key)) continue;
    if (sample.source === 'statm') rss.push(sample.tMs, sample.rssBytes);
    else samples.push(sample);
  }
  const events: TraceEvent[] = [];
  for await (const line of jsonLines(store.eventsFile, from.events)) {
    const { scenario, variant, trial, ...e } = line;
    if (!sameKey({ scenario: String(scenario), variant: String(variant), trial: Number(trial) }, key)) continue;
    events.push(e as unknown as TraceEvent);
  }
  return { rss, samples, events };
}
