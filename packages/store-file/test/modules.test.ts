/** The built package loads from CommonJS and ESM, with one copy of itself and of core. */
import { expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

test('require() and import give the same FileStore, usable by core', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sess-file-mod-'));
  try {
    mkdirSync(path.join(dir, 'node_modules', '@sess'), { recursive: true });
    symlinkSync(path.join(__dirname, '..'), path.join(dir, 'node_modules', '@sess', 'store-file'), 'dir');
    symlinkSync(path.join(__dirname, '..', '..', 'core'), path.join(dir, 'node_modules', '@sess', 'core'), 'dir');
    writeFileSync(
      path.join(dir, 'app.mjs'),
      `import { FileStore } from '@sess/store-file';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
if (require('@sess/store-file').FileStore !== FileStore) throw new Error('two copies');
const store = new FileStore({ dir: ${JSON.stringify(path.join(dir, 's'))}, reapInterval: 0 });
await store.set('abc', { cookie: { originalMaxAge: 1000, expires: new Date(Date.now() + 60000).toISOString() }, v: 1 }, { expires: new Date(Date.now() + 60000) });
console.log((await store.get('abc')).v);`,
    );
    const r = spawnSync(process.execPath, ['app.mjs'], { cwd: dir, encoding: 'utf8', timeout: 20_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('1');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
