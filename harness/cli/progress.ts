// Progress on stderr while a run goes: a bar on a terminal, one line per phase otherwise.
import cliProgress from 'cli-progress';
import type { Progress } from '../run/runner.js';
import { formatMiB } from '../core/units.js';

export interface ProgressView {
  update(p: Progress): void;
  line(text: string): void;
  stop(): void;
}

export function progressView(stream: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean }): ProgressView {
  let lastKey = '';
  if ('isTTY' in stream && stream.isTTY) {
    const bar = new cliProgress.SingleBar({
      stream: stream as NodeJS.WriteStream,
      format: '{scenario} {variant} trial {trial}/{trials} [{bar}] {phase} {elapsed}/{total} s  RSS {rss} MiB',
      barsize: 24,
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
  return {
    update(p) {
      const key = `${p.scenario}/${p.variant}/${p.trial}/${p.phase}`;
      if (key === lastKey) return;
      lastKey = key;
      stream.write(`  ${p.scenario} ${p.variant} trial ${p.trial}/${p.trials}: ${p.phase} at ${(p.elapsedMs / 1000).toFixed(1)}/${(p.totalMs / 1000).toFixed(1)} s, RSS ${formatMiB(p.rssBytes)} MiB\n`);
    },
    line(text) {
      stream.write(text + '\n');
    },
    stop() {},
  };
}
