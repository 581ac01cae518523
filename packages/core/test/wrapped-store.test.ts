/**
 * Something other than a store's own method in its place, seen from core: a spy on the prototype, a
 * subclass's override, a wrapper that fails after handing its arguments on, a replacement of its own. The
 * store's own method, when reached, decides the outcome; what the wrapper adds (a throw, a rejection) still
 * counts. tests/compat/test/wrappers.test.ts runs the wrapping patterns on every store on its real server.
 */
import { afterEach, describe, expect, jest, test } from '@jest/globals';
import express from 'express';
import session, { MemoryStore, type SessionRecord, type WriteContext } from '@sess/core';
import { client, listen } from './helpers';

type Data = { user?: string };

function app(store: object) {
  const a = express();
  a.use(session({ secret: 's', resave: false, saveUninitialized: false, store: store as never, cookie: { maxAge: 60_000 }, userKey: (d) => (d as Data).user }));
  a.get('/login', (req, res) => {
    (req.session as unknown as Data).user = 'ann';
    res.send('in');
  });
  a.get('/me', (req, res) => res.send((req.session as unknown as Data).user ?? 'nobody'));
  const errors: Error[] = [];
  a.use(((err, _req, res, _next) => {
    errors.push(err as Error);
    if (!res.headersSent) res.status(500).send(`error: ${(err as Error).message}`);
  }) as express.ErrorRequestHandler);
  return { a, errors };
}

async function loginThenRead(store: object) {
  const { a, errors } = app(store);
  const srv = await listen(a);
  try {
    const c = client(srv.url);
    const login = await c.get('/login');
    const me = await c.get('/me');
    return { login: login.body, me: me.body, errors };
  } finally {
    await srv.close();
  }
}

const spies: Array<{ mockRestore(): void }> = [];
afterEach(() => {
  for (const s of spies.splice(0)) s.mockRestore();
});

describe('a store method wrapped or replaced', () => {
  test('jest.spyOn on the prototype: core calls the spy and the session is kept (the sync path stands aside)', async () => {
    const set = jest.spyOn(MemoryStore.prototype as unknown as { set: (...a: unknown[]) => unknown }, 'set');
    const get = jest.spyOn(MemoryStore.prototype as unknown as { get: (...a: unknown[]) => unknown }, 'get');
    spies.push(set, get);
    const store = new MemoryStore();
    expect(await loginThenRead(store)).toMatchObject({ login: 'in', me: 'ann', errors: [] });
    expect(set).toHaveBeenCalled();
    expect(get).toHaveBeenCalled();
    expect((await store.listUser('ann')).length).toBe(1);
  });

  test("a subclass's override that calls super with what it was given", async () => {
    const seen: Array<{ expires: unknown; userKey: unknown }> = [];
    class Audited extends MemoryStore {
      override async set(sid: string, record: SessionRecord, ctx: WriteContext): Promise<void> {
        seen.push({ expires: ctx.expires, userKey: ctx.userKey });
        await super.set(sid, record, ctx);
      }
    }
    const store = new Audited();
    expect(await loginThenRead(store)).toMatchObject({ login: 'in', me: 'ann', errors: [] });
    expect(seen[0]).toEqual({ expires: expect.any(Date), userKey: 'ann' });
    expect((await store.listUser('ann')).length).toBe(1);
  });

  test('a wrapper that throws after handing its arguments on: the error reaches next(err), typed', async () => {
    const store = new MemoryStore();
    const set = store.set;
    (store as unknown as Record<string, unknown>).set = function (this: unknown, ...args: unknown[]) {
      (set as (...a: unknown[]) => unknown).apply(this, args);
      throw new Error('metrics backend down');
    };
    const r = await loginThenRead(store);
    expect(r.errors[0]).toMatchObject({ name: 'StoreError', operation: 'set', cause: { message: 'metrics backend down' } });
  });

  test('a wrapper whose own promise rejects after the store wrote: the write stands, as under express-session', async () => {
    const store = new MemoryStore();
    const set = store.set;
    (store as unknown as Record<string, unknown>).set = async function (this: unknown, ...args: unknown[]) {
      await (set as (...a: unknown[]) => Promise<unknown>).apply(this, args);
      throw new Error('after the write');
    };
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      // The store's own set settled core's call; the wrapper's later rejection is not an unhandled one.
      expect(await loginThenRead(store)).toMatchObject({ login: 'in', me: 'ann', errors: [] });
      await new Promise((r) => setImmediate(r));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  test('a wrapper that resolves early and drops the store call: the store call decides (its failure is reported)', async () => {
    const store = new MemoryStore();
    const set = store.set;
    (store as unknown as Record<string, unknown>).set = async function (this: unknown, sid: unknown, _record: unknown, cb: unknown) {
      // Hands on something the store refuses: a session without a cookie object.
      (set as (...a: unknown[]) => unknown).call(this, sid, { user: 'no cookie' }, cb);
    };
    const r = await loginThenRead(store);
    expect(r.errors[0]).toMatchObject({ name: 'StoreError', operation: 'set' });
  });

  test('a replacement of its own, promise style, reads the WriteContext from its third argument', async () => {
    const store = new MemoryStore();
    const got: Array<{ expires: unknown; userKey: unknown; json: unknown }> = [];
    const own = store as unknown as Record<string, unknown>;
    const set = store.set.bind(store);
    own.set = async (sid: string, record: SessionRecord, ctx: WriteContext) => {
      got.push({ expires: ctx.expires, userKey: ctx.userKey, json: ctx.json });
      await set(sid, record, { expires: ctx.expires, userKey: ctx.userKey });
    };
    expect(await loginThenRead(store)).toMatchObject({ login: 'in', me: 'ann', errors: [] });
    expect(got[0]).toMatchObject({ expires: expect.any(Date), userKey: 'ann' });
  });

  test('a replacement of its own, callback style, that never reaches the store: its callback decides', async () => {
    const store = new MemoryStore();
    (store as unknown as Record<string, unknown>).get = (_sid: string, cb: (err: unknown, v?: unknown) => void) => setImmediate(() => cb(null, { cookie: { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000).toISOString(), path: '/', httpOnly: true }, user: 'forged-by-test' }));
    const r = await loginThenRead(store);
    expect(r.me).toBe('forged-by-test');
  });
});

test("a wrapper handing MemoryStore a record with another cookie object than core's: the store keeps the wrapper's cookie", async () => {
  const store = new MemoryStore();
  const own = store.set.bind(store) as (sid: string, rec: SessionRecord, ctx: WriteContext) => Promise<void>;
  (store as unknown as { set: unknown }).set = (sid: string, rec: SessionRecord, ctx: WriteContext) =>
    own(sid, { ...rec, cookie: { ...(rec.cookie as object), path: '/wrapped' } as never }, ctx);
  const r = await loginThenRead(store);
  expect(r.login).toBe('in');
  const all = (await store.all()) as Record<string, SessionRecord>;
  const [record] = Object.values(all);
  expect((record!.cookie as { path?: string }).path).toBe('/wrapped');
  expect(record).toMatchObject({ user: 'ann' });
});
