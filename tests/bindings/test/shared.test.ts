/**
 * One app's sessions across an Express app, a Fastify app, a Koa app and a Hono app, all running at once on one
 * store with the same name and secret, on the real Redis and PostgreSQL: a login on one is a login on the
 * others, a change on each is read on every other, regenerate, rotate, log out and "log out everywhere" on one
 * end the session on all, and the cookie bytes and the stored JSON are the same whichever app wrote them.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { sign } from 'cookie-signature';
import type { SessionOptions, SessionStore } from '@sess/core';
import { RedisStore } from '@sess/store-redis';
import { PgStore } from '@sess/store-pg';
import pg from 'pg';
import { serviceTest, urls } from '../../../packages/conformance/test/services';
import { Browser, type Framework, type Running, startApp } from './apps';

const SECRET = 'one secret for every framework';
const ns = `bind${process.pid}`;
const APPS: Framework[] = ['express5', 'fastify', 'koa', 'hono'];

interface Backend {
  name: string;
  service: 'redis' | 'pg';
  make(): SessionStore & { close?(): Promise<void> };
  drop?(): Promise<void>;
}

const backends: Backend[] = [
  { name: 'Redis', service: 'redis', make: () => new RedisStore({ url: urls.redis, prefix: `${ns}:` }) },
  {
    name: 'PostgreSQL',
    service: 'pg',
    make: () => new PgStore({ connectionString: urls.pg, tableName: `${ns}_sessions`, createTableIfMissing: true, pruneSessionInterval: false }),
    async drop() {
      const pool = new pg.Pool({ connectionString: urls.pg });
      await pool.query(`drop table if exists "${ns}_sessions"`);
      await pool.end();
    },
  },
];

const expected = (sid: string) => 'connect.sid=' + encodeURIComponent('s:' + sign(sid, SECRET));
const noExpires = (setCookie: string) => setCookie.replace(/; Expires=[^;]+/, '');
/** The stored JSON with what depends on the moment of writing (expiry, creation time) masked. */
const stable = (rec: unknown) =>
  JSON.stringify(rec).replace(/"expires":"[^"]+"/, '"expires":"X"').replace(/"originalMaxAge":\d+/, '"originalMaxAge":N').replace(/"createdAt":\d+/, '"createdAt":T');

for (const b of backends) {
  const svc = serviceTest(b.service);
  describe(`Express, Fastify, Koa and Hono sharing sessions on ${b.name}`, () => {
    if (!svc.available) {
      svc.missing(`four frameworks on ${b.name}`);
      return;
    }
    let store: ReturnType<Backend['make']>;
    const apps = {} as Record<Framework, Running>;
    const others = (than: Framework) => APPS.filter((f) => f !== than);
    const loggedOutEverywhere = async (u: Browser) => {
      for (const f of APPS) expect({ app: f, data: await u.me(apps[f].url) }).toEqual({ app: f, data: {} });
    };

    beforeAll(async () => {
      store = b.make();
      await store.clear!();
      const options: SessionOptions = {
        secret: SECRET,
        resave: false,
        saveUninitialized: false,
        store,
        cookie: { maxAge: 600_000, sameSite: 'lax' },
        userKey: (d) => d.user as string | undefined,
      };
      // Each app makes its own engine from the same options, as separate services would.
      for (const f of APPS) apps[f] = await startApp(f, options);
    });
    afterAll(async () => {
      for (const f of APPS) await apps[f]?.close();
      await store?.clear!().catch(() => undefined);
      await store?.close?.();
      await b.drop?.();
    });

    test('a login on each app is a login on every other; the cookie and stored JSON are the same whichever wrote them', async () => {
      const cookies: string[] = [];
      const records: string[] = [];
      for (const f of APPS) {
        const u = new Browser();
        const r = await u.request(apps[f].url, 'POST', '/login');
        expect({ app: f, body: r.body }).toEqual({ app: f, body: 'in' });
        expect(u.cookie).toBe(expected(u.sid));
        cookies.push(noExpires(r.setCookie!).replace(u.cookie!, 'connect.sid=X'));
        records.push(stable(await store.get(u.sid)));
        for (const g of others(f)) expect({ from: f, on: g, data: await u.me(apps[g].url) }).toEqual({ from: f, on: g, data: { user: 'ann' } });
        await u.request(apps[f].url, 'POST', '/logout');
      }
      expect(new Set(cookies).size).toBe(1);
      expect(cookies[0]).toBe('connect.sid=X; Path=/; HttpOnly; SameSite=Lax');
      expect(records).toEqual([records[0], records[0], records[0], records[0]]);
    });

    test('a change made on each app is read on every other', async () => {
      const u = new Browser();
      await u.request(apps.express5.url, 'POST', '/login');
      for (const f of APPS) await u.request(apps[f].url, 'POST', `/touch-app?fw=${f}`);
      for (const f of APPS) expect({ on: f, data: await u.me(apps[f].url) }).toEqual({ on: f, data: { user: 'ann', seen: APPS } });
      await u.request(apps.koa.url, 'POST', '/logout');
      await loggedOutEverywhere(u);
    });

    test('regenerate and rotate on one app: the old cookie is dead on all, the new one lives on all', async () => {
      for (const [f, path] of [['koa', '/login'], ['hono', '/rotate'], ['fastify', '/rotate'], ['express5', '/login']] as const) {
        const u = new Browser();
        await u.request(apps.hono.url, 'POST', '/login');
        const old = u.cookie!;
        await u.request(apps[f].url, 'POST', path);
        expect(u.cookie).not.toBe(old);
        const stale = new Browser();
        stale.cookie = old;
        await loggedOutEverywhere(stale);
        for (const g of APPS) expect({ after: `${path} on ${f}`, on: g, data: await u.me(apps[g].url) }).toEqual({ after: `${path} on ${f}`, on: g, data: { user: 'ann' } });
        await u.request(apps[f].url, 'POST', '/logout');
      }
    });

    test('log out on one app ends the session on all; log out everywhere on one ends every session of the user', async () => {
      for (const f of APPS) {
        const u = new Browser();
        await u.request(apps.express5.url, 'POST', '/login');
        await u.request(apps[f].url, 'POST', '/logout');
        await loggedOutEverywhere(u);
      }
      const users = [new Browser(), new Browser(), new Browser(), new Browser()];
      for (const [i, u] of users.entries()) await u.request(apps[APPS[i]!].url, 'POST', '/login');
      const n = await users[0]!.request(apps.hono.url, 'POST', '/everywhere');
      expect(Number(n.body)).toBeGreaterThanOrEqual(4);
      for (const u of users) await loggedOutEverywhere(u);
    });
  });
}
