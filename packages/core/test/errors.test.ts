import { describe, expect, test } from '@jest/globals';
import express, { type ErrorRequestHandler } from 'express';
import debug from 'debug';
import session, { MemoryStore, SessError, StoreError, StoreTimeoutError, type SessionRecord, type SessEvent } from '@sess/core';
import { client, listen } from './helpers';

type S = Record<string, unknown>;

/** A MemoryStore whose operations can be made to fail or hang, with the last error message kept. */
class FlakyStore extends MemoryStore {
  mode: 'ok' | 'fail' | 'hang' = 'ok';
  private gate<T>(fn: () => Promise<T>, sid: string): Promise<T> {
    if (this.mode === 'fail') return Promise.reject(new Error(`connection refused while reading key sess:${sid}`));
    if (this.mode === 'hang') return new Promise<T>(() => undefined);
    return fn();
  }
  override get(sid: string) {
    return this.gate(() => super.get(sid), sid);
  }
  override set(sid: string, r: SessionRecord, c: { expires: Date }) {
    return this.gate(() => super.set(sid, r, c), sid);
  }
  override destroy(sid: string) {
    return this.gate(() => super.destroy(sid), sid);
  }
  override touch(sid: string, r: SessionRecord, c: { expires: Date }) {
    return this.gate(() => super.touch(sid, r, c), sid);
  }
}

const handler: ErrorRequestHandler = (err, _req, res, _next) => {
  res.status(err.status ?? 500).json({ code: err.code ?? null, name: err.name, message: err.message, cause: String(err.cause?.message ?? '') });
};

function app(store: MemoryStore, extra: Record<string, unknown> = {}) {
  const a = express();
  const mw = session({ secret: 's', resave: false, saveUninitialized: false, store, storeTimeout: 200, cookie: { maxAge: 60_000 }, ...extra });
  a.use(mw);
  a.get('/login', (req, res) => {
    (req.session as unknown as S).user = 'ann';
    res.send('ok');
  });
  a.get('/me', (req, res) => res.send(String((req.session as unknown as S | undefined)?.user ?? 'anon')));
  a.get('/logout', async (req, res, next) => {
    try {
      await req.session.destroy();
      res.send('bye');
    } catch (err) {
      next(err);
    }
  });
  a.get('/bigint', (req, res) => {
    (req.session as unknown as S).n = 10n;
    res.send('ok');
  });
  a.get('/circular', (req, res) => {
    const o: S = {};
    o.self = o;
    (req.session as unknown as S).o = o;
    res.send('ok');
  });
  a.use(handler);
  return { a, mw };
}

describe('store failures', () => {
  test('a failing store gives a typed 503 through next(err), with no session id in it', async () => {
    const store = new FlakyStore();
    const { a, mw } = app(store);
    const events: SessEvent[] = [];
    mw.on('storeError', (e) => events.push(e));
    const srv = await listen(a);
    const c = client(srv.url);
    await c.get('/login');
    const sid = decodeURIComponent(c.jar!.split('=')[1]!).slice(2).split('.')[0]!;
    store.mode = 'fail';
    const r = await c.get('/me');
    expect(r.status).toBe(503);
    const body = JSON.parse(r.body);
    expect(body.code).toBe('SESS_STORE');
    expect(body.name).toBe('StoreError');
    expect(r.body).not.toContain(sid);
    expect(body.cause).toContain('[session id]');
    expect(events).toHaveLength(1);
    expect(events[0]!.error).toBeInstanceOf(StoreError);
    expect(JSON.stringify(events)).not.toContain(sid);
    // the store recovers: used again without a restart
    store.mode = 'ok';
    expect((await c.get('/me')).body).toBe('ann');
    await srv.close();
  });

  test('a hung store gives a StoreTimeoutError within storeTimeout, never a hung request', async () => {
    const store = new FlakyStore();
    const { a } = app(store);
    const srv = await listen(a);
    const c = client(srv.url);
    await c.get('/login');
    store.mode = 'hang';
    const t0 = Date.now();
    const r = await c.get('/me');
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body).code).toBe('SESS_STORE_TIMEOUT');
    expect(Date.now() - t0).toBeLessThan(5000);
    store.mode = 'ok';
    expect((await c.get('/me')).body).toBe('ann');
    await srv.close();
  });

  test('logout while the store is down never reports success', async () => {
    const store = new FlakyStore();
    const { a } = app(store);
    const srv = await listen(a);
    const c = client(srv.url);
    await c.get('/login');
    // load succeeds, destroy fails
    const origDestroy = store.destroy.bind(store);
    store.destroy = () => Promise.reject(new Error('down'));
    const r = await c.get('/logout');
    expect(r.status).toBe(503);
    expect(r.body).not.toContain('bye');
    store.destroy = origDestroy;
    expect((await c.get('/me')).body).toBe('ann');
    await srv.close();
  });

  test("onStoreError: 'continue' serves the request without a session", async () => {
    const store = new FlakyStore();
    const { a } = app(store, { onStoreError: 'continue' });
    const srv = await listen(a);
    const c = client(srv.url);
    await c.get('/login');
    store.mode = 'fail';
    const r = await c.get('/me');
    expect(r.status).toBe(200);
    expect(r.body).toBe('anon');
    expect(r.setCookie).toEqual([]);
    store.mode = 'ok';
    expect((await c.get('/me')).body).toBe('ann');
    await srv.close();
  });

  test('a save failure reaches next(err); with saveBeforeSend the client gets the 503', async () => {
    const store = new FlakyStore();
    const { a } = app(store, { saveBeforeSend: true });
    const srv = await listen(a);
    store.mode = 'fail';
    const r = await client(srv.url).get('/login');
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body).code).toBe('SESS_STORE');
    expect(r.setCookie).toEqual([]);
    await srv.close();
  });

  test('a save failure without saveBeforeSend is passed to next(err) (response already streaming)', async () => {
    const store = new FlakyStore();
    const seen: unknown[] = [];
    const a = express();
    a.use(session({ secret: 's', resave: false, saveUninitialized: false, store }));
    a.get('/login', (req, res) => {
      (req.session as unknown as S).user = 'ann';
      res.send('ok');
    });
    a.use(((err, _req, _res, next) => {
      seen.push(err);
      next();
    }) as ErrorRequestHandler);
    const srv = await listen(a);
    store.mode = 'fail';
    await client(srv.url).get('/login');
    // The failure may come after the response: wait for it (bounded), then make sure it came once.
    for (let i = 0; i < 100 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toHaveLength(1);
    expect(SessError.isInstance(seen[0])).toBe(true);
    await srv.close();
  });
});

describe('bad session data fails the request with a clear error, never a hang', () => {
  test.each(['/bigint', '/circular'])('%s', async (path) => {
    const { a } = app(new MemoryStore());
    const srv = await listen(a);
    const r = await client(srv.url).get(path);
    expect(r.status).toBe(500);
    const body = JSON.parse(r.body);
    expect(body.code).toBe('SESS_BAD_DATA');
    expect(body.message).toMatch(/plain JSON values/);
    await srv.close();
  });
});

describe('debug logging', () => {
  test('DEBUG=sess:* logs each step with hashed ids, never the id', async () => {
    const lines: string[] = [];
    const prevLog = debug.log;
    debug.enable('sess:*');
    debug.log = (...args: unknown[]) => lines.push(args.map(String).join(' '));
    try {
      const store = new FlakyStore();
      const { a } = app(store);
      const srv = await listen(a);
      const c = client(srv.url);
      await c.get('/login');
      await c.get('/me');
      await c.get('/logout');
      store.mode = 'fail';
      await c.get('/login');
      await c.get('/me');
      await srv.close();
      const sid = decodeURIComponent(c.jar!.split('=')[1]!).slice(2).split('.')[0]!;
      expect(lines.join("\n")).not.toContain(sid);
      expect(lines.some((l) => /saving/.test(l))).toBe(true);
      expect(lines.some((l) => /loading/.test(l))).toBe(true);
      expect(lines.some((l) => /destroying/.test(l))).toBe(true);
    } finally {
      debug.log = prevLog;
      debug.disable();
    }
  });
});

test('StoreTimeoutError names the operation', () => {
  const e = new StoreTimeoutError('get', 100);
  expect(e.message).toMatch(/get\(\) did not answer within 100 ms/);
  expect(e.status).toBe(503);
});
