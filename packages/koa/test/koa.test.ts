/**
 * @sess/koa on real Koa 3 and Koa 2 over HTTP: the session loaded before `await next()` and written after it,
 * before the body goes out; `ctx.session = null` destroys it and `ctx.session = {...}` replaces its data, as
 * koa-session; the cookie is @sess/core's; a failed write is Koa's error (503), never a lost session.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa3 from 'koa';
import Koa2 from 'koa2';
import { sign } from 'cookie-signature';
import session, { MemoryStore } from '@sess/core';
import koaSession, { session as named, session as session2, type SessKoaOptions } from '@sess/koa';

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

type AnyKoa = new () => Koa3;

async function makeApp(Koa: AnyKoa, options: SessKoaOptions) {
  const app = new Koa();
  const errors: unknown[] = [];
  app.on('error', (err) => errors.push(err));
  app.use(koaSession(options));
  app.use(async (ctx) => {
    const s = ctx.session!;
    if (ctx.method === 'POST' && ctx.path === '/login') {
      await s.regenerate();
      ctx.session!.user = 'ann';
      ctx.body = 'in';
    } else if (ctx.path === '/me') ctx.body = { user: s.user ?? null, cart: s.cart ?? [] };
    else if (ctx.path === '/cart') {
      s.cart = [...(s.cart ?? []), 'fig'];
      ctx.body = 'added';
    } else if (ctx.path === '/replace') {
      ctx.session = { user: 'bob' } as never;
      ctx.body = 'replaced';
    } else if (ctx.path === '/logout') {
      ctx.session = null;
      ctx.body = 'out';
    }
  });
  const server = http.createServer(app.callback());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
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

describe('@sess/koa', () => {
  test('default and named export are the same factory', () => {
    expect(named).toBe(koaSession);
  });

  for (const [name, Koa] of [['Koa 3', Koa3], ['Koa 2', Koa2]] as const) {
    test(`${name}: log in, read, change, replace, log out with ctx.session = null; stored before the body is sent`, async () => {
      const store = new MemoryStore();
      const app = await makeApp(Koa as unknown as AnyKoa, { secret: 'koa secret', resave: false, saveUninitialized: false, store, cookie: { maxAge: 60_000 } });
      expect(JSON.parse((await app.call('GET', '/me')).body)).toEqual({ user: null, cart: [] });
      const login = await app.call('POST', '/login');
      expect(login.body).toBe('in');
      const sid = decodeURIComponent(app.cookie()!.slice('connect.sid='.length)).slice(2).split('.')[0]!;
      expect(app.cookie()).toBe('connect.sid=' + encodeURIComponent('s:' + sign(sid, 'koa secret')));
      expect(await store.get(sid)).toMatchObject({ user: 'ann' });
      await app.call('POST', '/cart');
      expect(JSON.parse((await app.call('GET', '/me')).body)).toEqual({ user: 'ann', cart: ['fig'] });
      await app.call('POST', '/replace');
      expect(JSON.parse((await app.call('GET', '/me')).body)).toEqual({ user: 'bob', cart: [] });
      expect((await app.call('POST', '/logout')).body).toBe('out');
      expect(await store.get(sid)).toBeNull();
      expect(JSON.parse((await app.call('GET', '/me')).body)).toEqual({ user: null, cart: [] });
    });
  }

  test("a failed write is Koa's error (503 StoreError), with no cookie", async () => {
    const store = new MemoryStore();
    (store as unknown as Record<string, unknown>).set = (_sid: string, _sess: unknown, cb: (err: Error) => void) => cb(new Error('down'));
    const app = await makeApp(Koa3 as unknown as AnyKoa, { secret: 's', resave: false, saveUninitialized: false, store });
    const r = await app.call('POST', '/login');
    expect(r.status).toBe(503);
    expect(r.setCookie).toBeUndefined();
    expect(app.errors[0]).toMatchObject({ name: 'StoreError', code: 'SESS_STORE' });
  });

  test('ctx.session outside the cookie path is a plain property; a prototype that refuses the accessors gets them per context', async () => {
    const store = new MemoryStore();
    const app = new Koa3();
    app.use(session2({ secret: 's', resave: false, saveUninitialized: true, store, cookie: { path: '/app' } }));
    app.use(async (ctx) => {
      if (ctx.path === '/outside') {
        const before = ctx.session;
        ctx.session = { mine: true } as never;
        ctx.body = { before: before ?? null, after: ctx.session, id: ctx.sessionID ?? null };
      } else ctx.body = { user: ctx.session!.user ?? null, id: typeof ctx.sessionID };
    });
    const server = http.createServer(app.callback());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise<void>((r) => server.close(() => r())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    expect(await (await fetch(url + '/app/x')).json()).toEqual({ user: null, id: 'string' });
    expect(await (await fetch(url + '/outside')).json()).toEqual({ before: null, after: { mine: true }, id: null });

    // Another library already holds a non-configurable `session` on the app's context: sess defines its own per context.
    const other = new Koa3();
    Object.defineProperty(other.context, 'session', { value: 'theirs', writable: true, enumerable: true, configurable: false });
    other.use(session2({ secret: 's', resave: false, saveUninitialized: false, store }));
    other.use(async (ctx) => {
      ctx.session!.user = 'cy';
      ctx.body = { user: ctx.session!.user, proto: (other.context as unknown as { session: unknown }).session };
    });
    const srv2 = http.createServer(other.callback());
    await new Promise<void>((r) => srv2.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise<void>((r) => srv2.close(() => r())));
    const res = await fetch(`http://127.0.0.1:${(srv2.address() as AddressInfo).port}/`);
    expect(await res.json()).toEqual({ user: 'cy', proto: 'theirs' });
    expect(res.headers.getSetCookie()).toHaveLength(1);
  });

  test("an Express middleware's engine shared with engine:", async () => {
    const mw = session({ secret: 's', resave: false, saveUninitialized: false });
    expect(koaSession({ engine: mw.engine }).engine).toBe(mw.engine);
    expect(() => koaSession({ engine: mw.engine, rolling: true })).toThrow(/remove rolling/);
  });
});
