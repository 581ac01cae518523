/**
 * The same small app on each framework, through its sess binding, over real HTTP: the routes every binding
 * test drives. GET /me answers the session's data (no cookie, no methods); POST /login regenerates and sets
 * `user`; POST /set?k=v assigns the query's keys; POST /touch-app?fw=… appends the framework's name to `seen`; POST /rotate, /logout; POST
 * /everywhere destroys every session of `user` (the per-user index); POST /unset sets the session to nothing
 * (`req.session = null`, or koa-session's `ctx.session = null`); GET /noop answers without touching the session.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import express4 from 'express4';
import Fastify from 'fastify';
import Koa from 'koa';
import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import session, { CsrfError, SessError, csrf, csrfTokenFor, csrfValid, flash, flashFor, type SessionEngine, type SessionOptions } from '@sess/core';
import sessFastify from '@sess/fastify';
import sessKoa from '@sess/koa';
import sessHono from '@sess/hono';

/** A running app. */
export interface Running {
  name: string;
  url: string;
  engine: SessionEngine;
  close(): Promise<void>;
}

export type Framework = 'express5' | 'express4' | 'fastify' | 'koa' | 'hono';
export const FRAMEWORKS: Framework[] = ['express5', 'express4', 'fastify', 'koa', 'hono'];

type Data = Record<string, unknown> & { user?: string; seen?: string[] };

/** The session's data as /me answers it. */
function dataOf(sess: object | null | undefined): Data {
  const out: Data = {};
  if (!sess) return out;
  for (const k of Object.keys(sess)) if (k !== 'cookie') out[k] = (sess as Record<string, unknown>)[k];
  return out;
}

async function listenNode(handler: http.RequestListener): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const status = (err: unknown) => (SessError.isInstance(err) ? err.status : 500);

function expressApp(make: typeof express, options: SessionOptions) {
  const app = make();
  const mw = session(options);
  app.use(mw);
  app.use(flash());
  const s = (req: express.Request) => req.session as unknown as Data & { regenerate(): Promise<void>; rotate(): Promise<void>; destroy(): Promise<void> };
  app.post('/flash', (req, res) => {
    req.flash('info', String(req.query.m));
    res.send('queued');
  });
  app.get('/flash', (req, res) => res.json(req.flash('info')));
  app.get('/csrf', csrf(), (req, res) => res.send(req.csrfToken()));
  app.post('/csrf', csrf(), (_req, res) => res.send('ok'));
  app.get('/me', (req, res) => res.json(dataOf(req.session)));
  app.get('/noop', (_req, res) => res.send('ok'));
  app.post('/login', async (req, res, next) => {
    try {
      await s(req).regenerate();
      s(req).user = 'ann';
      res.send('in');
    } catch (err) {
      next(err);
    }
  });
  app.post('/set', (req, res) => {
    for (const [k, v] of Object.entries(req.query)) s(req)[k] = String(v);
    res.send('set');
  });
  app.post('/incr', (req, res) => {
    s(req).n = (Number(s(req).n) || 0) + 1;
    res.send(String(s(req).n));
  });
  app.post('/touch-app', (req, res) => {
    s(req).seen = [...(s(req).seen ?? []), String(req.query.fw)];
    res.send('seen');
  });
  app.post('/rotate', (req, res, next) => s(req).rotate().then(() => res.send('rotated'), next));
  app.post('/logout', (req, res, next) => s(req).destroy().then(() => res.send('out'), next));
  app.post('/unset', (req, res) => {
    (req as unknown as { session: unknown }).session = null;
    res.send('unset');
  });
  app.post('/everywhere', (_req, res, next) => mw.destroyUserSessions('ann').then((n) => res.send(String(n)), next));
  app.use(((err, _req, res, _next) => res.status(status(err)).json({ code: (err as SessError).code ?? null })) as express.ErrorRequestHandler);
  return { app, engine: mw.engine };
}

/** Start the app on `framework` with `options` (or another binding's `engine`). */
export async function startApp(framework: Framework, options: SessionOptions): Promise<Running> {
  if (framework === 'express5' || framework === 'express4') {
    const { app, engine } = expressApp((framework === 'express5' ? express : express4) as typeof express, options);
    const l = await listenNode(app as unknown as http.RequestListener);
    return { name: framework, engine, ...l };
  }
  if (framework === 'fastify') {
    const app = Fastify();
    await app.register(sessFastify, options);
    app.get('/me', async (request) => dataOf(request.session));
    app.get('/noop', async () => 'ok');
    app.post('/login', async (request) => {
      await request.session.regenerate();
      (request.session as unknown as Data).user = 'ann';
      return 'in';
    });
    app.post('/flash', async (request) => {
      flashFor(() => request.session as never)('info', String((request.query as Record<string, string>).m));
      return 'queued';
    });
    app.get('/flash', async (request) => flashFor(() => request.session as never)('info'));
    app.get('/csrf', async (request) => csrfTokenFor(request.session as never));
    app.post('/csrf', async (request) => {
      if (!csrfValid(request.session as never, request.headers['x-csrf-token'])) throw new CsrfError();
      return 'ok';
    });
    app.post('/set', async (request) => {
      for (const [k, v] of Object.entries(request.query as Record<string, string>)) (request.session as unknown as Data)[k] = String(v);
      return 'set';
    });
    app.post('/incr', async (request) => {
      const d = request.session as unknown as Data;
      d.n = (Number(d.n) || 0) + 1;
      return String(d.n);
    });
    app.post('/touch-app', async (request) => {
      const d = request.session as unknown as Data;
      d.seen = [...(d.seen ?? []), String((request.query as Record<string, string>).fw)];
      return 'seen';
    });
    app.post('/rotate', async (request) => {
      await request.session.rotate();
      return 'rotated';
    });
    app.post('/logout', async (request) => {
      await request.session.destroy();
      return 'out';
    });
    app.post('/unset', async (request) => {
      (request as unknown as { session: unknown }).session = null;
      return 'unset';
    });
    app.post('/everywhere', async () => String(await app.sessionEngine.destroyUserSessions('ann')));
    app.setErrorHandler((err, _request, reply) => reply.status(status(err)).send({ code: (err as SessError).code ?? null }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    return { name: framework, engine: app.sessionEngine, url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close: () => app.close() };
  }
  if (framework === 'koa') {
    const app = new Koa();
    app.silent = true;
    const mw = sessKoa(options);
    app.use(async (ctx, next) => {
      try {
        await next();
      } catch (err) {
        ctx.status = status(err);
        ctx.body = { code: (err as SessError).code ?? null };
      }
    });
    app.use(mw);
    app.use(async (ctx) => {
      const s = ctx.session as unknown as Data & { regenerate(): Promise<void>; rotate(): Promise<void> };
      if (ctx.path === '/me') ctx.body = dataOf(ctx.session);
      else if (ctx.path === '/noop') ctx.body = 'ok';
      else if (ctx.path === '/login') {
        await s.regenerate();
        (ctx.session as unknown as Data).user = 'ann';
        ctx.body = 'in';
      } else if (ctx.path === '/flash') {
        const f = flashFor(() => ctx.session as never);
        if (ctx.method === 'POST') {
          f('info', String(ctx.query.m));
          ctx.body = 'queued';
        } else ctx.body = f('info');
      } else if (ctx.path === '/csrf') {
        if (ctx.method === 'GET') ctx.body = csrfTokenFor(ctx.session as never);
        else if (!csrfValid(ctx.session as never, ctx.get('x-csrf-token'))) throw new CsrfError();
        else ctx.body = 'ok';
      } else if (ctx.path === '/incr') {
        s.n = (Number(s.n) || 0) + 1;
        ctx.body = String(s.n);
      } else if (ctx.path === '/set') {
        for (const [k, v] of Object.entries(ctx.query)) s[k] = String(v);
        ctx.body = 'set';
      } else if (ctx.path === '/touch-app') {
        s.seen = [...(s.seen ?? []), String(ctx.query.fw)];
        ctx.body = 'seen';
      } else if (ctx.path === '/rotate') {
        await s.rotate();
        ctx.body = 'rotated';
      } else if (ctx.path === '/logout' || ctx.path === '/unset') {
        ctx.session = null;
        ctx.body = ctx.path === '/logout' ? 'out' : 'unset';
      } else if (ctx.path === '/everywhere') ctx.body = String(await mw.engine.destroyUserSessions('ann'));
    });
    const l = await listenNode(app.callback());
    return { name: framework, engine: mw.engine, ...l };
  }
  const app = new Hono();
  const mw = sessHono(options);
  app.onError((err, c) => c.json({ code: (err as SessError).code ?? null }, status(err) as 500));
  app.use(mw);
  const s = (c: { get(k: 'session'): unknown }) => c.get('session') as Data & { regenerate(): Promise<void>; rotate(): Promise<void>; destroy(): Promise<void> };
  app.get('/me', (c) => c.json(dataOf(c.get('session'))));
  app.get('/noop', (c) => c.text('ok'));
  app.post('/login', async (c) => {
    await s(c).regenerate();
    s(c).user = 'ann';
    return c.text('in');
  });
  app.post('/flash', (c) => {
    flashFor(() => c.get('session') as never)('info', String(c.req.query('m')));
    return c.text('queued');
  });
  app.get('/flash', (c) => c.json(flashFor(() => c.get('session') as never)('info')));
  app.get('/csrf', (c) => c.text(csrfTokenFor(c.get('session') as never)));
  app.post('/csrf', (c) => {
    if (!csrfValid(c.get('session') as never, c.req.header('x-csrf-token'))) throw new CsrfError();
    return c.text('ok');
  });
  app.post('/incr', (c) => {
    s(c).n = (Number(s(c).n) || 0) + 1;
    return c.text(String(s(c).n));
  });
  app.post('/set', (c) => {
    for (const [k, v] of Object.entries(c.req.query())) s(c)[k] = v;
    return c.text('set');
  });
  app.post('/touch-app', (c) => {
    s(c).seen = [...(s(c).seen ?? []), String(c.req.query('fw'))];
    return c.text('seen');
  });
  app.post('/rotate', async (c) => {
    await s(c).rotate();
    return c.text('rotated');
  });
  app.post('/logout', async (c) => {
    await s(c).destroy();
    return c.text('out');
  });
  app.post('/everywhere', async (c) => c.text(String(await mw.engine.destroyUserSessions('ann'))));
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const srv = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(srv));
  });
  return {
    name: framework,
    engine: mw.engine,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** A browser: one cookie jar for the session cookie, across every app (one site). */
export class Browser {
  cookie: string | undefined;
  setCookies: string[] = [];
  constructor(readonly name = 'connect.sid') {}
  async request(base: string, method: string, path: string): Promise<{ status: number; body: string; setCookie?: string }> {
    const res = await fetch(base + path, { method, headers: this.cookie ? { cookie: this.cookie } : {} });
    const set = res.headers.getSetCookie().find((c) => c.startsWith(this.name + '='));
    if (set) {
      this.setCookies.push(set);
      this.cookie = set.split(';')[0];
    }
    return { status: res.status, body: await res.text(), setCookie: set };
  }
  async me(base: string): Promise<Data> {
    const r = await this.request(base, 'GET', '/me');
    if (r.status !== 200) throw new Error(`GET /me answered ${r.status}: ${r.body}`);
    return JSON.parse(r.body) as Data;
  }
  get sid(): string {
    const v = decodeURIComponent(this.cookie!.slice(this.name.length + 1));
    return v.slice(2).split('.')[0]!;
  }
}
