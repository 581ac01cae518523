/**
 * HTTP helpers shared by the stores' failure and migration tests: a small session app, a server on a free
 * loopback port, timed requests, and URLs through a proxy.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from '@jest/globals';
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

/** A request with the `sid` session cookie (if any); resolves the body and the `sid` cookie the response set. */
async function sidRequest(srv: { url: string }, path: string, cookie?: string) {
  const res = await fetch(srv.url + path, { headers: cookie ? { cookie } : {} });
  const set = res.headers.getSetCookie().find((c) => c.startsWith('sid='));
  return { body: await res.text(), cookie: set?.split(';')[0] };
}

/**
 * The migration tests' round trip: one session served by each middleware of `sequence` in turn (the
 * incumbent and sess, switching back and forth), two `/count` requests on each and, with `peek`, an
 * unchanged request (a touch from each side, read back by the next). Resolves the final count.
 */
export async function switchBackAndForth(sequence: Array<() => express.RequestHandler | Promise<express.RequestHandler>>, { peek = true } = {}): Promise<number> {
  let cookie: string | undefined;
  let n = 0;
  for (const make of sequence) {
    const srv = await serve(countingApp(await make()));
    try {
      for (let i = 0; i < 2; i++) {
        const res = await sidRequest(srv, '/count', cookie);
        if (res.cookie) cookie = res.cookie;
        expect(res.body).toBe(String(++n));
      }
      if (peek) expect((await sidRequest(srv, '/peek', cookie)).body).toBe(String(n));
    } finally {
      await srv.close();
    }
  }
  return n;
}

/**
 * The migration case the incumbents' touch makes: connect-redis, connect-pg-simple, express-mysql-session
 * and connect-mongo keep an unchanged session alive by moving only their own expiry, so a session used
 * every day can have a stored cookie that expired long ago. Such a session must stay live through the
 * switch, and one kept alive by sess's touches must stay live when switching back. `incumbent` and
 * `ours` build the middleware for a cookie lifetime of `maxAge` ms (short, so the test can wait it out).
 */
export async function keptAliveByTouches(incumbent: (maxAge: number) => express.RequestHandler, ours: (maxAge: number) => express.RequestHandler, maxAge = 4000): Promise<void> {
  const sleepUntil = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));
  const theirs = await serve(countingApp(incumbent(maxAge)));
  const mine = await serve(countingApp(ours(maxAge)));
  try {
    const t0 = Date.now();
    const first = await sidRequest(theirs, '/count');
    if (first.body !== '1' || !first.cookie) throw new Error(`the incumbent did not start a session (${first.body})`);
    const cookie = first.cookie;
    await sleepUntil(t0 + maxAge / 2);
    if ((await sidRequest(theirs, '/peek', cookie)).body !== '1') throw new Error('the incumbent lost its own session');
    // The stored cookie has expired now; the incumbent's expiry (moved by that touch) has not.
    await sleepUntil(t0 + maxAge + 500);
    const read = await sidRequest(mine, '/peek', cookie);
    if (read.body !== '1') throw new Error(`sess did not find a session the incumbent kept alive by touches (got ${read.body})`);
    // And back: sess keeps it alive by touches past its stored cookie's expiry, the incumbent still finds it.
    const t1 = Date.now();
    if ((await sidRequest(mine, '/count', cookie)).body !== '2') throw new Error('sess could not update the session');
    await sleepUntil(t1 + maxAge / 2);
    if ((await sidRequest(mine, '/peek', cookie)).body !== '2') throw new Error('sess lost its own session');
    await sleepUntil(t1 + maxAge + 500);
    const back = await sidRequest(theirs, '/peek', cookie);
    if (back.body !== '2') throw new Error(`the incumbent did not find a session sess kept alive by touches (got ${back.body})`);
    const again = await sidRequest(mine, '/peek', cookie);
    if (again.body !== '2') throw new Error(`sess did not find the session after the incumbent touched it again (got ${again.body})`);
  } finally {
    await theirs.close();
    await mine.close();
  }
}

/**
 * "Remember me" without a data change: a request that only sets `req.session.cookie.maxAge`. Resolves the
 * body of a later read and what `readStored` then finds, so a store's test can check the new lifetime was
 * stored (a store whose touch moves only its expiry needs core to write the cookie here).
 */
export async function rememberMe(store: SessionStore, maxAge: number, readStored: () => Promise<Record<string, unknown>>) {
  const a = countingApp(session({ secret: 's', resave: false, saveUninitialized: false, name: 'sid', store, cookie: { maxAge: 60_000 } }));
  a.get('/remember', (req, res) => {
    req.session.cookie.maxAge = maxAge;
    res.send('ok');
  });
  const srv = await serve(a);
  try {
    const first = await fetch(srv.url + '/count');
    const cookie = first.headers.getSetCookie().find((c) => c.startsWith('sid='))!.split(';')[0]!;
    await (await fetch(srv.url + '/remember', { headers: { cookie } })).text();
    const stored = await readStored();
    const body = await (await fetch(srv.url + '/peek', { headers: { cookie } })).text();
    return { body, stored };
  } finally {
    await srv.close();
  }
}
