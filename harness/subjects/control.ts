// The control channel of a subject (the relay's admin port, or the probe's in a target):
// its `release` command as a trace event, with every allocator call it reports
// (native/PROTOCOL.md: one reply shape for the relay and the probe).
import type { AdminClient } from './protocol/client.js';
import type { ReleaseCall, ReleaseEvent, TraceEvent } from '../core/types.js';

/** The admin channel's `release` (the relay's, or the probe's in a target), as an event. */
export async function adminRelease(admin: AdminClient, elapsed: () => number, event: (e: TraceEvent) => void, timeoutMs = 60_000): Promise<ReleaseEvent> {
  const tMs = elapsed();
  let e: ReleaseEvent;
  try {
    const r = await admin.command<Record<string, unknown>>('release', timeoutMs);
    e = {
      type: 'release', tMs, ok: r.ok === true, releaseMs: numOrNull(r.release_ms),
      rssBeforeBytes: numOrNull(r.rss_before_bytes), rssAfterBytes: numOrNull(r.rss_after_bytes),
      call: typeof r.call === 'string' ? r.call : null, ...(r.ok === true ? {} : { error: String(r.error) }),
      ...(Array.isArray(r.calls) ? { calls: r.calls.map(parseReleaseCall) } : {}),
    };
  } catch (err) {
    e = { type: 'release', tMs, ok: false, releaseMs: null, rssBeforeBytes: null, rssAfterBytes: null, call: null, error: (err as Error).message };
  }
  event(e);
  return e;
}

/** One entry of a release reply's `calls` (native/PROTOCOL.md). */
function parseReleaseCall(raw: Record<string, unknown>): ReleaseCall {
  return {
    thread: String(raw.thread), ...(typeof raw.worker === 'number' ? { worker: raw.worker } : {}),
    tid: Number(raw.tid), mainThread: raw.main_thread === true, call: String(raw.call),
    rc: numOrNull(raw.rc), ok: raw.ok === true, ms: Number(raw.ms),
    ...(typeof raw.error === 'string' ? { error: raw.error } : {}),
  };
}

export function numOrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}
