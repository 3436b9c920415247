// Growth profiles, the pure part: parsing real jeprof / google-pprof output (fixtures from a
// `lab run --scenario leak --quick --profile` of this relay), finding the site of a stack,
// the growth table, the medians over trials, and the forecast arithmetic.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  forecast, formatBinary, formatCount, formatDuration, frameName, growthFromStacks, medianGrowth, parseCollapsed, parseProfileText, siteOf,
} from '../../../harness/analysis/growth.js';
import { ROOT } from '../../../harness/core/paths.js';

const fixture = (name: string) => readFileSync(join(ROOT, 'test', 'fixtures', 'profiles', name), 'utf8');

describe('parseProfileText', () => {
  it('reads the total and every row of a --text --show_bytes diff, negative rows included', () => {
    const p = parseProfileText(fixture('tcmalloc-leak-diff.txt'));
    expect(p.unit).toBe('bytes');
    expect(p.total).toBe(32450559);
    expect(p.lines[0]).toEqual({ site: 'leaklab::Relay::PendingTable::Leak (inline)', flat: 33532244, cum: 33532244 });
    expect(p.lines.some((l) => l.flat < 0)).toBe(true);
  });
  it('throws, quoting the output, on text that is not a profile', () => {
    expect(() => parseProfileText('Usage: jeprof <options>')).toThrow(/no "Total:" line.*Usage: jeprof/);
  });
  it('reads a net change of exactly 0, which the tools print without a "Total:" line', () => {
    // jeprof on a drained burst's pair (a real diff): growth and shrinkage cancel, the rows' percentages are nan/inf.
    const p = parseProfileText(fixture('jemalloc-burst-net0-diff.txt'));
    expect(p.total).toBe(0);
    expect(p.lines.find((l) => l.site === 'leaklab::Connection::Enqueue')).toEqual({ site: 'leaklab::Connection::Enqueue', flat: 0, cum: 524544 });
    // Identical sampled contents: the tools print nothing at all.
    expect(parseProfileText('')).toEqual({ total: 0, unit: 'bytes', lines: [] });
    expect(() => parseProfileText('       0    nan    nan  -524544   -inf f\nSomething else')).toThrow(/no "Total:" line/);
  });
});

describe('frameName and siteOf', () => {
  it('strips the address, [inline], arguments, templates and the return type', () => {
    expect(frameName('leaklab::Relay::OnClientFrame(leaklab::Relay::Worker&, unsigned long, char*)<0000000000011570>')).toBe('leaklab::Relay::OnClientFrame');
    expect(frameName('std::pair<std::__detail::_Node_iterator<int>, bool> std::unordered_map<unsigned long, int>::emplace<unsigned long&>(unsigned long&)[inline]')).toBe('std::unordered_map::emplace');
    expect(frameName('std::error_code::default_error_condition() const@@GLIBCXX_3.4.11<00000000000d4470>')).toBe('std::error_code::default_error_condition');
  });
  it('skips the allocator and std:: plumbing to the program\'s own frame', () => {
    expect(siteOf(['main<0000000000001000>', 'leaklab::Relay::OnClientFrame(int)<0000000000011570>', 'std::unordered_map<int>::emplace(int)[inline]', 'std::__new_allocator<int>::allocate(unsigned long)[inline]', 'malloc_usable_size<0000000000031b30>'])).toBe('leaklab::Relay::OnClientFrame');
    expect(siteOf(['malloc<0000000000031b30>'])).toBe('malloc');
  });
});

describe('growthFromStacks on real diffs of the leak scenario', () => {
  it.each(['jemalloc', 'tcmalloc'])('%s: PendingTable::Leak holds most of the growth', (allocator) => {
    const g = growthFromStacks(parseCollapsed(fixture(`${allocator}-leak-collapsed.txt`)), null);
    expect(g.sites[0]!.site).toBe('leaklab::Relay::PendingTable::Leak');
    expect(g.sites[0]!.share).toBeGreaterThan(0.9);
    expect(g.sites.reduce((a, s) => a + s.share, 0)).toBeCloseTo(1, 6);
    expect(g.grownBytes).toBeGreaterThan(16 * 1024 * 1024);
  });
  it('counts objects from the objects diff and ignores sites that shrank', () => {
    const bytes = parseCollapsed('a;f 100\na;g 300\na;h -50\n');
    const objects = parseCollapsed('a;f 2\na;g 3\n');
    expect(growthFromStacks(bytes, objects)).toEqual({
      grownBytes: 400,
      sites: [{ site: 'g', bytes: 300, share: 0.75, objects: 3 }, { site: 'f', bytes: 100, share: 0.25, objects: 2 }],
    });
  });
});

describe('medianGrowth', () => {
  it('takes each site\'s median over trials (absent = 0) and re-takes the shares', () => {
    const t = (f: number, g: number) => [{ site: 'f', bytes: f, share: 0, objects: 1 }, { site: 'g', bytes: g, share: 0, objects: null }];
    const m = medianGrowth([t(100, 10), t(300, 30), [{ site: 'f', bytes: 200, share: 1, objects: 3 }]]);
    expect(m).toEqual([{ site: 'f', bytes: 200, share: 200 / 210, objects: 1 }, { site: 'g', bytes: 10, share: 10 / 210, objects: null }]);
  });
});

describe('forecast', () => {
  it('(limit - start) / (bytes per request x rate)', () => {
    const f = forecast({ bytesPerRequest: 1.6 * 1024, rateRps: 2000, limitBytes: 16 * 1024 ** 3, startBytes: 0 });
    expect(f.secondsToLimit).toBeCloseTo((16 * 1024 ** 3) / (1.6 * 1024 * 2000), 6);  // 5242.88 s
    expect(f.text).toBe('1.6 KiB/request: at 2,000 req/s the limit of 16 GiB is reached in 1 h 27 min');
  });
  it('counts from the start bytes, and says so when there is no growth or no room', () => {
    expect(forecast({ bytesPerRequest: 1024, rateRps: 1, limitBytes: 2048 + 1024 * 90, startBytes: 2048 }).text).toBe('1 KiB/request: at 1 req/s the limit of 92 KiB is reached in 1 min 30 s');
    const none = forecast({ bytesPerRequest: 0, rateRps: 100, limitBytes: 1024, startBytes: 0 });
    expect(none.secondsToLimit).toBeNull();
    expect(none.text).toMatch(/is never reached$/);
    expect(forecast({ bytesPerRequest: 1, rateRps: 1, limitBytes: 10, startBytes: 20 }).secondsToLimit).toBe(0);
  });
  it('formats durations and sizes', () => {
    expect(formatDuration(45)).toBe('45 s');
    expect(formatDuration(3 * 86400 + 2 * 3600 + 59)).toBe('3 d 2 h');
    expect(formatDuration(3600)).toBe('1 h');
    expect(formatBinary(16 * 1024 ** 3)).toBe('16 GiB');
    expect(formatBinary(1638)).toBe('1.6 KiB');
  });
});

describe('parseProfileText, line by line', () => {
  it('reads a total in objects (--inuse_objects)', () => {
    expect(parseProfileText('Total: 1234 objects\n     100  50.0%  50.0%      100  50.0% leaklab::f\n')).toEqual({
      total: 1234, unit: 'objects', lines: [{ site: 'leaklab::f', flat: 100, cum: 100 }],
    });
  });
  it('trims a row\'s site and skips other lines around the total', () => {
    const text = 'Using local file ./relay.\nUsing local file heap.0002.\nTotal: 300 B\n     300 100.0% 100.0%      300 100.0% leaklab::Relay::Leak   \n\n   \n';
    expect(parseProfileText(text)).toEqual({ total: 300, unit: 'bytes', lines: [{ site: 'leaklab::Relay::Leak', flat: 300, cum: 300 }] });
  });
  it('takes blank lines alone as a net change of 0', () => {
    expect(parseProfileText('\n   \n')).toEqual({ total: 0, unit: 'bytes', lines: [] });
  });
  it('quotes at most the first 200 characters of what is not a profile', () => {
    const text = `jeprof: ${'x'.repeat(300)}`;
    expect(() => parseProfileText(text)).toThrow(`not a --text profile (no "Total:" line): ${JSON.stringify(text.slice(0, 200))}`);
    expect(() => parseProfileText(text)).not.toThrow('x'.repeat(201));
  });
});

describe('parseCollapsed, line by line', () => {
  it('reads frames and an amount separated by one or more spaces, decimals and negatives included', () => {
    expect(parseCollapsed('a;f  12\na;g 1.25\na;h -50 \nnot a stack\na;i 12 extra\n')).toEqual([
      { frames: ['a', 'f'], value: 12 }, { frames: ['a', 'g'], value: 1.25 }, { frames: ['a', 'h'], value: -50 },
    ]);
  });
});

describe('frameName, more forms', () => {
  it('strips nested arguments from the outermost parenthesis', () => {
    expect(frameName('leaklab::Pool::Run(std::function<void (int)>&)')).toBe('leaklab::Pool::Run');
    expect(frameName('leaklab::Pool::Run(std::function<void(int)>&)')).toBe('leaklab::Pool::Run');
  });
  it('keeps comparison operators, which are not templates', () => {
    expect(frameName('leaklab::Key::operator<(leaklab::Key const&) const')).toBe('leaklab::Key::operator<');
    expect(frameName('leaklab::Key::operator>(leaklab::Key const&) const')).toBe('leaklab::Key::operator>');
  });
  it('ignores spaces around the frame', () => {
    expect(frameName('  leaklab::Relay::Leak(int)  ')).toBe('leaklab::Relay::Leak');
  });
});

describe('siteOf, the ends of a stack', () => {
  it('reaches the root frame when every other frame is plumbing', () => {
    expect(siteOf(['main<0000000000001000>', 'std::__new_allocator<int>::allocate(unsigned long)[inline]', 'malloc'])).toBe('main');
  });
  it('an empty stack has no site', () => {
    expect(siteOf([])).toBe('(unknown)');
  });
});

describe('growthFromStacks, limits', () => {
  it('keeps the top sites only, counts all growth, and leaves out sites that did not grow', () => {
    const g = growthFromStacks(parseCollapsed('a;f 100\na;g 300\na;h 0\na;k 100\n'), null, 1);
    expect(g).toEqual({ grownBytes: 500, sites: [{ site: 'g', bytes: 300, share: 0.6, objects: null }] });
  });
  it('a site whose net growth is 0 did not grow', () => {
    expect(growthFromStacks(parseCollapsed('a;f 100\na;h 0\n'), null).sites.map((x) => x.site)).toEqual(['f']);
  });
  it('a site whose objects shrank counts 0 objects', () => {
    expect(growthFromStacks(parseCollapsed('a;f 100\n'), parseCollapsed('a;f -2\n')).sites[0]!.objects).toBe(0);
  });
});

describe('medianGrowth, more trials', () => {
  it('no trials: no table; one trial: its table as it is, cut to the top', () => {
    expect(medianGrowth([])).toEqual([]);
    const one = [{ site: 'f', bytes: 100, share: 0.4, objects: 1 }, { site: 'g', bytes: 0, share: 0, objects: null }];
    expect(medianGrowth([one])).toEqual(one);
    expect(medianGrowth([one], 1)).toEqual([one[0]]);
  });
  it('over two trials, the mean of the two; largest first; sites with a median of 0 left out', () => {
    const site = (s: string, bytes: number, objects: number | null = null) => ({ site: s, bytes, share: 0, objects });
    const m = medianGrowth([[site('small', 10, 1), site('big', 100, 5), site('once', 50)], [site('small', 30, 3), site('big', 300, null)]]);
    // small: (10 + 30) / 2 = 20, objects (1 + 3) / 2; big: 200, objects from the one trial that has them; once: (50 + 0) / 2 = 25.
    expect(m).toEqual([
      { site: 'big', bytes: 200, share: 200 / 245, objects: 5 },
      { site: 'once', bytes: 25, share: 25 / 245, objects: null },
      { site: 'small', bytes: 20, share: 20 / 245, objects: 2 },
    ]);
    expect(medianGrowth([[site('small', 10), site('big', 100)], [site('small', 30), site('big', 300)]], 1).map((r) => r.site)).toEqual(['big']);
    // Over three trials a site present in one has a median of 0: left out.
    expect(medianGrowth([[site('f', 100)], [site('g', 10)], [site('g', 30)]]).map((r) => r.site)).toEqual(['g']);
  });
});

describe('formats', () => {
  it('formatCount: whole numbers with thousands separators, one decimal below 10', () => {
    expect([formatCount(3), formatCount(9.25), formatCount(12.5), formatCount(1234.5)]).toEqual(['3', '9.3', '13', '1,235']);
  });
  it('formatBinary: bytes as a whole number, then binary units up to TiB', () => {
    expect(formatBinary(999.6)).toBe('1000 B');
    expect(formatBinary(1536)).toBe('1.5 KiB');
    expect(formatBinary(2 * 1024 ** 4)).toBe('2 TiB');
    expect(formatBinary(5 * 1024 ** 5)).toBe('5120 TiB');
  });
  it('formatDuration: seconds under a minute, then the two largest units', () => {
    expect([formatDuration(0), formatDuration(59.4), formatDuration(60), formatDuration(3 * 3600 + 5)]).toEqual(['0 s', '59 s', '1 min', '3 h']);
  });
});

describe('frame names that hold a space or a clone suffix (bugs found by mutation testing)', () => {
  it('keeps "operator new" whole, so it is plumbing and not a site', () => {
    expect(frameName('operator new(unsigned long)')).toBe('operator new');
    expect(frameName('operator delete[](void*)')).toBe('operator delete[]');
    expect(siteOf(['main', 'leaklab::Cache::Put(int)', 'operator new(unsigned long)', 'malloc'])).toBe('leaklab::Cache::Put');
  });
  it('keeps "(anonymous namespace)" whole, and drops a [clone ...] suffix', () => {
    expect(frameName('(anonymous namespace)::Cache::Put(int)')).toBe('(anonymous namespace)::Cache::Put');
    expect(frameName('leaklab::f(int) [clone .cold]')).toBe('leaklab::f');
    expect(frameName('void leaklab::g<int>(int) [clone .isra.0]')).toBe('leaklab::g');
  });
});
