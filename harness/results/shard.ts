// Sharding: the scenario x trial x variant matrix split into n deterministic slices, one
// per CI job (`--shard i/n`), joined again with `lab merge`. Pure functions.

/** Slice `index` (1-based) of `count`. */
export interface Shard {
  index: number;
  count: number;
}

/** One cell of the matrix: one trial of one scenario on one variant. */
export interface Cell {
  scenario: string;
  trial: number;
  variant: string;
}

/** Parses "i/n" (1 <= i <= n); undefined when the text is not a shard. */
export function parseShard(text: string): Shard | undefined {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) return undefined;
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(count) || count < 1 || index < 1 || index > count) return undefined;
  return { index, count };
}

/** The matrix in the order a run walks it: scenario, then trial, then variant. */
export function runMatrix(scenarios: ReadonlyArray<{ name: string; trials: number }>, variants: readonly string[]): Cell[] {
  return scenarios.flatMap((s) =>
    Array.from({ length: s.trials }, (_, t) => variants.map((variant) => ({ scenario: s.name, trial: t + 1, variant }))).flat());
}

/** The cells of one shard: every n-th cell of the matrix, starting at the i-th. Round robin
 * keeps the shards within one cell of each other in size; the same inputs always give the
 * same slice, and the n slices together are the whole matrix, each cell once. */
export function shardMatrix<T>(cells: readonly T[], shard: Shard | undefined): T[] {
  if (!shard) return [...cells];
  return cells.filter((_, i) => i % shard.count === shard.index - 1);
}

export function cellKey(c: Cell): string {
  return `${c.scenario}\u0000${c.variant}\u0000${c.trial}`;
}

export function formatShard(s: Shard): string {
  return `${s.index}/${s.count}`;
}
