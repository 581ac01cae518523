/** The README's usage example runs as written (with a secret in the environment). */
import { expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

test('README usage block serves a visit counter', () => {
  const readme = readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
  const usage = readme.slice(readme.indexOf('## Usage'));
  const block = /```js\n([\s\S]*?)```/.exec(usage)![1]!;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sess-readme-'));
  try {
    mkdirSync(path.join(dir, 'node_modules', '@sess'), { recursive: true });
    symlinkSync(path.join(__dirname, '..'), path.join(dir, 'node_modules', '@sess', 'core'), 'dir');
    symlinkSync(path.join(__dirname, '..', 'node_modules', 'express'), path.join(dir, 'node_modules', 'express'), 'dir');
    writeFileSync(
      path.join(dir, 'app.mjs'),
      block +
        `
const srv = app.listen(0, '127.0.0.1', async () => {
  const url = 'http://127.0.0.1:' + srv.address().port + '/';
  const r1 = await fetch(url);
  const cookie = r1.headers.getSetCookie()[0].split(';')[0];
  const r2 = await fetch(url, { headers: { cookie } });
  console.log(await r1.text(), '|', await r2.text());
  srv.close();
});
`,
    );
    const r = spawnSync(process.execPath, ['app.mjs'], { cwd: dir, encoding: 'utf8', timeout: 20_000, env: { ...process.env, SESSION_SECRET: 'readme secret' } });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('Visits: 1 | Visits: 2');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("README's engine block runs: a session made, stored and read back with no framework", () => {
  const readme = readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## The engine, for other frameworks'));
  const block = /```ts\n([\s\S]*?)```/.exec(section)![1]!;
  const ts = require('typescript') as typeof import('typescript');
  const js = ts.transpileModule(block, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sess-readme-engine-'));
  try {
    mkdirSync(path.join(dir, 'node_modules', '@sess'), { recursive: true });
    symlinkSync(path.join(__dirname, '..'), path.join(dir, 'node_modules', '@sess', 'core'), 'dir');
    writeFileSync(
      path.join(dir, 'app.mjs'),
      js +
        `
const set = await handle(undefined, (s) => { s.user = 'ann'; });
let seen;
const again = await handle(set.split(';')[0], (s) => { seen = s.user; });
console.log(seen, String(again));
`,
    );
    const r = spawnSync(process.execPath, ['app.mjs'], { cwd: dir, encoding: 'utf8', timeout: 20_000, env: { ...process.env, SESSION_SECRET: 'readme secret' } });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('ann undefined');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
