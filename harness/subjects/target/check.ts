// Checks a target scenario before anything starts: every program it names (target,
// helpers, load and release commands) resolves to an executable file; the preload variants
// can take (not a static binary, not a binary that links another allocator); the allocator
// libraries, the probe and gdb (for attach) are there. Exit 2 naming the field, 3 naming
// the package. Returns the target's binary facts for run.json.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { execaSync } from 'execa';
import { LabError } from '../../core/errors.js';
import { BUILD_DIR } from '../../core/paths.js';
import type { Scenario } from '../../scenario/scenario.js';
import { type BinaryInfo, inspectBinary, resolveProgram } from './binary.js';
import { AS_BUILT, type Variant } from '../../allocators/variants.js';
import { allocatorLibrary, probeLibrary } from './preload.js';
import { attachHazard, ptraceObstacle } from './attach.js';

/** The programs a target scenario runs, with the field that names each. */
function programs(s: Scenario): Array<{ field: string; program: string; cwd: string | undefined }> {
  const t = s.target!;
  const out = [{ field: 'target.command[0]', program: t.command[0]!, cwd: t.cwd }];
  t.helpers.forEach((h, i) => out.push({ field: `target.helpers[${i}].command[0]`, program: h.command[0]!, cwd: h.cwd }));
  if (t.release.command) out.push({ field: 'target.release.command[0]', program: t.release.command[0]!, cwd: t.cwd });
  if (t.truth) out.push({ field: 'target.truth.command[0]', program: t.truth.command[0]!, cwd: t.cwd });
  s.phases.forEach((p, i) => {
    if (p.load?.mode === 'command') out.push({ field: `phases[${i}].load.command[0]`, program: p.load.argv[0]!, cwd: p.load.cwd });
  });
  const known = (x: string) => x.replaceAll('{lab_build}', BUILD_DIR);
  return out.map((p) => ({ ...p, program: known(p.program), cwd: p.cwd === undefined ? undefined : known(p.cwd) }));
}

/** Throws when `v` cannot take on the target `info` describes: exit 2 for a static binary or
 * one that links another allocator, exit 3 when the allocator's library is not installed. */
export function checkPreload(info: BinaryInfo, v: Variant): void {
  if (v.id === AS_BUILT || v.allocator === null) return;
  if (info.elf?.static === true) throw new LabError('preloadRefused', { variant: v.id, program: info.path, reason: 'it is statically linked, so LD_PRELOAD cannot replace its allocator' });
  const own = info.linkedAllocators.filter((a) => a !== v.allocator);
  if (own.length) throw new LabError('preloadRefused', { variant: v.id, program: info.path, reason: `it links its own allocator (lib${own[0]}), which would still serve its memory` });
  allocatorLibrary(v.allocator);  // exit 3 naming the package when it is not installed
}

/** `probe: false` skips the check that the probe is built (before the build has run). */
export function checkTarget(s: Scenario, file: string, variants: readonly Variant[], o: { probe?: boolean } = {}): BinaryInfo {
  for (const p of programs(s)) {
    // Placeholders in a program path ({run_dir}/x) are checked once filled, at run time.
    if (/[{}]/.test(p.program) || (p.cwd && /[{}]/.test(p.cwd))) continue;
    const cwd = resolve(p.cwd ?? '.');
    if (p.cwd && !existsSync(cwd)) throw new LabError('badTarget', { file, field: p.field.replace(/command\[0\]$/, 'cwd'), reason: `no such folder ${cwd}` });
    const r = resolveProgram(p.program, cwd);
    if (!r.path) throw new LabError('badTarget', { file, field: p.field, reason: `${r.reason}; give an executable program (a path, or a name on PATH)` });
  }
  const t = s.target!;
  const [main] = programs(s);
  const path = resolveProgram(main!.program, resolve(main!.cwd ?? '.')).path;
  if (!path) throw new LabError('badTarget', { file, field: 'target.command[0]', reason: `'${main!.program}' must name an executable file before run time (placeholders other than {lab_build} are not filled there)` });
  const info = inspectBinary(t.command[0]!, path);
  const staticBinary = info.elf?.static === true;
  if (staticBinary && t.release.method !== 'command') {
    throw new LabError('badTarget', { file, field: 'target.release.method', reason: `'${t.release.method}' needs the probe or a debugger in a dynamically linked program, and ${path} is statically linked; use method 'command'` });
  }
  for (const v of variants) checkPreload(info, v);
  if (!staticBinary && o.probe !== false) probeLibrary();  // exit 3 when the probe is not built
  if (t.release.method === 'attach') {
    let gdb = false;
    try {
      gdb = execaSync('sh', ['-c', 'command -v gdb'], { reject: false }).exitCode === 0;
    } catch {
      gdb = false;
    }
    if (!gdb) throw new LabError('missingPackage', { what: "target.release.method 'attach' needs gdb, which", pkg: 'gdb' });
    const hazard = attachHazard();
    if (hazard) throw new LabError('attachRefused', { pid: 0, reason: hazard });
    const obstacle = ptraceObstacle();
    if (obstacle) throw new LabError('ptraceDenied', { pid: 0, detail: obstacle });
  }
  return info;
}
