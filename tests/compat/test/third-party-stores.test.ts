/**
 * The express-session stores people run, constructed from @sess/core's `session` exactly as their READMEs
 * show (`require('x')(session)` factories of ES5 stores, classes extending `session.Store`, and stores that
 * bring their own base class), each on its real server: log in (regenerate), read, change, log out and expiry
 * through @sess/core, and the store read back with its own callback API.
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import session from '@sess/core';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { MongoClient } from 'mongodb';
import { mysqlOptions, serviceTest, urls } from '../../../packages/conformance/test/services';
import { Browser, authApp, getByCallback, serve, sleep } from './client';

const MAX_AGE = 2000;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'sess-compat-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Made {
  store: object;
  close(): Promise<void>;
}
interface Target {
  name: string;
  service?: 'redis' | 'pg' | 'mysql' | 'mongo' | 'memcached';
  /** false for a store that never expires a session by its cookie (the same under express-session). */
  expires?: false;
  make(): Promise<Made>;
}

const run = `compat${process.pid}`;

const targets: Target[] = [
  {
    name: 'memorystore (require("memorystore")(session))',
    async make() {
      const MemoryStore = require('memorystore')(session);
      const store = new MemoryStore({ checkPeriod: 86_400_000 });
      return { store, close: async () => store.stopInterval() };
    },
  },
  {
    name: 'session-file-store (ES5: Store.call + util.inherits)',
    async make() {
      const FileStore = require('session-file-store')(session);
      const store = new FileStore({ path: path.join(tmp, 'files'), ttl: MAX_AGE / 1000, reapInterval: -1, logFn: () => undefined });
      return { store, close: async () => undefined };
    },
  },
  {
    name: 'connect-redis 6 (require("connect-redis")(session), ioredis)',
    service: 'redis',
    async make() {
      const RedisStore = require('connect-redis6')(session);
      const client = new Redis(urls.redis);
      const store = new RedisStore({ client, prefix: `${run}:v6:` });
      return { store, close: async () => void (await client.quit()) };
    },
  },
  {
    name: 'connect-redis current (class, node-redis)',
    service: 'redis',
    async make() {
      const { RedisStore } = require('connect-redis');
      const client = createClient({ url: urls.redis });
      await client.connect();
      const store = new RedisStore({ client, prefix: `${run}:cur:` });
      return { store, close: async () => void (await client.quit()) };
    },
  },
  {
    name: 'connect-pg-simple (require("connect-pg-simple")(session))',
    service: 'pg',
    async make() {
      const PgSession = require('connect-pg-simple')(session);
      const pool = new pg.Pool({ connectionString: urls.pg, max: 4 });
      const tableName = `${run}_pg`;
      const store = new PgSession({ pool, tableName, createTableIfMissing: true, pruneSessionInterval: false });
      return {
        store,
        async close() {
          await pool.query(`drop table if exists "${tableName}"`);
          await pool.end();
        },
      };
    },
  },
  {
    name: 'express-mysql-session (require("express-mysql-session")(session))',
    service: 'mysql',
    async make() {
      const MySQLStore = require('express-mysql-session')(session);
      const tableName = `${run}_mysql`;
      const store = new MySQLStore({ ...mysqlOptions(), schema: { tableName } });
      await store.onReady();
      return {
        store,
        async close() {
          await store.close();
          const conn = await mysql.createConnection(urls.mysql);
          await conn.query(`drop table if exists \`${tableName}\``);
          await conn.end();
        },
      };
    },
  },
  {
    name: 'connect-mongo (MongoStore.create)',
    service: 'mongo',
    async make() {
      const MongoStore = require('connect-mongo').default ?? require('connect-mongo');
      const collectionName = `${run}_cm`;
      // The test server (FerretDB) has no TTL indexes, so the README's default autoRemove ('native') cannot start
      // there; 'interval' is the README's other mode (and connect-mongo checks expiry on read either way).
      const store = MongoStore.create({ mongoUrl: urls.mongo, collectionName, autoRemove: 'interval', autoRemoveInterval: 60 });
      return {
        store,
        async close() {
          await store.close();
          await dropCollection(collectionName);
        },
      };
    },
  },
  {
    name: 'connect-mongodb-session (require("connect-mongodb-session")(session))',
    service: 'mongo',
    async make() {
      const MongoDBStore = require('connect-mongodb-session')(session);
      const collection = `${run}_cms`;
      const store = new MongoDBStore({ uri: urls.mongo, collection });
      // It creates a TTL index on connect, which the test server (FerretDB) refuses: it reports that as an
      // 'error' event and works on (expiry is also checked on read). Any other error fails the test.
      const errors: Error[] = [];
      store.on('error', (e: Error) => errors.push(e));
      await store.initialConnectionPromise;
      if (errors.some((e) => !/expireAfterSeconds/.test(e.message))) throw errors[0];
      return {
        store,
        async close() {
          await store.client.close();
          await dropCollection(collection);
        },
      };
    },
  },
  // Stores no issue names, built the same ways: more ES5 factories, and a class extending session.Store.
  {
    name: 'connect-loki (ES5, embedded LokiJS)',
    // Its get() never checks an expiry and its collection is created without a ttl: sessions do not expire,
    // under express-session as under sess.
    expires: false,
    async make() {
      const LokiStore = require('connect-loki')(session);
      const store = new LokiStore({ path: path.join(tmp, 'sessions.loki.db') });
      await new Promise((resolve) => store.once('connect', resolve));
      return { store, close: () => new Promise<void>((resolve) => store.client.close(() => resolve())) };
    },
  },
  {
    name: 'nedb-session-store (ES5, embedded NeDB)',
    async make() {
      const NedbStore = require('nedb-session-store')(session);
      const store = new NedbStore({ filename: path.join(tmp, 'sessions.nedb') });
      return { store, close: async () => store.datastore.persistence.stopAutocompaction() };
    },
  },
  {
    name: 'connect-memcached (ES5, __proto__ = Store.prototype)',
    service: 'memcached',
    async make() {
      const MemcachedStore = require('connect-memcached')(session);
      const store = new MemcachedStore({ hosts: [urls.memcached], prefix: `${run}:` });
      return { store, close: async () => store.client.end() };
    },
  },
  {
    name: 'connect-session-sequelize (class extends session.Store)',
    service: 'pg',
    async make() {
      const { Sequelize } = require('sequelize');
      const SequelizeStore = require('connect-session-sequelize')(session.Store);
      const db = new Sequelize(urls.pg, { logging: false });
      const tableName = `${run}_sequelize`;
      // It expires sessions by its cleanup job only (not on read): run it every half second, as its
      // checkExpirationInterval option allows, so the expiry step sees the session go.
      const store = new SequelizeStore({ db, tableName, checkExpirationInterval: 500 });
      await store.sync();
      return {
        store,
        async close() {
          store.stopExpiringSessions();
          await db.query(`drop table if exists "${tableName}"`);
          await db.close();
        },
      };
    },
  },
];

async function dropCollection(name: string) {
  const client = await MongoClient.connect(urls.mongo);
  try {
    await client.db().collection(name).drop().catch(() => undefined);
  } finally {
    await client.close();
  }
}

for (const t of targets) {
  const svc = t.service ? serviceTest(t.service) : { available: true, missing: () => undefined };
  describe(t.name, () => {
    if (!svc.available) {
      svc.missing(`the drop-in test of ${t.name}`);
      return;
    }
    test('is a session.Store, and logs in, reads, changes, logs out and expires through @sess/core', async () => {
      const { store, close } = await t.make();
      const srv = await serve(authApp(store, MAX_AGE));
      try {
        // connect-redis and connect-mongo bring express-session's Store as their base; the others take ours.
        if (!/connect-redis current|connect-mongo \(/.test(t.name)) expect(store).toBeInstanceOf(session.Store);
        const b = new Browser(srv.url);
        expect(await b.me()).toEqual({ user: null, cart: [] });
        expect(b.cookie).toBeUndefined(); // saveUninitialized: false

        expect((await b.request('POST', '/login')).body).toBe('in');
        const first = b.sid!;
        expect(first).toMatch(/^[A-Za-z0-9_-]{32}$/);
        expect(await b.me()).toEqual({ user: 'alice', cart: [] });

        await b.request('POST', '/cart');
        await b.request('POST', '/cart');
        expect(await b.me()).toEqual({ user: 'alice', cart: ['apple', 'apple'] });
        // What the store holds, read with its own callback API: express-session's JSON.
        const stored = await getByCallback(store as never, first);
        expect(stored).toMatchObject({ user: 'alice', cart: ['apple', 'apple'], cookie: { httpOnly: true, path: '/' } });
        // express-session's Cookie derives originalMaxAge from the clock (an in-memory store that keeps the Cookie
        // object itself shows it a few milliseconds later).
        expect(MAX_AGE - (stored!.cookie as { originalMaxAge: number }).originalMaxAge).toBeLessThanOrEqual(100);

        expect((await b.request('POST', '/logout')).body).toBe('out');
        expect(await b.me()).toEqual({ user: null, cart: [] });
        expect(await getByCallback(store as never, first)).toBeFalsy();

        // Expiry: a session left alone past its maxAge is gone, even to a client that still sends the cookie.
        await b.request('POST', '/login');
        const second = b.sid!;
        expect(second).not.toBe(first);
        expect((await b.me()).user).toBe('alice');
        const kept = b.cookie;
        await sleep(MAX_AGE + 1500);
        b.cookie = kept;
        expect((await b.me()).user).toBe(t.expires === false ? 'alice' : null);
      } finally {
        await srv.close();
        await close();
      }
    }, 30_000);
  });
}
