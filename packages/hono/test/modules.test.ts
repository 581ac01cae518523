/**
 * The built package from CommonJS and ESM: `require('@sess/hono')` is the middleware factory, carrying `.default`,
 * `.session` and every other export; `import session, { session as named }` are the same function; one copy of
 * @sess/core between this package and the app's own import of it.
 */
import { expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const here = path.join(__dirname, '..');

function runIn(name: string, body: string) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sess-hono-mod-'));
  try {
    mkdirSync(path.join(dir, 'node_modules', '@sess'), { recursive: true });
    symlinkSync(here, path.join(dir, 'node_modules', '@sess', 'hono'), 'dir');
    symlinkSync(path.join(here, 'node_modules', '@sess', 'core'), path.join(dir, 'node_modules', '@sess', 'core'), 'dir');
    writeFileSync(path.join(dir, name), body);
    return spawnSync(process.execPath, [name], { cwd: dir, encoding: 'utf8', timeout: 20_000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('CommonJS: require() is the factory, with .default and .session; its engine is core SessionEngine', () => {
  const r = runIn(
    'app.cjs',
    `const session = require('@sess/hono');
const { SessionEngine } = require('@sess/core');
if (typeof session !== 'function' || session.default !== session || session.session !== session) throw new Error('exports');
const mw = session({ secret: 's', resave: false, saveUninitialized: false });
console.log(typeof mw, mw.engine instanceof SessionEngine);`,
  );
  expect(r.stderr).toBe('');
  expect(r.stdout.trim()).toBe('function true');
});

test('ESM: the default import and the named one are the same', () => {
  const r = runIn(
    'app.mjs',
    `import session, { session as named } from '@sess/hono';
import { SessionEngine } from '@sess/core';
console.log(session === named, session({ secret: 's', resave: false, saveUninitialized: false }).engine instanceof SessionEngine);`,
  );
  expect(r.stderr).toBe('');
  expect(r.stdout.trim()).toBe('true true');
});
