/** The README's usage block runs as written, on the built package (with a secret in the environment). */
import { expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

test('README usage block: log in, count visits, log out', () => {
  const readme = readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
  const usage = readme.slice(readme.indexOf('## Usage'));
  const block = /```js\n([\s\S]*?)```/.exec(usage)![1]!;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sess-fastify-readme-'));
  const here = path.join(__dirname, '..');
  try {
    mkdirSync(path.join(dir, 'node_modules', '@sess'), { recursive: true });
    symlinkSync(here, path.join(dir, 'node_modules', '@sess', 'fastify'), 'dir');
    symlinkSync(path.join(here, 'node_modules', 'fastify'), path.join(dir, 'node_modules', 'fastify'), 'dir');
    writeFileSync(
      path.join(dir, 'app.mjs'),
      block +
        `
await app.listen({ port: 0, host: '127.0.0.1' });
const url = 'http://127.0.0.1:' + app.server.address().port;
const login = await fetch(url + '/login', { method: 'POST' });
const cookie = login.headers.getSetCookie()[0].split(';')[0];
const a = await (await fetch(url + '/', { headers: { cookie } })).text();
const b = await (await fetch(url + '/', { headers: { cookie } })).text();
await fetch(url + '/logout', { method: 'POST', headers: { cookie } });
const c = await (await fetch(url + '/', { headers: { cookie } })).text();
console.log([a, b, c].join(' | '));
await app.close();
`,
    );
    const r = spawnSync(process.execPath, ['app.mjs'], { cwd: dir, encoding: 'utf8', timeout: 20_000, env: { ...process.env, SESSION_SECRET: 'readme secret' } });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('Visits: 1 (ann) | Visits: 2 (ann) | Visits: 1 (anonymous)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
