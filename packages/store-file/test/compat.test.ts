/**
 * Switching from session-file-store to this store, or back, keeps every session and cookie: the same
 * folder is served by express-session + session-file-store and by @sess/core + FileStore in turn.
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import expressSession from 'express-session';
import createFileStore from 'session-file-store';
import session, { toExpressStore } from '@sess/core';
import { FileStore } from '@sess/store-file';
import { serve } from '../../conformance/test/http';

const root = mkdtempSync(path.join(os.tmpdir(), 'sess-file-compat-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const SfsStore = createFileStore(expressSession);
const opts = { secret: 'keyboard cat', resave: false, saveUninitialized: false, name: 'sid', cookie: { maxAge: 3_600_000 } };

function app(mw: express.RequestHandler) {
  const a = express();
  a.use(mw);
  a.get('/count', (req, res) => {
    const s = req.session as unknown as Record<string, number | string>;
    s.count = ((s.count as number) || 0) + 1;
    s.name = 'Zoë 🍪';
    res.send(String(s.count));
  });
  a.get('/peek', (req, res) => res.json(req.session));
  return a;
}

async function visit(url: string, cookie: string | undefined, p: string) {
  const res = await fetch(url + p, { headers: cookie ? { cookie } : {} });
  const set = res.headers.getSetCookie().find((c) => c.startsWith('sid='));
  return { body: await res.text(), cookie: set ? set.split(';')[0] : cookie };
}

describe('layout shared with session-file-store', () => {
  test.each([
    ['session-file-store → sess → session-file-store', 'sfs-first'],
    ['sess → session-file-store → sess', 'sess-first'],
  ])('%s', async (_name, order) => {
    const dir = path.join(root, order);
    const sfs = () => expressSession({ ...opts, store: new SfsStore({ path: dir, logFn: () => undefined, reapInterval: -1 }) });
    const sess = () => session({ ...opts, store: new FileStore({ dir, reapInterval: 0 }) });
    const sequence = order === 'sfs-first' ? [sfs, sess, sfs] : [sess, sfs, sess];
    let cookie: string | undefined;
    let n = 0;
    for (const make of sequence) {
      const srv = await serve(app(make()));
      for (let i = 0; i < 2; i++) {
        const r = await visit(srv.url, cookie, '/count');
        cookie = r.cookie;
        expect(r.body).toBe(String(++n));
      }
      const peek = JSON.parse((await visit(srv.url, cookie, '/peek')).body);
      expect(peek.name).toBe('Zoë 🍪');
      if (make === sess) {
        // never leaks into the app's data (session-file-store itself does show __lastAccess)
        expect(peek.__lastAccess).toBeUndefined();
        expect(peek.__sessExpires).toBeUndefined();
      }
      await srv.close();
    }
    const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    expect(files).toHaveLength(1);
    const raw = JSON.parse(readFileSync(path.join(dir, files[0]!), 'utf8'));
    expect(typeof raw.__lastAccess).toBe('number');
    expect(raw.count).toBe(6);
  });

  test('express-session can run on FileStore itself (toExpressStore), and hand over to sess', async () => {
    const dir = path.join(root, 'to-express');
    const store = new FileStore({ dir, reapInterval: 0 });
    let cookie: string | undefined;
    let n = 0;
    for (const mw of [expressSession({ ...opts, store: toExpressStore(store, expressSession) }), session({ ...opts, store })]) {
      const srv = await serve(app(mw));
      for (let i = 0; i < 2; i++) {
        const r = await visit(srv.url, cookie, '/count');
        cookie = r.cookie;
        expect(r.body).toBe(String(++n));
      }
      await srv.close();
    }
    await store.close();
  });

  test('a file session-file-store wrote expires by its own rule (last access + originalMaxAge)', async () => {
    const dir = path.join(root, 'rule');
    const store = new FileStore({ dir, reapInterval: 0 });
    const sfs = new SfsStore({ path: dir, logFn: () => undefined, reapInterval: -1 });
    const cookie = { originalMaxAge: 1000, expires: new Date(Date.now() + 1000).toISOString(), httpOnly: true, path: '/' };
    await new Promise<void>((r, j) => sfs.set('old_session_id', { cookie, a: 1 }, (e: unknown) => (e ? j(e) : r())));
    expect((await store.get('old_session_id'))?.a).toBe(1);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await store.get('old_session_id')).toBeNull();
    await store.close();
  });
});
