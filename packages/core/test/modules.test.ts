/**
 * The built package works from CommonJS and ESM, as express-session does from CommonJS, and one
 * process never loads two copies of core.
 */
import { describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, symlinkSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const pkgDir = path.join(__dirname, '..');

function runIn(files: Record<string, string>, entry: string) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sess-mod-'));
  try {
    mkdirSync(path.join(dir, 'node_modules', '@sess'), { recursive: true });
    symlinkSync(pkgDir, path.join(dir, 'node_modules', '@sess', 'core'), 'dir');
    symlinkSync(path.join(pkgDir, 'node_modules', 'express'), path.join(dir, 'node_modules', 'express'), 'dir');
    for (const [name, body] of Object.entries(files)) writeFileSync(path.join(dir, name), body);
    return spawnSync(process.execPath, [entry], { cwd: dir, encoding: 'utf8', timeout: 20_000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const appBody = (sessionExpr: string) => `
const app = express();
app.use(${sessionExpr}({ secret: 's', resave: false, saveUninitialized: false }));
app.get('/', (req, res) => { req.session.n = (req.session.n || 0) + 1; res.send(String(req.session.n)); });
const srv = app.listen(0, '127.0.0.1', async () => {
  const url = 'http://127.0.0.1:' + srv.address().port + '/';
  const r1 = await fetch(url);
  const cookie = r1.headers.getSetCookie()[0].split(';')[0];
  const r2 = await fetch(url, { headers: { cookie } });
  console.log(await r1.text(), await r2.text());
  srv.close();
});`;

describe('module formats', () => {
  test('CommonJS: require() returns the callable middleware factory with the compat surface', () => {
    const r = runIn(
      {
        'app.cjs': `
const express = require('express');
const session = require('@sess/core');
const { MemoryStore, Store, Session, Cookie } = require('@sess/core');
if (typeof session !== 'function') throw new Error('not callable');
if (session.Store !== Store || session.MemoryStore !== MemoryStore || session.Session !== Session || session.Cookie !== Cookie) throw new Error('compat surface');
if (session.default !== session) throw new Error('default');
// connect-pg-simple style: a store module that takes the session module
const makeStore = (s) => class MyStore extends s.Store { get(id, cb) { cb(null, null) } set(id, v, cb) { cb() } destroy(id, cb) { cb() } };
const MyStore = makeStore(session);
if (!(new MyStore() instanceof Store)) throw new Error('subclass');
${appBody('session')}`,
      },
      'app.cjs',
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('1 2');
  });

  test('ESM: default and named imports, one copy of core shared with require()', () => {
    const r = runIn(
      {
        'app.mjs': `
import express from 'express';
import session, { MemoryStore, Store, SessError, ConfigError } from '@sess/core';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const cjs = require('@sess/core');
if (cjs !== session) throw new Error('two copies of core');
if (cjs.MemoryStore !== MemoryStore || session.Store !== Store) throw new Error('named exports differ');
try { session({}); } catch (e) { if (!(e instanceof ConfigError) || !SessError.isInstance(e)) throw e; }
${appBody('session')}`,
      },
      'app.mjs',
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('1 2');
  });
});
