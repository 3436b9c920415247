// The growth profile as a flame graph in report.html (root at the top, an icicle, as pprof's
// flame view draws it): the collapsed stacks of what grew between the two heap dumps, each
// frame as wide as the bytes allocated under it. Self-contained HTML and CSS, no script:
// a frame's title gives its full name and bytes. Frames under 0.5% of the total are left out.
import { type Stack, frameName } from '../analysis/growth.js';
import { formatMiB } from '../core/units.js';

export interface FlameNode {
  name: string;
  bytes: number;
  children: FlameNode[];
}

/** The call tree of the stacks that grew (positive amounts only), children largest first. */
export function flameTree(stacks: readonly Stack[]): FlameNode {
  const root: FlameNode = { name: 'all', bytes: 0, children: [] };
  for (const s of stacks) {
    if (!(s.value > 0)) continue;
    root.bytes += s.value;
    let node = root;
    for (const f of s.frames) {
      const name = frameName(f);
      let child = node.children.find((c) => c.name === name);
      if (!child) node.children.push((child = { name, bytes: 0, children: [] }));
      child.bytes += s.value;
      node = child;
    }
  }
  const sort = (n: FlameNode) => { n.children.sort((a, b) => b.bytes - a.bytes); n.children.forEach(sort); };
  sort(root);
  return root;
}

const MIN_SHARE = 0.005;
const MAX_DEPTH = 40;

export function flameHtml(stacks: readonly Stack[], esc: (s: string) => string): string {
  const root = flameTree(stacks);
  if (root.bytes <= 0) return '';
  const node = (n: FlameNode, parent: number, depth: number): string => {
    if (n.bytes < MIN_SHARE * root.bytes || depth > MAX_DEPTH) return '';
    const kids = n.children.map((c) => node(c, n.bytes, depth + 1)).join('');
    return `<div class="flame-node" style="width:${((n.bytes / parent) * 100).toFixed(2)}%"><div class="flame-frame" title="${esc(n.name)}: ${formatMiB(n.bytes)} MiB (${((n.bytes / root.bytes) * 100).toFixed(1)}%)">${esc(n.name)}</div>${kids ? `<div class="flame-children">${kids}</div>` : ''}</div>`;
  };
  return `<div class="flame">${node(root, root.bytes, 0)}</div>`;
}
