// The native allocator layer's layout (docs/native.md, "The allocator layer"): each
// allocator has its file in native/src/alloc/, and no allocator API name appears in more
// than one source file under native/src: the relays, the probe and the inspector reach an
// allocator through its file only, so its calls and counter formulas cannot drift apart
// again. Plain text: comments are left out (they may name what a file does not call).
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../harness/core/paths.js';
import { ALLOCATORS } from '../../harness/core/types.js';

const SRC = join(ROOT, 'native', 'src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : /\.(cc|h|S)$/.test(n) ? [p] : [];
  });
}

const withoutComments = (text: string): string => text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, '');

// The allocators' own API, function by function (a family: every name it matches).
// mallopt is left out: the upstream (upstream_main.cc) tunes its own glibc with it, apart
// from the allocator under test.
const API = new RegExp('\\b(' + [
  'mallinfo2?', 'malloc_info', 'malloc_trim', 'malloc_stats', 'gnu_get_libc_version',
  'MallocExtension\\w*', 'tc_version', 'tc_malloc\\w*', 'HeapProfiler\\w*', 'GetHeapProfile', 'IsHeapProfilerRunning',
  'mallctl\\w*', 'je_mallctl',
  'mi_collect', 'mi_process_info', 'mi_stats_\\w+', 'mi_version', 'mi_option_\\w+', 'mi_is_in_heap_region',
  '__sanitizer_\\w+',
].join('|') + ')\\b', 'g');

/** API name -> the files under native/src whose code names it. */
function apiNames(): Map<string, string[]> {
  const where = new Map<string, string[]>();
  for (const f of sources(SRC)) {
    const names = new Set([...withoutComments(readFileSync(f, 'utf8')).matchAll(API)].map((m) => m[1]!));
    for (const n of names) where.set(n, [...(where.get(n) ?? []), relative(ROOT, f)]);
  }
  return where;
}

describe('native/src/alloc/', () => {
  it.each([...ALLOCATORS, 'unknown'])('has %s.cc', (allocator) => {
    expect(existsSync(join(SRC, 'alloc', `${allocator}.cc`))).toBe(true);
  });

  it('names each allocator API function in one source file only', () => {
    const where = apiNames();
    expect(where.get('mallinfo2'), 'the pattern finds the API (sanity)').toEqual(['native/src/alloc/glibc.cc']);
    const shared = [...where].filter(([, files]) => files.length > 1).map(([n, files]) => `${n}: ${files.join(', ')}`);
    expect(shared).toEqual([]);
  });

  it('keeps each allocator\'s API in its own file', () => {
    const home: [RegExp, string][] = [
      [/^(mallinfo2?|malloc_info|malloc_trim|malloc_stats|gnu_get_libc_version)$/, 'glibc'],
      [/^(MallocExtension|tc_|HeapProfiler|GetHeapProfile|IsHeapProfilerRunning)/, 'tcmalloc'],
      [/^(mallctl|je_mallctl)/, 'jemalloc'],
      [/^mi_/, 'mimalloc'],
      [/^__sanitizer_/, 'unknown'],
    ];
    const astray: string[] = [];
    for (const [name, files] of apiNames()) {
      const allocator = home.find(([re]) => re.test(name))?.[1];
      for (const f of files) if (f !== `native/src/alloc/${allocator}.cc`) astray.push(`${name} in ${f}`);
    }
    expect(astray).toEqual([]);
  });
});
