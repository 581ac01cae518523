/**
 * The release flow end to end, on loopback only: a snapshot of this repository runs the real
 * `pnpm version-packages` (changeset version) and `pnpm release` (build + changeset publish) against a
 * local verdaccio with no uplinks; then a fresh app outside the workspace installs @sess/core and a
 * store from it with npm, runs from an ESM and a CommonJS entry, and type-checks its session data.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { publishedPackages, root } from './packages';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'sess-release-'));
const repo = path.join(tmp, 'repo');
const app = path.join(tmp, 'app');
let registry = '';
let verdaccio: ChildProcess | undefined;
let log = '';
/** Versions published by the release test, by package name. */
const published: Record<string, string> = {};

const env = (extra: Record<string, string> = {}) => ({
  ...process.env,
  CI: 'true',
  TURBO_TELEMETRY_DISABLED: '1',
  TURBO_NO_UPDATE_NOTIFIER: '1',
  GIT_AUTHOR_NAME: 'sess release test',
  GIT_AUTHOR_EMAIL: 'release@sess.invalid',
  GIT_COMMITTER_NAME: 'sess release test',
  GIT_COMMITTER_EMAIL: 'release@sess.invalid',
  npm_config_userconfig: path.join(tmp, '.npmrc'),
  npm_config_registry: registry,
  ...extra,
});
const run = (cmd: string, args: string[], cwd: string, extra: Record<string, string> = {}) => {
  try {
    return execFileSync(cmd, args, { cwd, env: env(extra), encoding: 'utf8', stdio: 'pipe', maxBuffer: 64 << 20 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed in ${cwd}:\n${e.stdout ?? ''}\n${e.stderr ?? ''}\n${e.message}`, { cause: err });
  }
};
const pkgJson = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

beforeAll(async () => {
  // verdaccio on loopback: no uplinks, so nothing can come from (or leak to) the public registry.
  const port = await freePort();
  registry = `http://127.0.0.1:${port}/`;
  const conf = path.join(tmp, 'verdaccio');
  mkdirSync(conf);
  writeFileSync(
    path.join(conf, 'config.yaml'),
    [
      `storage: ${path.join(conf, 'storage')}`,
      'auth:',
      `  htpasswd:`,
      `    file: ${path.join(conf, 'htpasswd')}`,
      'uplinks: {}',
      'packages:',
      "  '**':",
      '    access: $all',
      '    publish: $authenticated',
      'log: { type: stdout, format: pretty, level: warn }',
      '',
    ].join('\n'),
  );
  verdaccio = spawn(path.join(__dirname, '..', 'node_modules', '.bin', 'verdaccio'), ['--config', path.join(conf, 'config.yaml'), '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  verdaccio.stdout!.on('data', (d) => (log += d));
  verdaccio.stderr!.on('data', (d) => (log += d));
  for (let i = 0; ; i++) {
    const up = await fetch(registry + '-/ping').then((r) => r.ok).catch(() => false);
    if (up) break;
    if (i > 150) throw new Error(`verdaccio did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const res = await fetch(`${registry}-/user/org.couchdb.user:sess`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'sess', password: 'sess-release-test', email: 'release@sess.invalid' }),
  });
  const { token } = (await res.json()) as { token: string };
  expect(token).toBeTruthy();
  writeFileSync(path.join(tmp, '.npmrc'), `registry=${registry}\n//127.0.0.1:${port}/:_authToken=${token}\n`);

  // A snapshot of the working tree (tracked and new files, nothing ignored), as its own git repository.
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: root, encoding: 'utf8' }).trim().split('\n');
  for (const f of files) {
    if (!existsSync(path.join(root, f))) continue;
    mkdirSync(path.dirname(path.join(repo, f)), { recursive: true });
    cpSync(path.join(root, f), path.join(repo, f));
  }
  writeFileSync(path.join(repo, '.npmrc'), 'git-checks=false\n');
  run('git', ['init', '-q', '-b', 'main'], repo);
  run('git', ['add', '-A'], repo);
  run('git', ['commit', '-qm', 'snapshot'], repo);
  run('pnpm', ['install', '--frozen-lockfile', '--prefer-offline'], repo, { npm_config_registry: 'https://registry.npmjs.org/' });
}, 600_000);

afterAll(async () => {
  if (verdaccio && verdaccio.exitCode === null) {
    const exited = new Promise((r) => verdaccio!.once('exit', r));
    verdaccio.kill('SIGTERM');
    await exited;
  }
  rmSync(tmp, { recursive: true, force: true });
});

test('changeset version: core and conformance move together, stores on their own, changelogs written', () => {
  const before = Object.fromEntries(publishedPackages().map((p) => [p.name, p.pkg.version]));
  run('pnpm', ['version-packages'], repo);
  const after = Object.fromEntries(publishedPackages().map((p) => [p.name, pkgJson(path.join(repo, path.relative(root, p.dir))).version]));
  expect(after['@sess/core']).toBe(after['@sess/conformance']);
  for (const p of publishedPackages()) {
    const dir = path.join(repo, path.relative(root, p.dir));
    expect(after[p.name]).not.toBe(before[p.name]); // every package has a pending changeset today
    expect(after[p.name]!.startsWith('0.')).toBe(true); // no major forced anywhere
    expect(readFileSync(path.join(dir, 'CHANGELOG.md'), 'utf8')).toContain(`## ${after[p.name]}`);
  }
  run('git', ['add', '-A'], repo);
  run('git', ['commit', '-qm', 'version packages'], repo);
}, 120_000);

test('pnpm release builds and publishes every package to the local registry', () => {
  run('pnpm', ['release'], repo);
  for (const p of publishedPackages()) {
    const version = pkgJson(path.join(repo, path.relative(root, p.dir))).version as string;
    const view = JSON.parse(run('npm', ['view', `${p.name}@${version}`, '--json', '--registry', registry], tmp)) as { version: string; 'dist-tags': { latest: string }; peerDependencies?: Record<string, string> };
    expect(view.version).toBe(version);
    expect(view['dist-tags'].latest).toBe(version);
    if (p.name.startsWith('@sess/store-')) expect(view.peerDependencies?.['@sess/core']).toBe('>=0.1.0 <1.0.0');
    published[p.name] = version;
  }
}, 600_000);

test('a core minor release does not bump any store', () => {
  writeFileSync(path.join(repo, '.changeset', 'core-minor.md'), '---\n"@sess/core": minor\n---\n\nA new core feature.\n');
  const stores = publishedPackages().filter((p) => p.name.startsWith('@sess/store-'));
  const before = stores.map((p) => pkgJson(path.join(repo, path.relative(root, p.dir))).version);
  const coreBefore = pkgJson(path.join(repo, 'packages/core')).version;
  run('pnpm', ['version-packages'], repo);
  expect(pkgJson(path.join(repo, 'packages/core')).version).not.toBe(coreBefore);
  expect(pkgJson(path.join(repo, 'packages/conformance')).version).toBe(pkgJson(path.join(repo, 'packages/core')).version);
  expect(stores.map((p) => pkgJson(path.join(repo, path.relative(root, p.dir))).version)).toEqual(before);
}, 120_000);

test('a fresh app installs @sess/core and a store from the registry with npm, runs as ESM and CommonJS, and type-checks its session data', () => {
  mkdirSync(app, { recursive: true });
  const core = published['@sess/core']!;
  const file = published['@sess/store-file']!;
  expect(core).toBeTruthy();
  // Only @sess/* comes from the local registry; express and the rest from the npm registry.
  writeFileSync(path.join(app, '.npmrc'), `@sess:registry=${registry}\n`);
  writeFileSync(
    path.join(app, 'package.json'),
    JSON.stringify({ name: 'sess-release-app', version: '1.0.0', private: true, dependencies: { '@sess/core': core, '@sess/store-file': file, express: '5.3.0' }, devDependencies: { typescript: '6.0.3', '@types/express': '5.0.6', '@types/node': '20.19.9' } }, null, 2),
  );
  run('npm', ['install', '--no-audit', '--no-fund', '--registry', 'https://registry.npmjs.org/'], app, { npm_config_userconfig: path.join(app, '.npmrc') });
  const installed = pkgJson(path.join(app, 'node_modules/@sess/core'));
  expect(installed.version).toBe(core);
  expect(existsSync(path.join(app, 'node_modules/@sess/core/src'))).toBe(false);

  const body = (mod: 'esm' | 'cjs') => `
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sess-app-'));
const app = express();
app.use(session({ secret: 'release test', resave: false, saveUninitialized: false, store: new FileStore({ dir }) }));
app.get('/', (req, res) => { req.session.views = (req.session.views || 0) + 1; res.send('${mod}:' + req.session.views); });
const server = app.listen(0, '127.0.0.1', async () => {
  const url = 'http://127.0.0.1:' + server.address().port + '/';
  const first = await fetch(url);
  const cookie = first.headers.get('set-cookie').split(';')[0];
  const one = await first.text(); // the whole response: the session is stored by then
  const second = await fetch(url, { headers: { cookie } });
  console.log(one, await second.text(), typeof session.MemoryStore, typeof session.Store);
  server.close();
});
`;
  writeFileSync(path.join(app, 'esm.mjs'), `import fs from 'node:fs'; import os from 'node:os'; import path from 'node:path';\nimport express from 'express';\nimport session from '@sess/core';\nimport { FileStore } from '@sess/store-file';\n${body('esm')}`);
  writeFileSync(path.join(app, 'cjs.cjs'), `const fs = require('node:fs'); const os = require('node:os'); const path = require('node:path');\nconst express = require('express');\nconst session = require('@sess/core');\nconst { FileStore } = require('@sess/store-file');\n${body('cjs')}`);
  expect(run(process.execPath, ['esm.mjs'], app).trim()).toBe('esm:1 esm:2 function function');
  expect(run(process.execPath, ['cjs.cjs'], app).trim()).toBe('cjs:1 cjs:2 function function');

  writeFileSync(
    path.join(app, 'typed.ts'),
    `import express from 'express';
import session, { MemoryStore } from '@sess/core';
import { FileStore } from '@sess/store-file';

declare module '@sess/core' {
  interface SessionData {
    views: number;
    user: { id: string; role: 'admin' | 'user' };
  }
}

const app = express();
app.use(session({ secret: 's', resave: false, saveUninitialized: false, store: new FileStore({ dir: '/tmp/x' }) }));
app.use(session({ secret: ['new', 'old'], store: new MemoryStore(), cookie: { sameSite: 'lax', maxAge: 1000 } }));
app.get('/', async (req, res) => {
  req.session.views = (req.session.views ?? 0) + 1;
  req.session.user = { id: 'u1', role: 'admin' };
  // @ts-expect-error views is a number
  req.session.views = 'many';
  // @ts-expect-error role is 'admin' | 'user'
  req.session.user = { id: 'u1', role: 'root' };
  await req.session.regenerate();
  res.send(String(req.session.views));
});
`,
  );
  writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'node16', moduleResolution: 'node16', target: 'es2022', strict: true, noEmit: true, esModuleInterop: true, skipLibCheck: false, types: ['node'] }, files: ['typed.ts'] }));
  run(process.execPath, [path.join(app, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], app);
}, 600_000);

test('the sess command from the published @sess/cli in that app: --help and every command, on the file store', () => {
  const cli = published['@sess/cli']!;
  expect(cli).toBeTruthy();
  run('npm', ['install', '--no-audit', '--no-fund', '--registry', 'https://registry.npmjs.org/', `@sess/cli@${cli}`], app, { npm_config_userconfig: path.join(app, '.npmrc') });
  expect(pkgJson(path.join(app, 'node_modules/@sess/cli')).version).toBe(cli);
  const sess = (...args: string[]) => run('npx', ['--no-install', 'sess', ...args], app);
  expect(sess('--help')).toMatch(/^sess \S+: operate the sessions of a store/);
  expect(sess('--version').trim()).toBe(cli);

  // Sessions written by the app (the file store, as the app above uses it), then every command on them.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sess-cli-app-'));
  writeFileSync(
    path.join(app, 'seed.cjs'),
    `const { FileStore } = require('@sess/store-file');
const store = new FileStore({ dir: ${JSON.stringify(dir)}, reapInterval: 0 });
const expires = new Date(Date.now() + 3600000);
(async () => {
  for (const [i, user] of ['u1', 'u1', 'u2'].entries()) await store.set('release' + String(i).padStart(25, '0'), { cookie: { expires: expires.toISOString(), originalMaxAge: 3600000 }, user }, { expires, userKey: user });
  await store.close();
})();`,
  );
  run(process.execPath, ['seed.cjs'], app);
  const url = `file://${dir}`;
  expect(JSON.parse(sess('count', url, '--json')).count).toBe(3);
  const listed = sess('list', url, '--json').trim().split('\n').map((l) => JSON.parse(l) as { id: string; userKey: string | null });
  expect(listed).toHaveLength(3);
  // One of u1's two sessions (the listing's order is the folder's, and reads finish in any order).
  const tag = listed.find((x) => x.userKey === 'u1')!.id;
  expect(JSON.parse(sess('show', url, tag, '--json')).data.user).toBe('[redacted]');
  expect(JSON.parse(sess('revoke', url, tag, '--json')).revoked).toBe(1);
  const file = path.join(dir, '..', `sess-release-${process.pid}.jsonl`);
  sess('export', url, file);
  expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(2);
  const copy = `file://${dir}-copy`;
  expect(JSON.parse(sess('import', copy, file, '--json')).imported).toBe(2);
  expect(JSON.parse(sess('migrate', '--from', url, '--to', `file://${dir}-moved`, '--verify', '--json'))).toMatchObject({ copied: 2, verified: 2, failed: 0 });
  expect(JSON.parse(sess('revoke-user', copy, 'u1', '--json')).revoked).toBe(1);
  expect(JSON.parse(sess('prune', copy, '--json')).pruned).toBe(0);
  expect(JSON.parse(sess('count', copy, '--json')).count).toBe(1);
}, 600_000);
