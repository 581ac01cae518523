/**
 * A store wrapped or spied on: what apps do to count store calls for metrics, and what test suites do to
 * watch or fail them (`jest.spyOn(store, 'set')`, a forwarding function in the store's place, a Proxy around
 * the whole store). Every wrapping pattern, on every sess store on its real server: log in, read, change,
 * regenerate, log out and expiry work as unwrapped, the WriteContext reaches the store through the wrapper
 * (the per-user index sees the session), the wrapper sees every call, and the app calling the wrapped methods
 * directly (promise or callback) gets what the unwrapped store gives. On MemoryStore, the same flows run side
 * by side through express-session and its own MemoryStore, for the patterns express-session supports.
 */
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import util from 'node:util';
import express from 'express';
import expressSession from 'express-session';
import session, { MemoryStore, type SessionStore } from '@sess/core';
import { FileStore } from '@sess/store-file';
import { RedisStore } from '@sess/store-redis';
import { PgStore } from '@sess/store-pg';
import { MySQLStore } from '@sess/store-mysql';
import { MongoStore } from '@sess/store-mongo';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { MongoClient } from 'mongodb';
import { serviceTest, urls } from '../../../packages/conformance/test/services';
import { Browser, serve, sleep } from './client';

const METHODS = ['get', 'set', 'touch', 'destroy'] as const;
type Method = (typeof METHODS)[number];
type Fn = (this: unknown, ...args: unknown[]) => unknown;
type Counts = Record<Method, number>;
type AnyStore = Record<string, unknown> & object;

/** A way to wrap a store's methods: returns what the app hands to the middleware (the store or a Proxy). */
interface Wrapper {
  name: string;
  /** Whether express-session works with it too (it takes only the callback). */
  express: boolean;
  /**
   * Whether the app can still call the wrapped methods the promise way: not a callbackified method, nor one
   * that drops the result (core can, since the store's own method settles core's call).
   */
  promises?: false;
  /** Whether it hands an app's third argument (the WriteContext) on. */
  handsOnContext?: false;
  wrap(store: AnyStore, counts: Counts): object;
}

/** Replace each method on the instance with `make(original, method)`. */
function replaceEach(store: AnyStore, make: (original: Fn, m: Method) => Fn): AnyStore {
  for (const m of METHODS) if (typeof store[m] === 'function') store[m] = make(store[m] as Fn, m);
  return store;
}

const wrappers: Wrapper[] = [
  {
    name: 'jest.spyOn on the instance',
    express: true,
    wrap(store, counts) {
      for (const m of METHODS) {
        const spy = jest.spyOn(store as Record<Method, Fn>, m);
        // The spy calls the original; the count is read from its calls.
        Object.defineProperty(counts, m, { get: () => spy.mock.calls.length, enumerable: true });
      }
      return store;
    },
  },
  {
    name: 'jest.fn with a forwarding implementation',
    express: true,
    wrap: (store, counts) =>
      replaceEach(store, (original, m) =>
        jest.fn(function (this: unknown, ...args: unknown[]) {
          counts[m]++;
          return original.apply(this, args);
        }) as unknown as Fn,
      ),
  },
  {
    name: 'a plain forwarding function (spread, result returned)',
    express: true,
    wrap: (store, counts) =>
      replaceEach(store, (original, m) =>
        function (this: unknown, ...args: unknown[]) {
          counts[m]++;
          return original.apply(this, args);
        },
      ),
  },
  {
    name: 'an explicit (sid, sess, cb) forwarder that drops the result',
    express: true,
    promises: false,
    wrap: (store, counts) =>
      replaceEach(store, (original, m) =>
        m === 'get' || m === 'destroy'
          ? function (this: unknown, sid: unknown, cb: unknown) {
              counts[m]++;
              original.call(this, sid, cb);
            }
          : function (this: unknown, sid: unknown, sess: unknown, cb: unknown) {
              counts[m]++;
              original.call(this, sid, sess, cb);
            },
      ),
  },
  {
    name: 'a four-argument forwarder',
    express: true,
    wrap: (store, counts) =>
      replaceEach(store, (original, m) =>
        function (this: unknown, a: unknown, b: unknown, c: unknown, d: unknown) {
          counts[m]++;
          return original.call(this, a, b, c, d);
        },
      ),
  },
  {
    // express-session passes a callback this wrapper does not hand on: under it the request would hang.
    name: 'a forwarder of the arguments before the callback (result returned)',
    express: false,
    // The app's own promise calls lose their WriteContext in it (core's do not: see the flow).
    handsOnContext: false,
    wrap: (store, counts) =>
      replaceEach(store, (original, m) =>
        m === 'get' || m === 'destroy'
          ? function (this: unknown, sid: unknown) {
              counts[m]++;
              return original.call(this, sid);
            }
          : function (this: unknown, sid: unknown, sess: unknown) {
              counts[m]++;
              return original.call(this, sid, sess);
            },
      ),
  },
  {
    name: 'an async forwarder',
    express: true,
    wrap: (store, counts) =>
      replaceEach(store, (original, m) => async function (this: unknown, ...args: unknown[]) {
        counts[m]++;
        return await original.apply(this, args);
      }),
  },
  {
    name: 'an async forwarder that awaits first and drops the result',
    express: true,
    promises: false,
    wrap: (store, counts) =>
      replaceEach(store, (original, m) => async function (this: unknown, ...args: unknown[]) {
        await null;
        counts[m]++;
        original.apply(this, args);
      }),
  },
  {
    name: 'an async forwarder that wraps the callback and drops the result',
    express: true,
    promises: false,
    wrap: (store, counts) =>
      replaceEach(store, (original, m) =>
        m === 'get' || m === 'destroy'
          ? async function (this: unknown, sid: unknown, cb: unknown) {
              await null;
              original.call(this, sid, (err: unknown, value: unknown) => {
                counts[m]++;
                (cb as Fn)(err, value);
              });
            }
          : async function (this: unknown, sid: unknown, sess: unknown, cb: unknown) {
              await null;
              original.call(this, sid, sess, (err: unknown) => {
                counts[m]++;
                (cb as Fn)(err);
              });
            },
      ),
  },
  {
    name: 'a forwarder that wraps the callback (timing it)',
    express: true,
    wrap: (store, counts) =>
      replaceEach(store, (original, m) =>
        function (this: unknown, ...args: unknown[]) {
          const last = args.length - 1;
          const cb = args[last];
          if (typeof cb === 'function') {
            args[last] = (err: unknown, value: unknown) => {
              counts[m]++;
              (cb as Fn)(err, value);
            };
          } else counts[m]++;
          return original.apply(this, args);
        },
      ),
  },
  {
    name: 'a Proxy around the whole store',
    express: true,
    wrap: (store, counts) =>
      new Proxy(store, {
        get(target, prop, receiver) {
          const value = Reflect.get(target, prop, receiver) as unknown;
          if (typeof value !== 'function' || !(METHODS as readonly PropertyKey[]).includes(prop)) return value;
          return function (this: unknown, ...args: unknown[]) {
            counts[prop as Method]++;
            return (value as Fn).apply(this, args);
          };
        },
      }),
  },
  {
    name: 'util.promisify(store.m.bind(store)) then util.callbackify',
    express: true,
    promises: false,
    wrap: (store, counts) =>
      replaceEach(store, (original, m) => {
        const promised = util.promisify(original.bind(store) as (...a: unknown[]) => void) as (...a: unknown[]) => Promise<unknown>;
        return util.callbackify(async (...args: unknown[]) => {
          counts[m]++;
          return promised(...args);
        }) as unknown as Fn;
      }),
  },
];

interface Target {
  name: string;
  service?: 'redis' | 'pg' | 'mysql' | 'mongo';
  make(n: number): SessionStore & { close?(): Promise<void> };
  drop?(): Promise<void>;
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'sess-wrap-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const ns = `wrap${process.pid}`;
const quiet = () => undefined;

const targets: Target[] = [
  { name: 'MemoryStore', make: () => new MemoryStore() },
  { name: 'FileStore', make: (n) => new FileStore({ dir: path.join(tmp, `files${n}`), reapInterval: 0 }) },
  { name: 'RedisStore', service: 'redis', make: (n) => new RedisStore({ url: urls.redis, prefix: `${ns}${n}:` }) },
  {
    name: 'PgStore',
    service: 'pg',
    make: () => new PgStore({ connectionString: urls.pg, tableName: `${ns}_pg`, createTableIfMissing: true, pruneSessionInterval: false }),
    async drop() {
      const pool = new pg.Pool({ connectionString: urls.pg });
      await pool.query(`drop table if exists "${ns}_pg"`);
      await pool.end();
    },
  },
  {
    name: 'MySQLStore',
    service: 'mysql',
    make: () => new MySQLStore({ uri: urls.mysql, schema: { tableName: `${ns}_mysql` }, pruneSessionInterval: false }),
    async drop() {
      const conn = await mysql.createConnection(urls.mysql);
      await conn.query(`drop table if exists \`${ns}_mysql\``);
      await conn.end();
    },
  },
  {
    name: 'MongoStore',
    service: 'mongo',
    make: () => new MongoStore({ url: urls.mongo, collectionName: `${ns}_mongo`, errorLog: quiet }),
    async drop() {
      const client = await MongoClient.connect(urls.mongo);
      await client.db().collection(`${ns}_mongo`).drop().catch(() => undefined);
      await client.close();
    },
  },
];

type Data = { user?: string; cart?: string[] };

/**
 * The app every flow runs: log in (regenerating the id), read, add to the cart, regenerate again, log out;
 * on `middleware` (sess's or express-session's). Store errors answer 500 with their message.
 */
function flowApp(middleware: express.RequestHandler): express.Express {
  const a = express();
  a.use(middleware);
  const data = (req: express.Request) => req.session as unknown as Data;
  a.post('/login', (req, res, next) => {
    req.session.regenerate((err?: unknown) => {
      if (err) return next(err);
      data(req).user = 'alice';
      res.send('in');
    });
  });
  a.get('/me', (req, res) => res.json({ user: data(req).user ?? null, cart: data(req).cart ?? [] }));
  a.post('/cart', (req, res) => {
    data(req).cart = [...(data(req).cart ?? []), 'apple'];
    res.send('added');
  });
  a.post('/regenerate', (req, res, next) => {
    const kept = { ...data(req) };
    req.session.regenerate((err?: unknown) => {
      if (err) return next(err);
      Object.assign(data(req), { user: kept.user, cart: kept.cart });
      res.send('regenerated');
    });
  });
  a.post('/logout', (req, res, next) => {
    req.session.destroy((err?: unknown) => (err ? next(err) : res.send('out')));
  });
  a.use(((err, _req, res, _next) => {
    res.status(500).send(`error: ${(err as Error)?.message}`);
  }) as express.ErrorRequestHandler);
  return a;
}

const SECRET = 'wrapper secret';

function sessMiddleware(store: object, maxAge: number): express.RequestHandler {
  return session({
    secret: SECRET,
    resave: false,
    saveUninitialized: false,
    store: store as never,
    cookie: { maxAge },
    userKey: (d) => (d as Data).user,
  }) as unknown as express.RequestHandler;
}

/** What a flow observed, step by step: the same under every wrapper, and under express-session. */
interface Step {
  step: string;
  status: number;
  body: string;
  cookieSent: boolean;
}

/**
 * Log in, read, change, read, regenerate, read, log out, read; `check` runs after each step with the
 * browser (to look into the store). Returns the steps and the ids the session had.
 */
async function flow(url: string, check: (step: string, b: Browser) => Promise<void> = async () => undefined): Promise<{ steps: Step[]; ids: string[] }> {
  const b = new Browser(url);
  const steps: Step[] = [];
  const ids: string[] = [];
  const run = async (method: string, p: string) => {
    const before = b.cookie;
    const r = await b.request(method, p);
    steps.push({ step: `${method} ${p}`, status: r.status, body: r.body, cookieSent: b.cookie !== before });
    if (b.sid && !ids.includes(b.sid)) ids.push(b.sid);
    await check(`${method} ${p}`, b);
  };
  await run('GET', '/me');
  await run('POST', '/login');
  await run('GET', '/me');
  await run('POST', '/cart');
  await run('GET', '/me');
  await run('POST', '/regenerate');
  await run('GET', '/me');
  await run('POST', '/logout');
  await run('GET', '/me');
  return { steps, ids };
}

const EXPECTED_BODIES = [
  '{"user":null,"cart":[]}',
  'in',
  '{"user":"alice","cart":[]}',
  'added',
  '{"user":"alice","cart":["apple"]}',
  'regenerated',
  '{"user":"alice","cart":["apple"]}',
  'out',
  '{"user":null,"cart":[]}',
];

const zero = (): Counts => ({ get: 0, set: 0, touch: 0, destroy: 0 });

targets.forEach((t, index) => {
  const svc = t.service ? serviceTest(t.service) : { available: true, missing: () => undefined };
  describe(`${t.name}, wrapped or spied on`, () => {
    if (!svc.available) {
      svc.missing(`${t.name} wrapped`);
      return;
    }
    // One store per wrapper (an own-property wrapper is not undone between cases), all in one namespace.
    const stores: Array<SessionStore & { close?(): Promise<void> }> = [];
    const fresh = () => {
      const s = t.make(index);
      stores.push(s);
      return s;
    };
    beforeAll(async () => {
      await fresh().clear!();
    });
    afterAll(async () => {
      await stores[0]!.clear!().catch(() => undefined);
      for (const s of stores) await s.close?.();
      await t.drop?.();
    });

    let reference: Record<string, number> | undefined;
    test.each(wrappers.map((w) => [w.name, w] as const))('%s: log in, read, change, regenerate, log out as unwrapped', async (_name, w) => {
      const store = fresh();
      const raw = store as unknown as AnyStore;
      const counts = zero();
      const wrapped = w.wrap(raw, counts);
      // Read through the wrapped store's own class, unwrapped: what is really stored.
      const proto = Object.getPrototypeOf(store) as Record<Method | 'listUser', Fn>;
      const storedGet = (sid: string) => proto.get.call(store, sid) as Promise<Record<string, unknown> | null>;
      const srv = await serve(flowApp(sessMiddleware(wrapped, 60_000)));
      try {
        const { steps, ids } = await flow(srv.url, async (step, b) => {
          if (step === 'POST /login' || step === 'POST /regenerate') {
            const rec = await storedGet(b.sid!);
            expect(rec).toMatchObject({ user: 'alice', cookie: { expires: expect.any(String) } });
            // Cookie derives originalMaxAge from the clock, as express-session's does: it can lose a millisecond.
            expect(60_000 - (rec!.cookie as { originalMaxAge: number }).originalMaxAge).toBeLessThanOrEqual(5);
            // The WriteContext reached the store through the wrapper: the per-user index has the session.
            const listed = (await proto.listUser.call(store, 'alice')) as Array<{ id: string }>;
            expect(listed.map((s) => s.id)).toContain(b.sid);
          }
        });
        expect(steps.map((s) => s.body)).toEqual(EXPECTED_BODIES);
        expect(steps.every((s) => s.status === 200)).toBe(true);
        // Log in and regenerate gave new ids; the old ones and the logged-out one are gone from the store.
        expect(ids).toHaveLength(2);
        for (const id of ids) expect(await storedGet(id)).toBeNull();
        expect(counts.get).toBeGreaterThan(0);
        expect(counts.set).toBeGreaterThan(0);
        expect(counts.destroy).toBeGreaterThan(0);
        // Every wrapper sees the same calls (the first one run is the reference).
        const seen = { ...counts };
        reference ??= seen;
        expect(seen).toEqual(reference);
      } finally {
        await srv.close();
      }
    });

    test.each(wrappers.map((w, i) => [w.name, w, i] as const))('%s: the app calling the wrapped methods gets what the unwrapped store gives', async (_name, w, i) => {
      const store = fresh();
      const wrapped = w.wrap(store as unknown as AnyStore, zero()) as Record<Method, Fn>;
      const sid = `${ns}Direct${index}w${i}`.padEnd(32, 'd');
      const expires = new Date(Date.now() + 60_000);
      const record = { cookie: { originalMaxAge: 60_000, expires: expires.toISOString(), httpOnly: true, path: '/' }, user: 'carol' };
      const listUser = (u: string) => (store as unknown as { listUser(u: string): Promise<Array<{ id: string }>> }).listUser(u);
      if (w.promises !== false) {
        // The sess contract: promises and a WriteContext.
        await wrapped.set(sid, record, { expires, userKey: 'carol' });
        expect(await wrapped.get(sid)).toEqual(record);
        await wrapped.touch(sid, record, { expires: new Date(Date.now() + 120_000), userKey: 'carol' });
        expect(await wrapped.get(sid)).toMatchObject({ user: 'carol' });
        if (w.handsOnContext !== false) expect((await listUser('carol')).map((s) => s.id)).toContain(sid);
        // util.callbackify over the promise form.
        const cbGet = util.callbackify(wrapped.get.bind(wrapped) as (sid: string) => Promise<unknown>);
        expect(await new Promise((resolve, reject) => cbGet(sid, (err, v) => (err ? reject(err) : resolve(v))))).toEqual(await wrapped.get(sid));
      }
      if (w.express) {
        // express-session's: callbacks, and util.promisify over them.
        const viaCb = (m: Method, ...args: unknown[]) =>
          new Promise<{ err: unknown; value: unknown }>((resolve) => {
            wrapped[m](...args, (err: unknown, value: unknown) => resolve({ err, value }));
          });
        const asExpressSessionHands = { cookie: { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000), httpOnly: true, path: '/' }, user: 'dave' };
        expect((await viaCb('set', sid, asExpressSessionHands)).err).toBeFalsy();
        const got = await viaCb('get', sid);
        expect(got.err).toBeFalsy();
        expect(got.value).toMatchObject({ user: 'dave' });
        const promisedGet = util.promisify(wrapped.get.bind(wrapped) as (sid: string, cb: (err: unknown, v: unknown) => void) => void);
        expect(await promisedGet(sid)).toEqual(got.value);
        expect((await viaCb('touch', sid, asExpressSessionHands)).err).toBeFalsy();
        expect((await viaCb('destroy', sid)).err).toBeFalsy();
        const miss = await viaCb('get', sid);
        expect(miss.err).toBeFalsy();
        expect(miss.value ?? null).toBeNull();
      } else {
        await wrapped.destroy(sid);
      }
      expect(await (Object.getPrototypeOf(store) as Record<Method, Fn>).get.call(store, sid)).toBeNull();
    });

    test('expiry through every wrapper: the session ends when its cookie does', async () => {
      const maxAge = 1500;
      const runs = await Promise.all(
        wrappers.map(async (w) => {
          const store = fresh();
          const srv = await serve(flowApp(sessMiddleware(w.wrap(store as unknown as AnyStore, zero()), maxAge)));
          const b = new Browser(srv.url);
          await b.request('POST', '/login');
          const before = await b.me();
          // That read touched the session: its expiry counts from no later than now.
          return { w, srv, b, touched: Date.now(), before };
        }),
      );
      try {
        for (const r of runs) expect({ wrapper: r.w.name, user: r.before.user }).toEqual({ wrapper: r.w.name, user: 'alice' });
        const latest = Math.max(...runs.map((r) => r.touched));
        await sleep(Math.max(0, latest + maxAge + 300 - Date.now()));
        for (const r of runs) expect({ wrapper: r.w.name, user: (await r.b.me()).user }).toEqual({ wrapper: r.w.name, user: null });
      } finally {
        for (const r of runs) await r.srv.close();
      }
    });
  });
});

describe('side by side with express-session and its MemoryStore, wrapped the same way', () => {
  test.each(wrappers.filter((w) => w.express).map((w) => [w.name, w] as const))('%s', async (_name, w) => {
    const observe = async (which: 'express-session' | 'sess') => {
      const counts = zero();
      const base = which === 'sess' ? new MemoryStore() : new expressSession.MemoryStore();
      const store = w.wrap(base as unknown as AnyStore, counts);
      const options = { secret: SECRET, resave: false, saveUninitialized: false, store: store as never, cookie: { maxAge: 60_000 } };
      const mw = (which === 'sess' ? session(options) : expressSession(options)) as unknown as express.RequestHandler;
      const srv = await serve(flowApp(mw));
      try {
        const { steps, ids } = await flow(srv.url);
        return { steps, ids: ids.length, counts: { ...counts } };
      } finally {
        await srv.close();
      }
    };
    const expected = await observe('express-session');
    const actual = await observe('sess');
    expect(expected.steps.map((s) => s.body)).toEqual(EXPECTED_BODIES);
    expect(actual).toEqual(expected);
  });
});
