// Builds @sess/core as it was at an earlier commit (default: the last one before the tracing channels) into
// packages/core/.baseline/<rev>/ (ignored by git), where it finds core's own dependencies, and prints the path
// of its CommonJS entry. The "-before-channels" variants run it as their baseline, so the bench compares
// today's core with no subscriber against the core that had no channels at all.
//   node src/baseline-core.mjs [rev]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BEFORE_CHANNELS = '01e3ae8';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The built entry of core at `rev` (built on first use). */
export function baselineCore(rev = process.env.SESS_BENCH_BASELINE_REV ?? BEFORE_CHANNELS) {
  const full = execFileSync('git', ['rev-parse', '--short', rev], { cwd: root, encoding: 'utf8' }).trim();
  const out = path.join(root, 'packages', 'core', '.baseline', full);
  const entry = path.join(out, 'dist', 'index.js');
  if (existsSync(entry)) return entry;
  const src = path.join(out, 'tree');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(src, { recursive: true });
  const tar = execFileSync('git', ['archive', full, 'tsconfig.base.json', 'packages/core/src', 'packages/core/tsconfig.build.json'], { cwd: root, maxBuffer: 64 << 20 });
  execFileSync('tar', ['-x', '-C', src], { input: tar });
  const tsc = createRequire(path.join(root, 'packages', 'core', 'package.json')).resolve('typescript/bin/tsc');
  // Compiled against today's node_modules of core (the same dependency versions the app runs).
  execFileSync(process.execPath, [tsc, '-p', path.join(src, 'packages', 'core', 'tsconfig.build.json'), '--outDir', path.join(out, 'dist'), '--rootDir', path.join(src, 'packages', 'core', 'src'), '--typeRoots', path.join(root, 'node_modules', '@types')], { stdio: 'inherit' });
  rmSync(src, { recursive: true, force: true });
  return entry;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(baselineCore(process.argv[2]));
