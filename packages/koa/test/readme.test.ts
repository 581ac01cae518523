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
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sess-koa-readme-'));
  const here = path.join(__dirname, '..');
  try {
    mkdirSync(path.join(dir, 'node_modules', '@sess'), { recursive: true });
    symlinkSync(here, path.join(dir, 'node_modules', '@sess', 'koa'), 'dir');
    mkdirSync(path.dirname(path.join(dir, 'node_modules', 'koa')), { recursive: true });
    symlinkSync(path.join(here, 'node_modules', 'koa'), path.join(dir, 'node_modules', 'koa'), 'dir');
    writeFileSync(path.join(dir, 'app.mjs'), 'import http from "node:http";\n' + block.replace(/port: Number\(process\.env\.PORT \?\? 3000\)/, "port: 0, hostname: '127.0.0.1'") + '\nconst server = http.createServer(app.callback());\nawait new Promise((r) => server.listen(0, "127.0.0.1", r));\nconst url = "http://127.0.0.1:" + server.address().port;\nconst login = await fetch(url + "/login", { method: "POST" });\nconst cookie = login.headers.getSetCookie()[0].split(";")[0];\nconst a = await (await fetch(url + "/", { headers: { cookie } })).text();\nconst b = await (await fetch(url + "/", { headers: { cookie } })).text();\nawait fetch(url + "/logout", { method: "POST", headers: { cookie } });\nconst c = await (await fetch(url + "/", { headers: { cookie } })).text();\nconsole.log([a, b, c].join(" | "));\nserver.close();');
    const r = spawnSync(process.execPath, ['app.mjs'], { cwd: dir, encoding: 'utf8', timeout: 20_000, env: { ...process.env, SESSION_SECRET: 'readme secret' } });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('Visits: 1 (ann) | Visits: 2 (ann) | Visits: 1 (anonymous)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
