// The growth profile's flame graph (harness/report/flame.ts) on hand-built collapsed stacks:
// the call tree's sums, what is left out (shrinking stacks, frames under 0.5%), and the HTML
// widths and titles.
import { describe, expect, it } from 'vitest';
import { flameHtml, flameTree } from '../../../harness/report/flame.js';

const MiB = 1024 * 1024;
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const STACKS = [
  { frames: ['main', 'Relay::Serve', 'PendingTable::Leak', 'operator new(unsigned long)'], value: 60 * MiB },
  { frames: ['main', 'Relay::Serve', 'Codec::Decode'], value: 20 * MiB },
  { frames: ['main', 'Logger::Log'], value: 20 * MiB },
  { frames: ['main', 'Cache::Evict'], value: -50 * MiB },
  { frames: ['main', 'tiny'], value: 0.4 * MiB },
];

describe('flameTree', () => {
  it('sums what grew under each frame, largest child first; shrinking stacks are left out', () => {
    const t = flameTree(STACKS);
    expect(t.bytes).toBe(100.4 * MiB);
    const main = t.children[0]!;
    expect(main.name).toBe('main');
    expect(main.children.map((c) => [c.name, c.bytes / MiB])).toEqual([['Relay::Serve', 80], ['Logger::Log', 20], ['tiny', 0.4]]);
    expect(main.children[0]!.children.map((c) => c.name)).toEqual(['PendingTable::Leak', 'Codec::Decode']);
  });
});

describe('flameHtml', () => {
  it('draws each frame as wide as its share of its parent, with its name and size in the title', () => {
    const h = flameHtml(STACKS, esc);
    expect(h).toContain('<div class="flame-node" style="width:79.68%"><div class="flame-frame" title="Relay::Serve: 80.0 MiB (79.7%)">Relay::Serve</div>');
    expect(h).toContain('title="PendingTable::Leak: 60.0 MiB (59.8%)"');
    expect(h).toContain('title="operator new: 60.0 MiB (59.8%)"');
    // 0.4 of 100.4 MiB is under 0.5%: left out; the shrinking stack never enters.
    expect(h).not.toContain('tiny');
    expect(h).not.toContain('Cache::Evict');
  });

  it('nothing grew: no graph', () => {
    expect(flameHtml([{ frames: ['main'], value: -1 }], esc)).toBe('');
  });
});
