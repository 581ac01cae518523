// The benchmarked apps on each framework: the bare framework (no session layer), the framework's incumbent
// session library, and sess's binding, serving the same /create, /read and /write as apps.mjs. Each runs in its
// own child process (framework-server.mjs). Returns a listening node:http server.
import http from 'node:http';
import { RECOMMENDED } from './variants.mjs';

const SECRET = 'bench secret of thirty-two characters or more';
const MAX_AGE = 3_600_000;
const redisUrl = () => process.env.SESS_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** sess's store for `store` ('memory' | 'redis'), keys under this process's prefix. */
async function sessStore(store) {
  if (store === 'memory') return new (await import('@sess/core')).MemoryStore();
  const { RedisStore } = await import('@sess/store-redis');
  return new RedisStore({ url: redisUrl(), prefix: `benchsess:${process.pid}:` });
}

/** sess's options: the bench's (as the incumbents'), plus sess's recommended ones (`touchAfter`), as run.mjs's `-recommended` variants. */
const sessOptions = async (store) => ({ secret: SECRET, resave: false, saveUninitialized: false, name: 'sid', cookie: { maxAge: MAX_AGE }, ...RECOMMENDED, store: await sessStore(store) });

/** The three routes, given how to read and write one session value (null: the bare framework). */
function routes(get, set) {
  return {
    create: (s) => {
      if (s) set(s, 'user', { id: 42, role: 'user' });
      return 'created';
    },
    read: (s) => {
      const u = s ? get(s, 'user') : null;
      return u ? 'hello ' + u.id : 'anon';
    },
    write: (s) => {
      if (!s) return 'n=1';
      const n = (get(s, 'count') || 0) + 1;
      set(s, 'count', n);
      return 'n=' + n;
    },
  };
}
const prop = routes((s, k) => s[k], (s, k, v) => (s[k] = v));
const getset = routes((s, k) => s.get(k), (s, k, v) => s.set(k, v));

async function fastifyApp(impl, store) {
  const { default: Fastify } = await import('fastify');
  const app = Fastify();
  let r = prop;
  if (impl === 'incumbent') {
    await app.register((await import('@fastify/cookie')).default);
    let sessionStore;
    if (store === 'redis') {
      const { createClient } = await import('redis');
      const client = createClient({ url: redisUrl() });
      await client.connect();
      const { RedisStore } = await import('connect-redis');
      sessionStore = new RedisStore({ client, prefix: `benches:${process.pid}:` });
    }
    await app.register((await import('@fastify/session')).default, {
      secret: SECRET,
      cookieName: 'sid',
      saveUninitialized: false,
      rolling: false,
      cookie: { secure: false, maxAge: MAX_AGE },
      ...(sessionStore ? { store: sessionStore } : {}),
    });
    r = getset;
  } else if (impl === 'sess') await app.register((await import('@sess/fastify')).default, await sessOptions(store));
  for (const name of ['create', 'read', 'write']) app.get('/' + name, async (request) => r[name](impl === 'bare' ? null : request.session));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return app.server;
}

async function koaApp(impl, store) {
  const { default: Koa } = await import('koa');
  const app = new Koa();
  if (impl === 'incumbent') {
    const { default: session } = await import('koa-session');
    app.keys = [SECRET];
    const opts = { key: 'sid', maxAge: MAX_AGE, rolling: false, renew: false };
    if (store === 'redis') {
      const { default: redisStore } = await import('koa-redis');
      const u = new URL(redisUrl());
      opts.store = redisStore({ host: u.hostname, port: Number(u.port || 6379), keyPrefix: `benches:${process.pid}:` });
    }
    app.use(session(opts, app));
  } else if (impl === 'sess') app.use((await import('@sess/koa')).default(await sessOptions(store)));
  app.use(async (ctx) => {
    const name = ctx.path.slice(1);
    if (prop[name]) ctx.body = prop[name](impl === 'bare' ? null : ctx.session);
  });
  const server = http.createServer(app.callback());
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

async function honoApp(impl, store) {
  const { Hono } = await import('hono');
  const { serve } = await import('@hono/node-server');
  const app = new Hono();
  let r = prop;
  if (impl === 'incumbent') {
    if (store !== 'memory') throw new Error('hono-sessions has no networked store to compare on');
    const { sessionMiddleware, MemoryStore } = await import('hono-sessions');
    app.use('*', sessionMiddleware({ store: new MemoryStore(), encryptionKey: SECRET, expireAfterSeconds: MAX_AGE / 1000, sessionCookieName: 'sid', cookieOptions: { path: '/', httpOnly: true, sameSite: 'Lax' } }));
    r = getset;
  } else if (impl === 'sess') app.use((await import('@sess/hono')).default(await sessOptions(store)));
  for (const name of ['create', 'read', 'write']) app.get('/' + name, (c) => c.text(r[name](impl === 'bare' ? null : c.get('session'))));
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(server));
  });
}

/**
 * Express: apps.mjs's app, bare, on express-session with the store's incumbent, or on sess with its recommended
 * options (the `<store>-recommended` variant of run.mjs).
 */
async function expressApp(impl, store) {
  const { buildApp } = await import('./apps.mjs');
  const { variants } = await import('./variants.mjs');
  const app = await buildApp(impl === 'incumbent' ? 'express-session' : impl, variants[`${store}-recommended`]);
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => resolve(server));
  });
}

/** Start the app of `framework` ('express' | 'fastify' | 'koa' | 'hono') for `impl` ('bare' | 'incumbent' | 'sess') on `store`. */
export async function startFrameworkApp(framework, impl, store) {
  if (framework === 'express') return expressApp(impl, store);
  if (framework === 'fastify') return fastifyApp(impl, store);
  if (framework === 'koa') return koaApp(impl, store);
  if (framework === 'hono') return honoApp(impl, store);
  throw new Error(`unknown framework ${framework}`);
}
