// What each leak checker printed at exit, read from its own text output. Pure functions,
// tested on output captured from real runs (test/fixtures/detect/).

/** Bytes and blocks (memcheck) / objects (gperftools) / allocations (LSan). */
export interface Amount {
  bytes: number;
  blocks: number;
}

export interface ToolReport {
  /** The tool printed its end-of-run leak report (false: it never got to, e.g. killed). */
  reported: boolean;
  definitelyLost: Amount | null;
  indirectlyLost: Amount | null;
  possiblyLost: Amount | null;
  stillReachable: Amount | null;
  /** What the tool itself calls a leak: memcheck definitely + indirectly lost; gperftools
   * "detected leaks of"; LSan's SUMMARY (direct + indirect). Zero when it found none. */
  leaked: Amount | null;
  /** The tool's own one-line conclusion, as printed. */
  headline: string;
}

const num = (s: string): number => Number(s.replace(/,/g, ''));

function empty(reported: boolean, headline: string): ToolReport {
  return { reported, definitelyLost: null, indirectlyLost: null, possiblyLost: null, stillReachable: null, leaked: null, headline };
}

/** valgrind memcheck's text output (--leak-check=full): the LEAK SUMMARY, or "All heap
 * blocks were freed". */
export function parseMemcheck(text: string): ToolReport {
  const line = (kind: string): Amount | null => {
    const m = new RegExp(`==\\d+==\\s+${kind}: ([\\d,]+) bytes in ([\\d,]+) blocks`).exec(text);
    return m ? { bytes: num(m[1]!), blocks: num(m[2]!) } : null;
  };
  if (/All heap blocks were freed -- no leaks are possible/.test(text)) {
    const zero = { bytes: 0, blocks: 0 };
    return { reported: true, definitelyLost: zero, indirectlyLost: zero, possiblyLost: zero, stillReachable: zero, leaked: zero, headline: 'All heap blocks were freed -- no leaks are possible' };
  }
  if (!/LEAK SUMMARY:/.test(text)) return empty(false, 'no LEAK SUMMARY (valgrind did not reach the end of the program)');
  const definitelyLost = line('definitely lost');
  const indirectlyLost = line('indirectly lost');
  const possiblyLost = line('possibly lost');
  const stillReachable = line('still reachable');
  const leaked = {
    bytes: (definitelyLost?.bytes ?? 0) + (indirectlyLost?.bytes ?? 0),
    blocks: (definitelyLost?.blocks ?? 0) + (indirectlyLost?.blocks ?? 0),
  };
  const headline = `definitely lost ${definitelyLost?.bytes ?? 0} B, indirectly lost ${indirectlyLost?.bytes ?? 0} B, `
    + `possibly lost ${possiblyLost?.bytes ?? 0} B, still reachable ${stillReachable?.bytes ?? 0} B`;
  return { reported: true, definitelyLost, indirectlyLost, possiblyLost, stillReachable, leaked, headline };
}

/** gperftools' heap checker (HEAPCHECK=normal|draconian) at exit: "No leaks found for
 * check "_main_" ... found N reachable heap objects of B bytes" or "Leak check _main_
 * detected leaks of B bytes in N objects". */
export function parseHeapCheck(text: string): ToolReport {
  const none = /No leaks found for check "_main_"[^\n]*/.exec(text);
  if (none) {
    const reach = /found ([\d,]+) reachable heap objects of ([\d,]+) bytes/.exec(none[0]);
    return {
      ...empty(true, none[0].replace(/ \(but no 100% guarantee that there aren't any\)/, '')),
      leaked: { bytes: 0, blocks: 0 },
      stillReachable: reach ? { bytes: num(reach[2]!), blocks: num(reach[1]!) } : null,
    };
  }
  const leak = /Leak check _main_ detected leaks of ([\d,]+) bytes in ([\d,]+) objects/.exec(text);
  if (leak) return { ...empty(true, leak[0]), leaked: { bytes: num(leak[1]!), blocks: num(leak[2]!) } };
  return empty(false, 'no heap-check result (the check at exit did not run)');
}

/** LeakSanitizer (an -fsanitize=address build) at exit: "Direct leak of ..." / "Indirect
 * leak of ..." records and a SUMMARY line; nothing at all when it found no leak, so
 * `exitedNormally` (the process ended by exit(), where LSan's check runs) tells a clean
 * check from none. */
export function parseLsan(all: string, exitedNormally: boolean): ToolReport {
  // The leak check asked for before the stop (`leak-check`) and the one at exit report the
  // same leaks twice: the last complete report is read.
  const reports = all.split(/^(?==+\d*=+ERROR: LeakSanitizer: detected memory leaks)/m);
  const text = reports.filter((r) => /SUMMARY: AddressSanitizer: \d+ byte/.test(r)).at(-1) ?? all;
  const sum = (kind: 'Direct' | 'Indirect'): Amount => {
    let bytes = 0;
    let blocks = 0;
    for (const m of text.matchAll(new RegExp(`^${kind} leak of (\\d+) byte\\(s\\) in (\\d+) object\\(s\\)`, 'gm'))) {
      bytes += Number(m[1]);
      blocks += Number(m[2]);
    }
    return { bytes, blocks };
  };
  const summary = /SUMMARY: AddressSanitizer: (\d+) byte\(s\) leaked in (\d+) allocation\(s\)\./.exec(text);
  if (summary) {
    return {
      ...empty(true, summary[0]),
      definitelyLost: sum('Direct'),
      indirectlyLost: sum('Indirect'),
      leaked: { bytes: Number(summary[1]), blocks: Number(summary[2]) },
    };
  }
  if (/ERROR: LeakSanitizer/.test(text)) return empty(false, (/ERROR: LeakSanitizer[^\n]*/.exec(text) ?? [''])[0]);
  if (!exitedNormally) return empty(false, 'no LeakSanitizer check (the process did not end by exit())');
  const zero = { bytes: 0, blocks: 0 };
  return { ...empty(true, 'no leaks reported'), definitelyLost: zero, indirectlyLost: zero, leaked: zero };
}
