// The harness's layout (docs/architecture.md): imports run one way, from cli/ down to the
// stage folders and core/; no import cycles; every file says at its top what it owns.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../harness/core/paths.js';

const HARNESS = join(ROOT, 'harness');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** file (relative to harness/) -> the harness files it imports (type-only imports too). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const f of files(HARNESS)) {
    const src = readFileSync(f, 'utf8');
    const deps = [...src.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)]
      .map((m) => relative(HARNESS, resolve(dirname(f), m[1]!.replace(/\.js$/, '.ts'))));
    graph.set(relative(HARNESS, f), deps);
  }
  return graph;
}

function findCycle(graph: Map<string, string[]>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | null => {
    if (state.get(n) === 'done') return null;
    if (state.get(n) === 'open') return [...stack.slice(stack.indexOf(n)), n];
    state.set(n, 'open');
    stack.push(n);
    for (const d of graph.get(n) ?? []) {
      const c = visit(d);
      if (c) return c;
    }
    stack.pop();
    state.set(n, 'done');
    return null;
  };
  for (const n of graph.keys()) {
    const c = visit(n);
    if (c) return c;
  }
  return null;
}

/** Which top-level folders each folder may import from (besides itself). */
const ALLOWED: Record<string, string[]> = {
  core: [],
  scenario: ['core', 'subject'],
  subject: ['core'],
  analysis: ['core', 'subject'],
  run: ['core', 'scenario', 'subject', 'analysis', 'report'],
  report: ['core', 'analysis', 'run', 'gate'],
  gate: ['core', 'analysis', 'scenario', 'subject', 'run', 'report'],
  detect: ['core', 'scenario', 'subject', 'analysis', 'run'],
  cli: ['core', 'scenario', 'subject', 'analysis', 'run', 'report', 'gate', 'detect'],
};

describe('harness layout', () => {
  const graph = importGraph();

  it('has no import cycle', () => {
    expect(findCycle(graph)).toBeNull();
  });

  it('imports run one way: each folder only from the folders below it', () => {
    const bad: string[] = [];
    for (const [file, deps] of graph) {
      const from = file.includes('/') ? file.split('/')[0]! : 'cli';
      for (const d of deps) {
        const to = d.split('/')[0]!;
        if (to !== from && !(ALLOWED[from] ?? []).includes(to)) bad.push(`${file} -> ${d}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('every file opens with a comment that says what it owns', () => {
    const missing = [...graph.keys()].filter((f) => !readFileSync(join(HARNESS, f), 'utf8').startsWith('//')
      && !readFileSync(join(HARNESS, f), 'utf8').startsWith('#!'));
    expect(missing).toEqual([]);
  });
});
