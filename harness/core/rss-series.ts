// A trial's statm RSS samples in memory: (time, RSS) pairs in fixed-size Float64Array
// chunks, 16 bytes a sample. A trial samples 100 times a second; as objects an hour of
// them held the harness's heap growing by about 1 MiB a minute, as columns it is 0.09
// (npm run bench -- memory). The rows themselves stream to samples.csv as they come.

const CHUNK = 4096;  // samples per chunk (64 KiB)

export interface RssPoints {
  readonly length: number;
  tAt(i: number): number;
  rssAt(i: number): number;
}

export class RssSeries implements RssPoints {
  private readonly chunks: Float64Array[] = [];
  private n = 0;

  get length(): number {
    return this.n;
  }

  push(tMs: number, rssBytes: number): void {
    const c = this.n % CHUNK;
    if (c === 0) this.chunks.push(new Float64Array(CHUNK * 2));
    const chunk = this.chunks[this.chunks.length - 1]!;
    chunk[c * 2] = tMs;
    chunk[c * 2 + 1] = rssBytes;
    this.n += 1;
  }

  tAt(i: number): number {
    return this.chunks[Math.floor(i / CHUNK)]![(i % CHUNK) * 2]!;
  }

  rssAt(i: number): number {
    return this.chunks[Math.floor(i / CHUNK)]![(i % CHUNK) * 2 + 1]!;
  }
}

/** The same view over sample objects (traces read back or built by hand). */
export function pointsOf(samples: ReadonlyArray<{ tMs: number; rssBytes: number }>): RssPoints {
  return { length: samples.length, tAt: (i) => samples[i]!.tMs, rssAt: (i) => samples[i]!.rssBytes };
}
