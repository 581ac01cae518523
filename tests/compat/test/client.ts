/**
 * A cookie-keeping HTTP client and the app every drop-in test runs: log in (regenerating the id), read,
 * change, log out, all through @sess/core.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import session from '@sess/core';

type Data = { user?: string; cart?: string[] };

/** The guide's auth + cart app on `store`, through @sess/core. */
export function authApp(store: unknown, maxAge: number): express.Express {
  const a = express();
  a.use(session({ secret: 'compat secret', resave: false, saveUninitialized: false, store: store as never, cookie: { maxAge } }));
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
  a.post('/logout', (req, res, next) => {
    req.session.destroy((err?: unknown) => (err ? next(err) : res.send('out')));
  });
  // What reaches the app's error handler (after the response, for a failed end-of-response write, as with
  // express-session), kept for the tests.
  const errors: unknown[] = [];
  a.locals.errors = errors;
  a.use(((err, _req, res, _next) => {
    errors.push(err);
    if (!res.headersSent) res.status(500).send(`error: ${err?.message}`);
  }) as express.ErrorRequestHandler);
  return a;
}

export async function serve(handler: http.RequestListener) {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** A browser stand-in: keeps the session cookie it is given and sends it back. */
export class Browser {
  cookie: string | undefined;
  constructor(readonly base: string, readonly name = 'connect.sid') {}

  async request(method: string, path: string): Promise<{ status: number; body: string }> {
    const res = await fetch(this.base + path, { method, headers: this.cookie ? { cookie: this.cookie } : {} });
    const set = res.headers.getSetCookie().find((c) => c.startsWith(this.name + '='));
    if (set) this.cookie = set.split(';')[0];
    return { status: res.status, body: await res.text() };
  }

  async me(): Promise<Data> {
    const r = await this.request('GET', '/me');
    if (r.status !== 200) throw new Error(`GET /me answered ${r.status}: ${r.body}`);
    return JSON.parse(r.body) as Data;
  }

  /** The session id in the cookie (for reading the store directly, as a socket.io handshake does). */
  get sid(): string | undefined {
    if (!this.cookie) return undefined;
    const value = decodeURIComponent(this.cookie.slice(this.name.length + 1));
    return value.startsWith('s:') ? value.slice(2, value.lastIndexOf('.')) : undefined;
  }
}

/** The store's own get, express-session's way (a callback), as apps call it. */
export function getByCallback(store: { get: (...a: never[]) => unknown }, sid: string): Promise<Record<string, unknown> | null | undefined> {
  return new Promise((resolve, reject) => {
    (store.get as unknown as (sid: string, cb: (err: unknown, sess?: Record<string, unknown> | null) => void) => void)(sid, (err, sess) =>
      // express-session reads session-file-store's ENOENT as "no session"; so does this.
      err ? ((err as { code?: string }).code === 'ENOENT' ? resolve(null) : reject(err as Error)) : resolve(sess),
    );
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
