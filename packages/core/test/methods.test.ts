import { describe, expect, test } from '@jest/globals';
import express from 'express';
import session, { MemoryStore, Session, SessError } from '@sess/core';
import { client, listen } from './helpers';

function app(store = new MemoryStore(), extra: Record<string, unknown> = {}) {
  const a = express();
  a.use(session({ secret: 's', resave: false, saveUninitialized: false, store, cookie: { maxAge: 60_000 }, ...extra }));
  return { a, store };
}
type S = Record<string, unknown>;

describe('session methods: promises and callbacks', () => {
  test('save() resolves after the store holds the data; callback form too', async () => {
    const { a, store } = app();
    a.get('/p', async (req, res) => {
      (req.session as unknown as S).v = 'promise';
      await req.session.save();
      res.json(await store.get(req.sessionID));
    });
    a.get('/c', (req, res) => {
      (req.session as unknown as S).v = 'callback';
      const ret = req.session.save((err) => {
        void store.get(req.sessionID).then((rec) => res.json({ err: err ?? null, rec, chain: ret === req.session }));
      });
    });
    const srv = await listen(a);
    const c = client(srv.url);
    expect(JSON.parse((await c.get('/p')).body).v).toBe('promise');
    const r = JSON.parse((await c.get('/c')).body);
    expect(r.rec.v).toBe('callback');
    expect(r.chain).toBe(true);
    await srv.close();
  });

  test('regenerate() gives a new id and drops the data (express-session semantics)', async () => {
    const { a, store } = app();
    a.get('/login', (req, res) => {
      (req.session as unknown as S).cart = ['x'];
      res.send(req.sessionID);
    });
    a.get('/regen', async (req, res) => {
      const old = req.sessionID;
      await req.session.regenerate();
      res.json({ changed: old !== req.sessionID, cart: (req.session as unknown as S).cart ?? null, oldGone: (await store.get(old)) === null });
    });
    const srv = await listen(a);
    const c = client(srv.url);
    await c.get('/login');
    const before = c.jar;
    const r = JSON.parse((await c.get('/regen')).body);
    expect(r).toEqual({ changed: true, cart: null, oldGone: true });
    expect(c.jar).not.toBe(before);
    await srv.close();
  });

  test('rotate() gives a new id and keeps the data; the old id is destroyed', async () => {
    const { a, store } = app();
    a.get('/login', (req, res) => {
      (req.session as unknown as S).cart = ['x'];
      res.send(req.sessionID);
    });
    a.get('/rotate', async (req, res) => {
      const old = req.sessionID;
      await req.session.rotate();
      res.json({ changed: old !== req.sessionID, cart: (req.session as unknown as S).cart, oldGone: (await store.get(old)) === null, newThere: (await store.get(req.sessionID)) !== null });
    });
    a.get('/cart', (req, res) => res.json((req.session as unknown as S).cart ?? null));
    const srv = await listen(a);
    const c = client(srv.url);
    const oldId = (await c.get('/login')).body;
    const before = c.jar;
    const r = JSON.parse((await c.get('/rotate')).body);
    expect(r).toEqual({ changed: true, cart: ['x'], oldGone: true, newThere: true });
    expect(c.jar).not.toBe(before);
    expect(JSON.parse((await c.get('/cart')).body)).toEqual(['x']);
    expect(await store.get(oldId)).toBeNull();
    // the old cookie no longer works
    const stale = client(srv.url);
    stale.jar = before;
    expect(JSON.parse((await stale.get('/cart')).body)).toBeNull();
    await srv.close();
  });

  test('destroy() removes the session and unsets req.session; reload() re-reads', async () => {
    const { a, store } = app();
    a.get('/login', (req, res) => {
      (req.session as unknown as S).user = 'ann';
      res.send('ok');
    });
    a.get('/reload', async (req, res) => {
      const rec = (await store.get(req.sessionID))!;
      rec.user = 'bob';
      await store.set(req.sessionID, rec, { expires: new Date(Date.now() + 60_000) });
      await req.session.reload();
      res.send(String((req.session as unknown as S).user));
    });
    a.get('/logout', async (req, res) => {
      const id = req.sessionID;
      await req.session.destroy();
      res.json({ unset: req.session === undefined, gone: (await store.get(id)) === null });
    });
    a.get('/me', (req, res) => res.send(String((req.session as unknown as S).user ?? 'anon')));
    a.get('/reload-missing', async (req, res) => {
      await store.destroy(req.sessionID);
      try {
        await req.session.reload();
        res.send('no error');
      } catch (err) {
        res.send((err as SessError).code);
      }
    });
    const srv = await listen(a);
    const c = client(srv.url);
    await c.get('/login');
    expect((await c.get('/reload')).body).toBe('bob');
    expect(JSON.parse((await c.get('/logout')).body)).toEqual({ unset: true, gone: true });
    expect((await c.get('/me')).body).toBe('anon');
    await c.get('/login');
    expect((await c.get('/reload-missing')).body).toBe('SESS_NO_SESSION');
    await srv.close();
  });

  test('touch() and resetMaxAge() reset the cookie expiry; maxAge counts down', async () => {
    const { a } = app();
    a.get('/', async (req, res) => {
      const c = req.session.cookie;
      await new Promise((r) => setTimeout(r, 30));
      const shortened = c.maxAge! < 60_000 - 20;
      req.session.resetMaxAge();
      res.json({ shortened, original: c.originalMaxAge, reset: c.maxAge! > 59_990, chain: req.session.touch() === req.session });
    });
    const srv = await listen(a);
    const r = JSON.parse((await client(srv.url).get('/')).body);
    expect(r).toEqual({ shortened: true, original: 60_000, reset: true, chain: true });
    await srv.close();
  });

  test('stored keys named like methods cannot break them', async () => {
    const store = new MemoryStore();
    const { a } = app(store);
    a.get('/', async (req, res) => {
      (req.session as unknown as S).n = 1;
      await req.session.save();
      const rec = (await store.get(req.sessionID))!;
      Object.assign(rec, { save: 'x', destroy: 1, regenerate: null, reload: [], id: 'other', req: {}, touch: 'x', __proto__: { polluted: true } });
      await store.set(req.sessionID, rec, { expires: new Date(Date.now() + 60_000) });
      res.send('ok');
    });
    a.get('/check', async (req, res) => {
      const s = req.session as unknown as S;
      const ok = typeof req.session.save === 'function' && typeof req.session.destroy === 'function' && req.session.id === req.sessionID;
      s.n = 2;
      await req.session.save();
      res.json({ ok, polluted: ({} as S).polluted ?? null, isSession: req.session instanceof Session });
    });
    const srv = await listen(a);
    const c = client(srv.url);
    await c.get('/');
    expect(JSON.parse((await c.get('/check')).body)).toEqual({ ok: true, polluted: null, isSession: true });
    await srv.close();
  });

  test('req.sessionStore is the store given; req.sessionID is the id', async () => {
    const store = new MemoryStore();
    const { a } = app(store, { saveUninitialized: true });
    a.get('/', (req, res) => res.json({ same: req.sessionStore === store, id: req.sessionID === req.session.id }));
    const srv = await listen(a);
    expect(JSON.parse((await client(srv.url).get('/')).body)).toEqual({ same: true, id: true });
    await srv.close();
  });
});
