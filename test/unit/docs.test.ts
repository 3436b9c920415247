// The docs agree with the code: every command and flag `lab --help` lists is in its table
// in docs/cli.md (and the tables list nothing else), every bench and its flags are in
// docs/benches.md, every relative link in the Markdown resolves (file and #anchor), the
// README keeps its first screen, and nothing points outside the repository.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { execaSync } from 'execa';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildBenchProgram } from '../../bench/program.js';
import { buildProgram } from '../../harness/cli/program.js';
import { ROOT } from '../../harness/core/paths.js';

const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');
const DOCS = readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`);
const MARKDOWN = ['README.md', 'results/README.md', 'native/PROTOCOL.md', ...DOCS];

/** The lab's commands as --help shows them, without running anything. */
function labCommands(): readonly Command[] {
  const sink = { write: () => true };
  const noop = async () => 0;
  const { program } = buildProgram({ stdout: sink, stderr: sink }, {
    run: noop, build: noop, list: noop, admin: noop, gate: noop, merge: noop, report: noop, compare: noop, detect: noop,
  });
  return program.commands;
}

/** The long flags a command's --help lists (--help itself aside). */
function longFlags(cmd: Command): string[] {
  const help = cmd.helpInformation();
  const flags = cmd.options.map((o) => o.long).filter((f): f is string => !!f && f !== '--help');
  for (const f of flags) expect(help, `${cmd.name()} --help lists ${f}`).toContain(f);
  return flags;
}

/** Markdown sections: heading line -> body up to the next heading of the same or a higher level. */
function sections(md: string, level: number): Map<string, string> {
  const out = new Map<string, string>();
  const lines = stripFences(md).split('\n');
  const re = new RegExp(`^#{1,${level}} `);
  let head: string | null = null;
  let body: string[] = [];
  const flush = () => { if (head !== null) out.set(head, body.join('\n')); };
  for (const line of lines) {
    if (re.test(line)) {
      flush();
      head = line;
      body = [];
    } else body.push(line);
  }
  flush();
  return out;
}

/** Fenced code blocks blanked out (their lines kept, so nothing inside counts as Markdown). */
function stripFences(md: string): string {
  let inFence = false;
  return md.split('\n').map((line) => {
    if (/^\s*```/.test(line)) {
      inFence = !inFence;
      return '';
    }
    return inFence ? '' : line;
  }).join('\n');
}

/** The flags named in the first cell of a section's table rows: | `--flag <arg>` | ... */
function tableFlags(body: string): string[] {
  return [...body.matchAll(/^\| `(--[a-z][a-z-]*)/gm)].map((m) => m[1]!);
}

/** GitHub's heading anchors (github-slugger): lower case, punctuation dropped, spaces to dashes, -1/-2 for repeats. */
function anchors(md: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of stripFences(md).matchAll(/^#{1,6} (.+)$/gm)) {
    const text = m[1]!.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').trim();
    const base = text.toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

describe('docs/cli.md matches `lab --help`', () => {
  const cli = sections(read('docs/cli.md'), 2);
  const sectionOf = (name: string) => [...cli].find(([head]) => head.startsWith(`## \`lab ${name}`) && /^## `lab \S+[` ]/.test(head));

  it('has a section for every command', () => {
    const missing = labCommands().map((c) => c.name()).filter((n) => !sectionOf(n));
    expect(missing, 'commands without a "## `lab <command> ...`" section in docs/cli.md').toEqual([]);
  });

  it.each(labCommands().map((c) => [c.name(), c] as const))('%s: its flag table lists exactly the flags of --help, and its arguments', (name, cmd) => {
    const section = sectionOf(name);
    expect(section, `docs/cli.md has no section for \`lab ${name}\``).toBeDefined();
    const [, body] = section!;
    expect(new Set(tableFlags(body)), `docs/cli.md, \`lab ${name}\`: flag table vs --help`).toEqual(new Set(longFlags(cmd)));
    for (const arg of cmd.registeredArguments) {
      expect(body + section![0], `docs/cli.md, \`lab ${name}\`: argument <${arg.name()}>`).toContain(`<${arg.name()}`);
    }
  });

  it('the check can fail: a flag missing from a table is caught', () => {
    const cmd = labCommands().find((c) => c.name() === 'gate')!;
    const body = sectionOf('gate')![1].replace(/^\| `--json`.*$/m, '');
    expect(new Set(tableFlags(body))).not.toEqual(new Set(longFlags(cmd)));
  });
});

describe('docs/benches.md matches `npm run bench -- --help`', () => {
  const benches = sections(read('docs/benches.md'), 2);
  const commands = buildBenchProgram().commands;

  it('knows the benches', () => {
    expect(commands.map((c) => c.name())).toEqual(expect.arrayContaining(['native', 'harness', 'report', 'fuzz', 'repro', 'memory']));
  });

  it.each(commands.map((c) => [c.name(), c] as const))('%s: a section naming its command and every flag', (name, cmd) => {
    const body = benches.get(`## ${name}`);
    expect(body, `docs/benches.md has no "## ${name}" section`).toBeDefined();
    expect(body).toContain(`npm run bench -- ${name}`);
    for (const flag of longFlags(cmd)) expect(body, `docs/benches.md, ${name}: ${flag}`).toContain(flag);
  });
});

describe('links', () => {
  it('anchors are computed as GitHub does', () => {
    const a = anchors('# Title\n## `lab merge <run-dir...> --out <dir>`\n## CI gates\n## CI gates\n```\n# not a heading\n```\n');
    expect([...a]).toEqual(['title', 'lab-merge-run-dir---out-dir', 'ci-gates', 'ci-gates-1']);
  });

  it.each(MARKDOWN)('every relative link in %s resolves to a file and heading that exist', (file) => {
    const md = read(file);
    const broken: string[] = [];
    for (const m of stripFences(md).replace(/`[^`\n]*`/g, (s) => (s.includes('](') ? s : '')).matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/i.test(target)) continue;  // https:, mailto:
      const [path, anchor] = target.split('#') as [string, string | undefined];
      const abs = path === '' ? join(ROOT, file) : resolve(dirname(join(ROOT, file)), path);
      if (!abs.startsWith(ROOT + '/') && abs !== ROOT) broken.push(`${target} (outside the repository)`);
      else if (!existsSync(abs)) broken.push(`${target} (no such file)`);
      else if (anchor !== undefined && abs.endsWith('.md') && !anchors(readFileSync(abs, 'utf8')).has(anchor)) {
        broken.push(`${target} (no heading #${anchor} in ${relative(ROOT, abs)})`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('docs/architecture.md links every stage folder of harness/ and native/', () => {
    const md = read('docs/architecture.md');
    const folders = readdirSync(join(ROOT, 'harness')).filter((n) => statSync(join(ROOT, 'harness', n)).isDirectory());
    for (const f of [...folders.map((n) => `../harness/${n}/`), '../native/src/', '../native/PROTOCOL.md']) {
      expect(md, `docs/architecture.md links ${f}`).toContain(`](${f})`);
    }
  });
});

describe('the README', () => {
  const readme = read('README.md');
  const lines = readme.split('\n');

  it('fits a newcomer: at most about 250 lines, the two commands on the first screen', () => {
    expect(lines.length).toBeLessThanOrEqual(250);
    const firstScreen = lines.slice(0, 40).join('\n');
    expect(firstScreen).toContain('npm run setup && npm run lab -- --scenario burst');
    expect(firstScreen).toContain('npm test');
  });

  it('links every docs page', () => {
    for (const page of DOCS) expect(readme, `README links ${page}`).toContain(`](${page})`);
  });
});

describe('nothing points outside the repository', () => {
  it('no tracked file names the design notes that live outside it', () => {
    const files = execaSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: ROOT }).stdout.split('\n').filter((f) => f && existsSync(join(ROOT, f)));
    // Spelled in pieces so that this file does not match itself.
    const patterns = ['..' + '/shared', '/work' + '/shared', 'DESIGN' + '.md', 'STYLE' + '.md'];
    const hits: string[] = [];
    for (const f of files) {
      if (statSync(join(ROOT, f)).size > 2_000_000) continue;
      const text = readFileSync(join(ROOT, f), 'utf8');
      for (const p of patterns) if (text.includes(p)) hits.push(`${f}: ${p}`);
    }
    expect(hits).toEqual([]);
  });
});
