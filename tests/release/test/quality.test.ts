/**
 * Package quality of every published package, as users install it: publint (strict) and
 * arethetypeswrong on the tarball pnpm packs, what the tarball holds, and the manifest fields.
 */
import { beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DRIVERS, publishedPackages, root } from './packages';

const bin = (name: string) => path.join(__dirname, '..', 'node_modules', '.bin', name);
const packs = mkdtempSync(path.join(os.tmpdir(), 'sess-packs-'));
const tarballs: Record<string, string> = {};
/** Packages whose CommonJS export is a function carrying every export (built with --callable). */
const CALLABLE = new Set(['@sess/core', '@sess/fastify', '@sess/koa', '@sess/hono']);

beforeAll(() => {
  for (const p of publishedPackages()) {
    const before = new Set(readdirSync(packs));
    execFileSync('pnpm', ['pack', '--pack-destination', packs], { cwd: p.dir, stdio: 'pipe' });
    const made = readdirSync(packs).find((f) => !before.has(f));
    tarballs[p.name] = path.join(packs, made!);
  }
}, 120_000);

for (const p of publishedPackages()) {
  describe(p.name, () => {
    test('publint --strict is clean', () => {
      const r = spawnSync(bin('publint'), [p.dir, '--strict', '--pack', 'pnpm'], { encoding: 'utf8' });
      const out = r.stdout + r.stderr;
      expect({ status: r.status, problems: /(Errors|Warnings|Suggestions):/.test(out) ? out : '' }).toEqual({ status: 0, problems: '' });
    }, 60_000);

    test('arethetypeswrong finds no problem for require, import and bundlers', () => {
      // false-export-default: the CommonJS entry assigns module.exports (so require() returns the callable
      // session(), or the Fastify plugin as Fastify plugins are required) and also carries `default` and
      // `__esModule`, which attw's static check cannot see; test/modules.test.ts in each package proves
      // `require(name).default` at run time.
      const callable = CALLABLE.has(p.name);
      const ignore = callable ? ['--ignore-rules', 'false-export-default'] : [];
      const r = spawnSync(bin('attw'), [tarballs[p.name]!, '--format', 'json', ...ignore], { encoding: 'utf8' });
      const report = JSON.parse(r.stdout);
      const problems = (report.analysis?.problems ?? []).filter((x: { kind: string }) => !(callable && x.kind === 'FalseExportDefault'));
      expect(problems).toEqual([]);
      expect(r.status).toBe(0);
    }, 120_000);

    test('the tarball ships only what is needed', () => {
      const files = execFileSync('tar', ['tzf', tarballs[p.name]!], { encoding: 'utf8' }).trim().split('\n').map((f) => f.replace(/^package\//, ''));
      expect(files).toContain('package.json');
      expect(files).toContain('README.md');
      expect(files).toContain('LICENSE');
      expect(files).toContain('dist/entry.js');
      expect(files).toContain('dist/entry.mjs');
      const unexpected = files.filter((f) => !/^(package\.json|README\.md|LICENSE|CHANGELOG\.md|dist\/[\w./-]+\.(js|mjs|d\.ts|d\.mts)|bin\/[\w.-]+\.js|jest\.js|jest\.d\.ts)$/.test(f));
      expect(unexpected).toEqual([]);
      expect(files.filter((f) => /\.map$|^src\/|^test\//.test(f))).toEqual([]);
      const js = execFileSync('tar', ['xzOf', tarballs[p.name]!, '--wildcards', 'package/dist/*'], { encoding: 'utf8', maxBuffer: 64 << 20 });
      expect(js).not.toContain('sourceMappingURL');
    });

    test('manifest: engines, repository.directory, license, sideEffects, type, peer ranges', () => {
      const m = JSON.parse(execFileSync('tar', ['xzOf', tarballs[p.name]!, 'package/package.json'], { encoding: 'utf8' }));
      expect(m.engines).toEqual({ node: '>=20' });
      expect(m.repository).toEqual({ type: 'git', url: 'git+https://github.com/sess-js/sess.git', directory: path.relative(root, p.dir) });
      expect(m.license).toBe('MIT');
      expect(m.sideEffects).toBe(false);
      expect(m.type).toBe('commonjs');
      expect(m.publishConfig).toBeUndefined();
      // No workspace: protocol survives packing.
      expect(JSON.stringify(m)).not.toContain('workspace:');
      if (p.name.startsWith('@sess/store-')) {
        // A core minor release (0.x) stays in range: it does not force a release of every store.
        expect(m.peerDependencies['@sess/core']).toBe('>=0.1.0 <1.0.0');
        expect(m.dependencies?.['@sess/core']).toBeUndefined();
      }
      const driver = DRIVERS[p.name];
      if (driver) {
        expect(m.peerDependencies[driver]).toMatch(/^\^\d/);
        expect(m.dependencies?.[driver]).toBeUndefined();
      }
      if (p.name === '@sess/core') expect(m.peerDependencies.express).toBe('^4.17.0 || ^5.0.0');
    });
  });
}
