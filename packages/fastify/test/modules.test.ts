/**
 * The built package from CommonJS and ESM, as Fastify plugins are loaded: `app.register(require('@sess/fastify'))`,
 * `require('@sess/fastify').default`, the named export, and `import sessFastify from '@sess/fastify'`; and one copy
 * of @sess/core between this plugin and the app's own import of it.
 */
import { expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const here = path.join(__dirname, '..');

function runIn(name: string, body: string) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sess-fastify-mod-'));
  try {
    mkdirSync(path.join(dir, 'node_modules', '@sess'), { recursive: true });
    symlinkSync(here, path.join(dir, 'node_modules', '@sess', 'fastify'), 'dir');
    symlinkSync(path.join(here, 'node_modules', '@sess', 'core'), path.join(dir, 'node_modules', '@sess', 'core'), 'dir');
    symlinkSync(path.join(here, 'node_modules', 'fastify'), path.join(dir, 'node_modules', 'fastify'), 'dir');
    writeFileSync(path.join(dir, name), body);
    return spawnSync(process.execPath, [name], { cwd: dir, encoding: 'utf8', timeout: 20_000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const appBody = `
const app = Fastify();
await app.register(plugin, { secret: 's', resave: false, saveUninitialized: false });
app.get('/', async (request) => { request.session.n = (request.session.n || 0) + 1; return String(request.session.n); });
await app.listen({ port: 0, host: '127.0.0.1' });
const url = 'http://127.0.0.1:' + app.server.address().port + '/';
const r1 = await fetch(url);
const cookie = r1.headers.getSetCookie()[0].split(';')[0];
const r2 = await fetch(url, { headers: { cookie } });
console.log(await r1.text(), await r2.text(), app.sessionEngine instanceof SessionEngine);
await app.close();`;

test('CommonJS: require() is the plugin, with .default and .sessFastify', () => {
  const r = runIn(
    'app.cjs',
    `(async () => {
const Fastify = require('fastify');
const plugin = require('@sess/fastify');
const { SessionEngine } = require('@sess/core');
if (typeof plugin !== 'function' || plugin.default !== plugin || plugin.sessFastify !== plugin || typeof plugin.FastifySession !== 'function') throw new Error('exports');
${appBody}
})().catch((e) => { console.error(e); process.exit(1); });`,
  );
  expect(r.stderr).toBe('');
  expect(r.stdout.trim()).toBe('1 2 true');
});

test('ESM: the default import and the named one', () => {
  const r = runIn(
    'app.mjs',
    `import Fastify from 'fastify';
import plugin, { sessFastify } from '@sess/fastify';
import { SessionEngine } from '@sess/core';
if (plugin !== sessFastify) throw new Error('default and named differ');
${appBody}`,
  );
  expect(r.stderr).toBe('');
  expect(r.stdout.trim()).toBe('1 2 true');
});
