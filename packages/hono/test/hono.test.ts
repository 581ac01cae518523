/**
 * @sess/hono on Hono over Node's HTTP (`@hono/node-server`): the session loaded before `await next()` and
 * written after it, before the response leaves; `c.get('session')` kept current through regenerate; the cookie
 * is @sess/core's; a failed write reaches `app.onError` (a 503 StoreError), never a lost session.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import type { AddressInfo } from 'node:net';
import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import { sign } from 'cookie-signature';
import session, { MemoryStore, SessError } from '@sess/core';
import honoSession, { session as named, type SessHonoOptions } from '@sess/hono';

declare module '@sess/core' {
  interface SessionData {
    user: string;
    cart: string[];
  }
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

async function makeApp(options: SessHonoOptions) {
  const app = new Hono();
  const errors: unknown[] = [];
  app.onError((err, c) => {
    errors.push(err);
    return c.json({ code: (err as SessError).code ?? null }, (SessError.isInstance(err) ? err.status : 500) as 500);
  });
  app.use(honoSession(options));
  app.post('/login', async (c) => {
    await c.get('session').regenerate();
    c.get('session').user = 'ann';
    return c.text('in');
  });
  app.get('/me', (c) => c.json({ user: c.get('session').user ?? null, cart: c.get('session').cart ?? [] }));
  app.post('/cart', (c) => {
    const s = c.get('session');
    s.cart = [...(s.cart ?? []), 'kiwi'];
    return c.text('added');
  });
  app.post('/logout', async (c) => {
    await c.get('session').destroy();
    return c.text('out');
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  closers.push(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let cookie: string | undefined;
  const call = async (method: string, path: string) => {
    const res = await fetch(url + path, { method, headers: cookie ? { cookie } : {} });
    const set = res.headers.getSetCookie()[0];
    if (set) cookie = set.split(';')[0];
    return { status: res.status, body: await res.text(), setCookie: set };
  };
  return { call, errors, cookie: () => cookie };
}

describe('@sess/hono', () => {
  test('default and named export are the same factory', () => {
    expect(named).toBe(honoSession);
  });

  test('log in, read, change, log out; stored before the response leaves', async () => {
    const store = new MemoryStore();
    const app = await makeApp({ secret: 'hono secret', resave: false, saveUninitialized: false, store, cookie: { maxAge: 60_000 } });
    expect(JSON.parse((await app.call('GET', '/me')).body)).toEqual({ user: null, cart: [] });
    expect((await app.call('POST', '/login')).body).toBe('in');
    const sid = decodeURIComponent(app.cookie()!.slice('connect.sid='.length)).slice(2).split('.')[0]!;
    expect(app.cookie()).toBe('connect.sid=' + encodeURIComponent('s:' + sign(sid, 'hono secret')));
    expect(await store.get(sid)).toMatchObject({ user: 'ann' });
    await app.call('POST', '/cart');
    expect(JSON.parse((await app.call('GET', '/me')).body)).toEqual({ user: 'ann', cart: ['kiwi'] });
    expect((await app.call('POST', '/logout')).body).toBe('out');
    expect(await store.get(sid)).toBeNull();
    expect(JSON.parse((await app.call('GET', '/me')).body)).toEqual({ user: null, cart: [] });
  });

  test('a failed write reaches onError as a 503 StoreError, with no cookie', async () => {
    const store = new MemoryStore();
    (store as unknown as Record<string, unknown>).set = (_sid: string, _sess: unknown, cb: (err: Error) => void) => cb(new Error('down'));
    const app = await makeApp({ secret: 's', resave: false, saveUninitialized: false, store });
    const r = await app.call('POST', '/login');
    expect(r.status).toBe(503);
    expect(r.setCookie).toBeUndefined();
    expect(JSON.parse(r.body)).toEqual({ code: 'SESS_STORE' });
  });

  test("an Express middleware's engine shared with engine:", () => {
    const mw = session({ secret: 's', resave: false, saveUninitialized: false });
    expect(honoSession({ engine: mw.engine }).engine).toBe(mw.engine);
    expect(() => honoSession({ engine: mw.engine, rolling: true })).toThrow(/remove rolling/);
  });
});
