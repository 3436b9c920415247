// A series of values over time: what charts draw and the run folder's reader fills.

/** A series of values over time (ms), in time order. */
export interface Series {
  t: number[];
  v: number[];
}

export function emptySeries(): Series {
  return { t: [], v: [] };
}
