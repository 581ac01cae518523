/**
 * @sess/fastify on a real Fastify 5: the session loaded in onRequest and written before the response goes out,
 * property access and @fastify/session's methods, the decision table's options as session()'s, the cookie and
 * the stored JSON byte for byte what @sess/core's Express middleware writes.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import Fastify, { type FastifyInstance } from 'fastify';
import express from 'express';
import { sign } from 'cookie-signature';
import session, { MemoryStore } from '@sess/core';
import sessFastify, { FastifySession, sessFastify as named, type SessFastifyOptions } from '@sess/fastify';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
});

/** A request over real HTTP (Fastify's inject loads an ESM-only cookie parser Jest cannot require). */
async function call(app: FastifyInstance, opts: { method: string; url: string; headers?: Record<string, string> }) {
  if (!app.server.listening) await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  const res = await fetch(`http://127.0.0.1:${port}${opts.url}`, { method: opts.method, headers: opts.headers });
  const body = await res.text();
  const setCookie = res.headers.getSetCookie();
  return { statusCode: res.status, body, headers: { 'set-cookie': setCookie.length ? setCookie : undefined } as Record<string, string[] | undefined>, json: () => JSON.parse(body) };
}

declare module '@sess/core' {
  interface SessionData {
    user: string;
    cart: string[];
  }
}

async function makeApp(options: SessFastifyOptions): Promise<FastifyInstance> {
  const app = Fastify();
  apps.push(app);
  await app.register(sessFastify, options);
  app.post('/login', async (request) => {
    await request.session.regenerate();
    request.session.user = 'ann';
    return 'in';
  });
  app.get('/me', async (request) => ({ user: request.session.get('user') ?? null, cart: request.session.cart ?? [] }));
  app.post('/cart', async (request) => {
    request.session.set('cart', [...(request.session.cart ?? []), 'apple']);
    return 'added';
  });
  app.post('/logout', async (request) => {
    await request.session.destroy();
    return 'out';
  });
  return app;
}

const cookieOf = (setCookie: string | string[] | undefined) => (Array.isArray(setCookie) ? setCookie[0] : setCookie)?.split(';')[0];

describe('@sess/fastify', () => {
  test('default and named export are the same plugin', () => {
    expect(named).toBe(sessFastify);
  });

  test('log in, read, change, log out; written before the response is sent', async () => {
    const store = new MemoryStore();
    const app = await makeApp({ secret: 'fastify secret', resave: false, saveUninitialized: false, store, cookie: { maxAge: 60_000 } });
    const anon = await call(app, { method: 'GET', url: '/me' });
    expect(anon.json()).toEqual({ user: null, cart: [] });
    expect(anon.headers['set-cookie']).toBeUndefined();
    const login = await call(app, { method: 'POST', url: '/login' });
    const cookie = cookieOf(login.headers['set-cookie'])!;
    expect(cookie).toMatch(/^connect\.sid=s%3A[\w-]{32}\.[\w%]+$/);
    // The store has it as soon as the client has the response.
    const sid = decodeURIComponent(cookie.slice('connect.sid='.length)).slice(2).split('.')[0]!;
    expect(await store.get(sid)).toMatchObject({ user: 'ann' });
    expect((await call(app, { method: 'POST', url: '/cart', headers: { cookie } })).body).toBe('added');
    expect((await call(app, { method: 'GET', url: '/me', headers: { cookie } })).json()).toEqual({ user: 'ann', cart: ['apple'] });
    expect((await call(app, { method: 'POST', url: '/logout', headers: { cookie } })).body).toBe('out');
    expect(await store.get(sid)).toBeNull();
    expect((await call(app, { method: 'GET', url: '/me', headers: { cookie } })).json()).toEqual({ user: null, cart: [] });
  });

  test("@fastify/session's names: cookieName, idGenerator; regenerate(keep) keeps the named keys; set refuses reserved keys", async () => {
    let n = 0;
    const app = await makeApp({ secret: 's', resave: false, saveUninitialized: false, cookieName: 'sessionId', cookiePrefix: '', idGenerator: () => `fastifyId${++n}`.padEnd(32, 'x') });
    app.post('/keep', async (request) => {
      request.session.cart = ['pear'];
      request.session.user = 'ann';
      await request.session.regenerate(['cart']);
      return { cart: request.session.cart ?? null, user: request.session.user ?? null, id: request.session.sessionId };
    });
    app.get('/reserved', async (request) => {
      expect(() => request.session.set('save', 1)).toThrow(/reserved/);
      expect(request.session).toBeInstanceOf(FastifySession);
      return 'ok';
    });
    const r = await call(app, { method: 'POST', url: '/keep' });
    expect(r.json()).toEqual({ cart: ['pear'], user: null, id: 'fastifyId2'.padEnd(32, 'x') });
    expect(cookieOf(r.headers['set-cookie'])).toBe('sessionId=' + encodeURIComponent(sign('fastifyId2'.padEnd(32, 'x'), 's')));
    expect((await call(app, { method: 'GET', url: '/reserved' })).body).toBe('ok');
  });

  test('the same cookie and stored JSON as @sess/core on Express, for the same session', async () => {
    const opts = { secret: 'shared', resave: false, saveUninitialized: false, cookie: { maxAge: 60_000 }, genid: () => 'sameIdForBothApps'.padEnd(32, '0') };
    const fStore = new MemoryStore();
    const eStore = new MemoryStore();
    const f = await makeApp({ ...opts, store: fStore });
    const e = express();
    e.use(session({ ...opts, store: eStore }));
    e.post('/login', (req, res, next) =>
      req.session.regenerate((err) => {
        if (err) return next(err);
        (req.session as unknown as { user: string }).user = 'ann';
        res.send('in');
      }),
    );
    const srv = e.listen(0);
    try {
      const port = (srv.address() as { port: number }).port;
      const er = await fetch(`http://127.0.0.1:${port}/login`, { method: 'POST' });
      const fr = await call(f, { method: 'POST', url: '/login' });
      const eCookie = er.headers.getSetCookie()[0]!;
      const fCookie = (fr.headers['set-cookie'] as string[])[0]!;
      const strip = (c: string) => c.replace(/Expires=[^;]+/, 'Expires=X');
      expect(strip(fCookie)).toBe(strip(eCookie));
      const id = 'sameIdForBothApps'.padEnd(32, '0');
      const strip2 = (j: string) => j.replace(/"expires":"[^"]+"/, '"expires":"X"').replace(/"originalMaxAge":\d+/, '"originalMaxAge":N');
      expect(strip2(JSON.stringify(await fStore.get(id)))).toBe(strip2(JSON.stringify(await eStore.get(id))));
    } finally {
      srv.close();
    }
  });

  test('decision table as session(): saveUninitialized true sends a cookie for an untouched session; rolling re-sends it', async () => {
    const a = await makeApp({ secret: 's', resave: false, saveUninitialized: true, rolling: true, cookie: { maxAge: 60_000 } });
    const first = await call(a, { method: 'GET', url: '/me' });
    const cookie = cookieOf(first.headers['set-cookie'])!;
    expect(cookie).toBeDefined();
    const again = await call(a, { method: 'GET', url: '/me', headers: { cookie } });
    expect(cookieOf(again.headers['set-cookie'])).toBe(cookie);
    const b = await makeApp({ secret: 's', resave: false, saveUninitialized: false });
    expect((await call(b, { method: 'GET', url: '/me' })).headers['set-cookie']).toBeUndefined();
  });

  test("a store failure on the write is the route's error (503), not a lost session; the engine is shared with engine:", async () => {
    const store = new MemoryStore();
    (store as unknown as Record<string, unknown>).set = (_sid: string, _sess: unknown, cb: (err: Error) => void) => cb(new Error('down'));
    const app = await makeApp({ secret: 's', resave: false, saveUninitialized: false, store });
    const r = await call(app, { method: 'POST', url: '/login' });
    expect(r.statusCode).toBe(503);
    expect(r.headers['set-cookie']).toBeUndefined();
    expect(r.json()).toMatchObject({ code: 'SESS_STORE' });

    const mw = session({ secret: 's', resave: false, saveUninitialized: false });
    const shared = await makeApp({ engine: mw.engine });
    expect(shared.sessionEngine).toBe(mw.engine);
    await expect(makeApp({ engine: mw.engine, secret: 'x' })).rejects.toThrow(/with engine, the options are the engine's: remove secret/);
  });

  test('the secure cookie is not sent over plain HTTP; sent with proxy: true behind X-Forwarded-Proto https', async () => {
    const opts = { secret: 's', resave: false, saveUninitialized: true, cookie: { secure: true } };
    const plain = await makeApp(opts);
    expect((await call(plain, { method: 'GET', url: '/me' })).headers['set-cookie']).toBeUndefined();
    const behind = await makeApp({ ...opts, proxy: true });
    const r = await call(behind, { method: 'GET', url: '/me', headers: { 'x-forwarded-proto': 'https' } });
    expect(cookieOf(r.headers['set-cookie'])).toMatch(/^connect\.sid=/);
  });
});
