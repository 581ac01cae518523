/**
 * One app's sessions across Express (@sess/core) and Fastify (@sess/fastify), both running at once on one
 * store, on the real Redis and PostgreSQL servers: log in on one and be logged in on the other, a change on one
 * read on the other, rotate and log out (and log out everywhere) ending the session on both, the same cookie
 * bytes. And an app on the real @fastify/session (its default cookie, and with `cookiePrefix: 's:'`) that
 * switches to @sess/fastify on the same store keeps its users logged in.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import express from 'express';
import { sign } from 'cookie-signature';
import session, { type SessionMiddleware, type SessionStore } from '@sess/core';
import sessFastify from '@sess/fastify';
import { RedisStore } from '@sess/store-redis';
import { PgStore } from '@sess/store-pg';
import pg from 'pg';
import { serviceTest, urls } from '../../conformance/test/services';

const SECRET = 'a shared secret of at least thirty-two characters';
const ns = `fy${process.pid}`;
type Data = { user?: string; cart?: string[] };

/** A running app's base URL and how to stop it. */
interface Running {
  url: string;
  close(): Promise<void>;
}

async function listenExpress(app: express.Express): Promise<Running> {
  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

async function listenFastify(app: FastifyInstance): Promise<Running> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close: () => app.close() };
}

/** A browser: one cookie jar for the session cookie `name`, across every app (same site). */
class Browser {
  cookie: string | undefined;
  lastSetCookie: string | undefined;
  constructor(readonly name = 'connect.sid') {}
  async request(base: string, method: string, path: string): Promise<{ status: number; body: string }> {
    const res = await fetch(base + path, { method, headers: this.cookie ? { cookie: this.cookie } : {} });
    const set = res.headers.getSetCookie().find((c) => c.startsWith(this.name + '='));
    if (set) {
      this.lastSetCookie = set;
      this.cookie = set.split(';')[0];
    }
    return { status: res.status, body: await res.text() };
  }
  async me(base: string): Promise<Data> {
    return JSON.parse((await this.request(base, 'GET', '/me')).body) as Data;
  }
  get sid(): string {
    const v = decodeURIComponent(this.cookie!.slice(this.name.length + 1));
    return (v.startsWith('s:') ? v.slice(2) : v).split('.')[0]!;
  }
}

const options = (store: SessionStore) => ({
  secret: SECRET,
  resave: false,
  saveUninitialized: false,
  store,
  cookie: { maxAge: 600_000 },
  userKey: (d: Record<string, unknown>) => d.user as string | undefined,
});

function expressApp(store: SessionStore): { app: express.Express; mw: SessionMiddleware } {
  const app = express();
  const mw = session(options(store));
  app.use(mw);
  const data = (req: express.Request) => req.session as unknown as Data;
  app.post('/login', (req, res, next) =>
    req.session.regenerate((err) => {
      if (err) return next(err);
      data(req).user = 'ann';
      res.send('in');
    }),
  );
  app.get('/me', (req, res) => res.json({ user: data(req).user ?? null, cart: data(req).cart ?? [] }));
  app.post('/cart', (req, res) => {
    data(req).cart = [...(data(req).cart ?? []), 'apple'];
    res.send('added');
  });
  app.post('/logout', (req, res, next) => req.session.destroy((err) => (err ? next(err) : res.send('out'))));
  app.post('/everywhere', async (req, res) => res.send(String(await mw.destroyUserSessions('ann'))));
  return { app, mw };
}

async function fastifyApp(store: SessionStore): Promise<FastifyInstance> {
  const app = Fastify();
  await app.register(sessFastify, options(store));
  app.post('/login', async (request) => {
    await request.session.regenerate();
    request.session.user = 'ann';
    return 'in';
  });
  app.get('/me', async (request) => ({ user: request.session.user ?? null, cart: request.session.cart ?? [] }));
  app.post('/cart', async (request) => {
    request.session.cart = [...(request.session.cart ?? []), 'pear'];
    return 'added';
  });
  app.post('/rotate', async (request) => {
    await request.session.rotate();
    return 'rotated';
  });
  app.post('/logout', async (request) => {
    await request.session.destroy();
    return 'out';
  });
  return app;
}

declare module '@sess/core' {
  interface SessionData {
    user: string;
    cart: string[];
  }
}

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

for (const b of backends) {
  const svc = serviceTest(b.service);
  describe(`Express and Fastify sharing sessions on ${b.name}`, () => {
    if (!svc.available) {
      svc.missing(`sharing on ${b.name}`);
      return;
    }
    let store: ReturnType<Backend['make']>;
    let e: Running;
    let f: Running;
    beforeAll(async () => {
      store = b.make();
      await store.clear!();
      e = await listenExpress(expressApp(store).app);
      f = await listenFastify(await fastifyApp(store));
    });
    afterAll(async () => {
      await e?.close();
      await f?.close();
      await store?.clear!().catch(() => undefined);
      await store?.close?.();
      await b.drop?.();
    });

    test('log in on one, logged in on the other; a change on each is read on the other', async () => {
      const u = new Browser();
      await u.request(e.url, 'POST', '/login');
      expect(await u.me(f.url)).toEqual({ user: 'ann', cart: [] });
      await u.request(f.url, 'POST', '/cart');
      expect(await u.me(e.url)).toEqual({ user: 'ann', cart: ['pear'] });
      await u.request(e.url, 'POST', '/cart');
      expect(await u.me(f.url)).toEqual({ user: 'ann', cart: ['pear', 'apple'] });

      const v = new Browser();
      await v.request(f.url, 'POST', '/login');
      expect(await v.me(e.url)).toEqual({ user: 'ann', cart: [] });
      // The cookie is express-session's bytes whichever app wrote it.
      expect(v.cookie).toBe('connect.sid=' + encodeURIComponent('s:' + sign(v.sid, SECRET)));
      expect(u.cookie).toBe('connect.sid=' + encodeURIComponent('s:' + sign(u.sid, SECRET)));
      await u.request(e.url, 'POST', '/logout');
      await v.request(f.url, 'POST', '/logout');
    });

    test('rotate on Fastify: the old cookie is dead on Express, the new one lives there', async () => {
      const u = new Browser();
      await u.request(e.url, 'POST', '/login');
      const old = u.cookie!;
      await u.request(f.url, 'POST', '/rotate');
      expect(u.cookie).not.toBe(old);
      expect(await u.me(e.url)).toEqual({ user: 'ann', cart: [] });
      const stale = new Browser();
      stale.cookie = old;
      expect(await stale.me(e.url)).toEqual({ user: null, cart: [] });
      await u.request(f.url, 'POST', '/logout');
      expect(await u.me(e.url)).toEqual({ user: null, cart: [] });
    });

    test('regenerate and log out on Express end the session on Fastify; log out everywhere ends them all', async () => {
      const u = new Browser();
      await u.request(f.url, 'POST', '/login');
      const before = u.cookie!;
      await u.request(e.url, 'POST', '/login'); // regenerate on Express
      const stale = new Browser();
      stale.cookie = before;
      expect(await stale.me(f.url)).toEqual({ user: null, cart: [] });
      expect(await u.me(f.url)).toEqual({ user: 'ann', cart: [] });

      const other = new Browser();
      await other.request(f.url, 'POST', '/login');
      expect((await u.request(e.url, 'POST', '/everywhere')).body).not.toBe('0');
      expect(await u.me(f.url)).toEqual({ user: null, cart: [] });
      expect(await other.me(f.url)).toEqual({ user: null, cart: [] });
      expect(await other.me(e.url)).toEqual({ user: null, cart: [] });
    });
  });
}

describe('from @fastify/session to @sess/fastify on the same store, users stay logged in', () => {
  const svc = serviceTest('redis');
  if (!svc.available) {
    svc.missing('the @fastify/session move');
    return;
  }
  let store: RedisStore;
  beforeAll(() => {
    store = new RedisStore({ url: urls.redis, prefix: `${ns}move:` });
  });
  afterAll(async () => {
    await store.clear();
    await store.close();
  });

  /** The incumbent app, in a child process (see the fixture), on the same Redis prefix as `store`. */
  async function incumbent(extra: Record<string, unknown>): Promise<Running> {
    const child = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'fastify-session-app.cjs')], {
      env: { ...process.env, REDIS_URL: urls.redis, PREFIX: `${ns}move:`, SECRET, FASTIFY_SESSION_OPTIONS: JSON.stringify(extra) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const port = await new Promise<string>((resolve, reject) => {
      child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
      child.once('exit', (code) => reject(new Error(`the @fastify/session app exited (${code})`)));
    });
    return {
      url: `http://127.0.0.1:${port}`,
      close: () =>
        new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    };
  }

  test("@fastify/session's default cookie (sessionId, no prefix): cookieName 'sessionId', cookiePrefix ''", async () => {
    const old = await incumbent({});
    const u = new Browser('sessionId');
    try {
      await u.request(old.url, 'POST', '/login');
      expect(await u.me(old.url)).toEqual({ user: 'ann', cart: [] });
    } finally {
      await old.close();
    }
    expect(decodeURIComponent(u.cookie!.slice('sessionId='.length)).startsWith('s:')).toBe(false);
    const app = Fastify();
    await app.register(sessFastify, { secret: SECRET, store, resave: false, saveUninitialized: false, cookieName: 'sessionId', cookiePrefix: '' });
    app.get('/me', async (request) => ({ user: request.session.user ?? null, cart: [] }));
    const now = await listenFastify(app);
    try {
      expect(await u.me(now.url)).toEqual({ user: 'ann', cart: [] });
    } finally {
      await now.close();
    }
  });

  test("@fastify/session configured as express-session (cookiePrefix 's:', cookieName 'connect.sid'): @sess/fastify's and Express's defaults read it", async () => {
    const old = await incumbent({ cookieName: 'connect.sid', cookiePrefix: 's:' });
    const u = new Browser();
    try {
      await u.request(old.url, 'POST', '/login');
    } finally {
      await old.close();
    }
    const f = await listenFastify(await fastifyApp(store));
    const e = await listenExpress(expressApp(store).app);
    try {
      expect(await u.me(f.url)).toEqual({ user: 'ann', cart: [] });
      expect(await u.me(e.url)).toEqual({ user: 'ann', cart: [] });
    } finally {
      await f.close();
      await e.close();
    }
  });
});
