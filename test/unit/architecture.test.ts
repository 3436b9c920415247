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

/** The stage folders from the bottom up (docs/architecture.md): each may import only from
 * the folders before it in this list, never from one after it. No exceptions. */
export const LAYERS = ['core', 'allocators', 'tooling', 'scenario', 'subjects', 'analysis', 'results', 'trial', 'run', 'gate', 'report', 'detect', 'inspect', 'cli'] as const;

describe('harness layout', () => {
  const graph = importGraph();

  it('has no import cycle', () => {
    expect(findCycle(graph)).toBeNull();
  });

  it('imports run one way: each folder only from the folders below it', () => {
    const layer = (file: string) => (LAYERS as readonly string[]).indexOf(file.includes('/') ? file.split('/')[0]! : 'cli');
    const bad: string[] = [];
    for (const [file, deps] of graph) {
      expect(layer(file), `${file} is in no layer`).toBeGreaterThanOrEqual(0);
      for (const d of deps) if (layer(d) > layer(file)) bad.push(`${file} -> ${d}`);
    }
    expect(bad).toEqual([]);
  });

  it('every file opens with a comment that says what it owns', () => {
    const missing = [...graph.keys()].filter((f) => !readFileSync(join(HARNESS, f), 'utf8').startsWith('//')
      && !readFileSync(join(HARNESS, f), 'utf8').startsWith('#!'));
    expect(missing).toEqual([]);
  });
});
