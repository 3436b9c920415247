// Progress on stderr while a run goes: a bar on a terminal, otherwise one line per phase
// at its end, with the RSS at the phase's start and end.
import cliProgress from 'cli-progress';
import type { Progress } from '../trial/runner.js';
import { formatMiB } from '../core/units.js';

export interface ProgressView {
  update(p: Progress): void;
  line(text: string): void;
  stop(): void;
}

type Stream = NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean };

export function progressView(stream: Stream): ProgressView {
  return 'isTTY' in stream && stream.isTTY ? barView(stream as NodeJS.WriteStream) : lineView(stream);
}

/** A terminal: one bar, redrawn. */
function barView(stream: NodeJS.WriteStream): ProgressView {
  const bar = new cliProgress.SingleBar({
    stream,
    format: '{scenario} {variant} trial {trial}/{trials} [{bar}] {phase} {elapsed}/{total} s  RSS {rss} MiB',
    barsize: 24,
    // Redraws twice a second (the default is 10): the figures change about once a second,
    // and every redraw is a wake-up of the harness (docs/benches.md, harness).
    fps: 2,
    hideCursor: true,
    clearOnComplete: true,
  }, cliProgress.Presets.shades_classic);
  let started = false;
  return {
    update(p) {
      const payload = {
        scenario: p.scenario, variant: p.variant, trial: p.trial, trials: p.trials, phase: p.phase,
        elapsed: (p.elapsedMs / 1000).toFixed(1), total: (p.totalMs / 1000).toFixed(1), rss: formatMiB(p.rssBytes),
      };
      if (!started) {
        bar.start(p.totalMs, 0, payload);
        started = true;
      }
      bar.setTotal(p.totalMs);
      bar.update(Math.min(p.elapsedMs, p.totalMs), payload);
    },
    line(text) {
      if (started) bar.stop();
      started = false;
      stream.write(text + '\n');
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}

/** Not a terminal: one line per phase, written when the phase ends, with the RSS at its
 * start (the previous phase's last reading) and at its end. A line written when a phase
 * starts would show the RSS before the phase's action (a release) had acted. */
function lineView(stream: Stream): ProgressView {
  let open: { trial: string; startMs: number; startRss: number; last: Progress } | null = null;
  const flush = () => {
    if (!open) return;
    const p = open.last;
    stream.write(`  ${p.scenario} ${p.variant} trial ${p.trial}/${p.trials}: ${p.phase} ${phaseTimes(open.startMs, p)}, RSS ${formatMiB(open.startRss)} -> ${formatMiB(p.rssBytes)} MiB\n`);
    open = null;
  };
  return {
    update(p) {
      const trial = `${p.scenario}/${p.variant}/${p.trial}`;
      if (open && open.trial === trial && open.last.phase === p.phase) {
        open.last = p;
        return;
      }
      const previous = open?.trial === trial ? open.last : null;
      if (p.phase === 'end') {
        // the trial's end closes its last phase with the RSS at that moment
        if (open && previous) open.last = { ...previous, elapsedMs: p.elapsedMs, rssBytes: p.rssBytes };
        flush();
        return;
      }
      flush();
      open = { trial, startMs: previous?.elapsedMs ?? p.elapsedMs, startRss: previous?.rssBytes ?? p.rssBytes, last: p };
    },
    line(text) {
      flush();
      stream.write(text + '\n');
    },
    stop() {
      flush();
    },
  };
}

/** "10.0-11.5 of 11.5 s"; "1.1-1.2 of at most 275.5 s" when phases last until their load
 * command exits (their durations are limits). */
function phaseTimes(startMs: number, p: Progress): string {
  return `${(startMs / 1000).toFixed(1)}-${(p.elapsedMs / 1000).toFixed(1)} of ${p.totalIsLimit ? 'at most ' : ''}${(p.totalMs / 1000).toFixed(1)} s`;
}
