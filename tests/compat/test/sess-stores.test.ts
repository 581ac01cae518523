/**
 * Every sess store called the ways apps and tools call express-session stores: node-style callbacks on every
 * method with the same results as the promises, the session object as express-session hands it to `set` and
 * `touch` (a Cookie, `expires` as a Date or an ISO string), a TypeError naming the shapes for arguments of
 * none, a method replaced on the instance with a callback-style function, and misspelled option names refused.
 * On the real servers.
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Cookie, MemoryStore, SessError, type SessionStore } from '@sess/core';
import { FileStore } from '@sess/store-file';
import { RedisStore } from '@sess/store-redis';
import { PgStore } from '@sess/store-pg';
import { MySQLStore } from '@sess/store-mysql';
import { MongoStore } from '@sess/store-mongo';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { MongoClient } from 'mongodb';
import { serviceTest, urls } from '../../../packages/conformance/test/services';
import { Browser, authApp, serve } from './client';

type Cb = (err?: unknown, value?: unknown) => void;
type CallbackApi = Record<'get' | 'set' | 'touch' | 'destroy' | 'all' | 'length' | 'clear', (...args: unknown[]) => unknown>;

const tmp = mkdtempSync(path.join(os.tmpdir(), 'sess-cb-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const ns = `cb${process.pid}`;
const quiet = () => undefined;

interface Target {
  name: string;
  service?: 'redis' | 'pg' | 'mysql' | 'mongo';
  make(): SessionStore & { close?(): Promise<void> };
  drop?(): Promise<void>;
  misspelled: [Record<string, unknown>, RegExp];
}

const targets: Target[] = [
  { name: 'MemoryStore', make: () => new MemoryStore(), misspelled: [{ checkPeriode: 10 }, /did you mean "checkPeriod"/] },
  { name: 'FileStore', make: () => new FileStore({ dir: path.join(tmp, 'files'), reapInterval: 0 }), misspelled: [{ dri: tmp }, /did you mean "dir"/] },
  { name: 'RedisStore', service: 'redis', make: () => new RedisStore({ url: urls.redis, prefix: `${ns}:` }), misspelled: [{ prefx: 'app:' }, /did you mean "prefix"/] },
  {
    name: 'PgStore',
    service: 'pg',
    make: () => new PgStore({ connectionString: urls.pg, tableName: `${ns}_pg`, createTableIfMissing: true, pruneSessionInterval: false }),
    async drop() {
      const pool = new pg.Pool({ connectionString: urls.pg });
      await pool.query(`drop table if exists "${ns}_pg"`);
      await pool.end();
    },
    misspelled: [{ tablename: 'user_sessions' }, /did you mean "tableName"/],
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
    // express-mysql-session's table name lives under schema: the top-level name is the common mistake.
    misspelled: [{ tableName: 'app_sessions' }, /did you mean "schema\.tableName"/],
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
    misspelled: [{ collection: 'sessions' }, /did you mean "collectionName"/],
  },
];

/** Call `method` with a node-style callback; resolve what it calls back with. */
function viaCallback(store: object, method: keyof CallbackApi, ...args: unknown[]): Promise<{ err: unknown; value: unknown; returned: unknown }> {
  return new Promise((resolve) => {
    const box: { returned?: unknown } = {};
    const cb: Cb = (err, value) => setImmediate(() => resolve({ err, value, returned: box.returned }));
    box.returned = (store as CallbackApi)[method](...args, cb);
  });
}

/** A session as express-session hands it to set(): a Cookie (expires a Date) and the data. */
function expressSessionObject(maxAge: number, data: Record<string, unknown>) {
  const cookie = new Cookie({ maxAge });
  return Object.assign({ cookie }, data);
}

const sid = (n: number) => `${ns}CallbackSid${n}`.padEnd(32, 'x');

for (const t of targets) {
  const svc = t.service ? serviceTest(t.service) : { available: true, missing: () => undefined };
  describe(`${t.name}: express-session's calling conventions`, () => {
    if (!svc.available) {
      svc.missing(`${t.name}'s callback API`);
      return;
    }
    let store: ReturnType<Target['make']>;
    beforeAllStore();
    function beforeAllStore() {
      const { beforeAll, afterAll: after } = require('@jest/globals') as typeof import('@jest/globals');
      beforeAll(async () => {
        store = t.make();
        await store.clear!();
      });
      after(async () => {
        await store.clear!().catch(() => undefined);
        await store.close?.();
        await t.drop?.();
      });
    }

    test('set, get, touch, all, length, destroy, clear by callback agree with the promises', async () => {
      const a = sid(1);
      const sess = expressSessionObject(60_000, { user: 'alice', cart: ['apple'] });
      const set = await viaCallback(store, 'set', a, sess);
      expect(set.err).toBeFalsy();
      expect(set.returned).toBeUndefined();

      const got = await viaCallback(store, 'get', a);
      expect(got.err).toBeFalsy();
      expect(got.value).toMatchObject({ user: 'alice', cart: ['apple'], cookie: { httpOnly: true, path: '/' } });
      const stored = got.value as { cookie: { expires: string; originalMaxAge: number } };
      // Cookie derives originalMaxAge from the clock, as express-session's does: it can lose a millisecond.
      expect(60_000 - stored.cookie.originalMaxAge).toBeLessThanOrEqual(5);
      expect(typeof stored.cookie.expires).toBe('string');
      expect(Math.abs(Date.parse(stored.cookie.expires) - (sess.cookie.expires as Date).getTime())).toBeLessThan(1000);
      expect(await store.get(a)).toEqual(got.value);

      // touch with express-session's arguments: the session (expires later), then a callback.
      const later = expressSessionObject(120_000, { user: 'alice', cart: ['apple'] });
      expect((await viaCallback(store, 'touch', a, later)).err).toBeFalsy();
      expect((await viaCallback(store, 'get', a)).value).toMatchObject({ user: 'alice' });

      // set without a callback and with expires as an ISO string (a session read back from a store) resolves.
      const b = sid(2);
      await (store.set as unknown as (s: string, v: unknown) => Promise<void>)(b, { cookie: { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000).toISOString(), httpOnly: true, path: '/' }, user: 'bob' });
      expect((await store.get(b))?.user).toBe('bob');

      const all = await viaCallback(store, 'all');
      expect(all.err).toBeFalsy();
      expect(Object.keys(all.value as object).sort()).toEqual([a, b].sort());
      expect(all.value).toEqual(await store.all!());
      const length = await viaCallback(store, 'length');
      expect(length.value).toBe(2);
      expect(await store.length!()).toBe(2);

      expect((await viaCallback(store, 'destroy', a)).err).toBeFalsy();
      const miss = await viaCallback(store, 'get', a);
      expect(miss.err).toBeFalsy();
      expect(miss.value).toBeUndefined(); // as express-session's MemoryStore calls back on a miss
      expect(await store.get(a)).toBeNull();

      expect((await viaCallback(store, 'clear')).err).toBeFalsy();
      expect((await viaCallback(store, 'length')).value).toBe(0);
    });

    test('a session whose cookie expired is not stored', async () => {
      const c = sid(3);
      const sess = { cookie: { originalMaxAge: 1000, expires: new Date(Date.now() - 1000), httpOnly: true, path: '/' }, user: 'old' };
      expect((await viaCallback(store, 'set', c, sess)).err).toBeFalsy();
      expect((await viaCallback(store, 'get', c)).value).toBeUndefined();
    });

    test('arguments of no supported shape: a TypeError naming the shapes, never a hang; an id that is no string: SESS_BAD_ID; a session without a cookie: SESS_BAD_DATA', async () => {
      const s = store as unknown as CallbackApi;
      expect(() => s.get(sid(4), 'not a callback')).toThrow(/get\(sid\) returning a promise, or get\(sid, callback\)/);
      expect(() => s.get(sid(4), () => undefined, 'extra')).toThrow(TypeError);
      expect(() => s.set(sid(4), { cookie: {} }, 'not a callback')).toThrow(/set\(sid, session, ctx\?\) returning a promise, or set\(sid, session, callback\)/);
      // A session that is none (no cookie object) is bad data, not a bad call: a typed error where the result goes.
      for (const bad of [undefined, { user: 'no cookie' }]) {
        const viaSet = await viaCallback(store, 'set', sid(4), bad);
        expect(viaSet.err).toMatchObject({ name: 'BadDataError', code: 'SESS_BAD_DATA', message: expect.stringMatching(/cookie object/) });
        await expect(s.touch(sid(4), bad) as Promise<unknown>).rejects.toMatchObject({ code: 'SESS_BAD_DATA' });
      }
      expect((await viaCallback(store, 'get', sid(4))).value).toBeUndefined();
      expect(() => s.destroy(sid(4), 'x')).toThrow(TypeError);
      expect(() => s.length('x')).toThrow(TypeError);
      await expect(s.get(42) as Promise<unknown>).rejects.toMatchObject({ code: 'SESS_BAD_ID', message: expect.stringMatching(/must be a string, got number/) });
      const viaCb = await viaCallback(store, 'get', { $ne: null });
      expect(viaCb.err).toMatchObject({ code: 'SESS_BAD_ID' });
    });

    test('a method replaced on the instance with a callback-style function: its error reaches next(err), its result is used', async () => {
      const app = authApp(store, 60_000);
      const errors = app.locals.errors as Error[];
      const srv = await serve(app);
      const own = store as unknown as CallbackApi;
      try {
        // A wrapper in express-session's style around the store's own method: used as it is.
        const original = own.get;
        let wrapped = 0;
        own.get = function (this: unknown, id: unknown, cb: unknown) {
          wrapped++;
          return original.call(this, id, cb);
        };
        const b = new Browser(srv.url);
        await b.request('POST', '/login');
        expect((await b.me()).user).toBe('alice');
        expect(wrapped).toBeGreaterThan(0);

        // A failure injected the callback way reaches the app's error handler, the store's error as its cause.
        own.set = function (_id: unknown, _sess: unknown, cb: unknown) {
          (cb as Cb)(new Error('injected write failure'));
        };
        await b.request('POST', '/cart');
        for (let i = 0; i < 100 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
        expect(errors).toHaveLength(1);
        expect(errors[0]).toMatchObject({ name: 'StoreError', operation: 'set', cause: { message: 'injected write failure' } });
      } finally {
        delete (own as Partial<CallbackApi>).get;
        delete (own as Partial<CallbackApi>).set;
        await srv.close();
      }
    });

    test('a misspelled option is a ConfigError naming the closest option', () => {
      const [opts, message] = t.misspelled;
      const Ctor = (store as object).constructor as new (o: unknown) => unknown;
      let err: unknown;
      try {
        new Ctor(opts);
      } catch (e) {
        err = e;
      }
      expect(SessError.isInstance(err)).toBe(true);
      expect((err as Error).name).toBe('ConfigError');
      expect((err as Error).message).toMatch(message);
    });
  });
}
