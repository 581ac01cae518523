/**
 * HTTP helpers shared by the stores' failure and migration tests: a small session app, a server on a free
 * loopback port, timed requests, and URLs through a proxy.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import session, { type SessionStore } from '@sess/core';
import type { Proxy } from './proxy';

/** The failure tests' app: /login writes the session, /me reads it; errors answer with their code. */
export function failureApp(store: SessionStore): express.Express {
  const a = express();
  a.use(session({ secret: 's', resave: false, saveUninitialized: false, store, storeTimeout: 800, saveBeforeSend: true, cookie: { maxAge: 60_000 } }));
  a.get('/login', (req, res) => {
    (req.session as unknown as Record<string, string>).user = 'ann';
    res.send('in');
  });
  a.get('/me', (req, res) => res.send(String((req.session as unknown as Record<string, string>).user ?? 'anon')));
  a.use(((err, _req, res, _next) => res.status(err.status ?? 500).send(String(err.code))) as express.ErrorRequestHandler);
  return a;
}

export async function serve(a: express.Express) {
  const server = http.createServer(a);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

export async function timed(url: string, cookie?: string) {
  const t0 = Date.now();
  const res = await fetch(url, { headers: cookie ? { cookie } : {} });
  const body = await res.text();
  const set = res.headers.getSetCookie().find((c) => c.startsWith('connect.sid='));
  return { status: res.status, body, ms: Date.now() - t0, cookie: set?.split(';')[0] };
}

export async function until200(url: string, cookie?: string) {
  let r: Awaited<ReturnType<typeof timed>> | undefined;
  for (let i = 0; i < 50 && r?.status !== 200; i++) {
    r = await timed(url, cookie);
    if (r.status !== 200) await new Promise((res) => setTimeout(res, 200));
  }
  return r!;
}

/** `url` with its host and port replaced by the proxy's. */
export function viaProxy(url: string, proxy: Proxy): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(proxy.port);
  return u.toString();
}

/** The migration tests' app: /count increments a counter (and stores a 4-byte character), /peek reads it. */
export function countingApp(mw: express.RequestHandler): express.Express {
  const a = express();
  a.use(mw);
  a.get('/count', (req, res) => {
    const s = req.session as unknown as Record<string, number | string>;
    s.count = ((s.count as number) || 0) + 1;
    s.name = 'Zoë 🍪';
    res.send(String(s.count));
  });
  a.get('/peek', (req, res) => res.send(String((req.session as unknown as Record<string, number>).count ?? 'none')));
  return a;
}
