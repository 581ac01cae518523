/**
 * The session engine without any framework: a binding's whole job, done by hand with a plain object as the
 * session's carrier. Load (no cookie: a new session), change, commit (the store write), the Set-Cookie value;
 * the next request sends the cookie back and reads the data; the session methods work through the carrier.
 */
import { describe, expect, test } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { MemoryStore, createSessionEngine, forwardedHttps, type Session, type SessionCarrier, type SessionEngine, type SessionHost } from '@sess/core';

type Carrier = SessionCarrier & { session?: (Session & Record<string, unknown>) | null };

/** One request as a binding drives it: load, run the handler, commit, then the Set-Cookie value. */
async function request(engine: SessionEngine, cookie: string | undefined, handler: (c: Carrier) => void | Promise<void>) {
  const carrier: Carrier = {};
  const closers: Array<() => void> = [];
  const host: SessionHost = { carrier, request: carrier, secure: () => false, onClose: (fn) => closers.push(fn) };
  const sr = engine.open(host, engine.cookieOptions(carrier));
  await new Promise<void>((resolve, reject) => sr.load(engine.readCookie(cookie), (err) => (err ? reject(err) : resolve())));
  await handler(carrier);
  await new Promise<void>((resolve, reject) => {
    if (!sr.commit((err) => (err ? reject(err) : resolve()))) resolve();
  });
  const setCookie = sr.setCookie();
  for (const fn of closers) fn();
  return { carrier, setCookie, cookie: setCookie?.split(';')[0] };
}

describe('the engine, driven without a framework', () => {
  test('create, read, change, regenerate and destroy through a plain carrier', async () => {
    const store = new MemoryStore();
    const engine = createSessionEngine({ secret: 'engine secret', resave: false, saveUninitialized: false, store, cookie: { maxAge: 60_000 } });

    const anon = await request(engine, undefined, () => undefined);
    expect(anon.setCookie).toBeUndefined();
    expect(await store.length()).toBe(0);

    const login = await request(engine, undefined, (c) => {
      c.session!.user = 'ann';
    });
    expect(login.setCookie).toMatch(/^connect\.sid=s%3A[\w-]+\.[\w%]+; Path=\/; Expires=.+; HttpOnly$/);
    expect(await store.get(login.carrier.sessionID!)).toMatchObject({ user: 'ann' });

    const read = await request(engine, login.cookie, (c) => {
      expect(c.session!.user).toBe('ann');
      expect(c.sessionID).toBe(login.carrier.sessionID);
    });
    // An unchanged session with a maxAge cookie is re-sent only when rolling or modified: not here.
    expect(read.setCookie).toBeUndefined();

    const regen = await request(engine, login.cookie, async (c) => {
      await c.session!.regenerate();
      c.session!.user = 'ann';
    });
    expect(regen.carrier.sessionID).not.toBe(login.carrier.sessionID);
    expect(await store.get(login.carrier.sessionID!)).toBeNull();
    expect(regen.cookie).toBeDefined();

    const out = await request(engine, regen.cookie, async (c) => {
      await c.session!.destroy();
      expect(c.session).toBeUndefined();
    });
    expect(out.setCookie).toBeUndefined();
    expect(await store.length()).toBe(0);
  });

  test('a forged cookie is a new session, never a store read', async () => {
    const store = new MemoryStore();
    let reads = 0;
    const get = store.get;
    (store as unknown as Record<string, unknown>).get = function (this: unknown, ...a: unknown[]) {
      reads++;
      return (get as (...x: unknown[]) => unknown).apply(this, a);
    };
    const engine = createSessionEngine({ secret: 'engine secret', resave: false, saveUninitialized: false, store });
    const r = await request(engine, 'connect.sid=s%3Aabc.forged', (c) => expect(c.session!.id).not.toBe('abc'));
    expect(reads).toBe(0);
    expect(r.setCookie).toBeUndefined();
  });

  test('the engine imports nothing of Express and patches no response', () => {
    const dir = path.join(__dirname, '..', 'src', 'engine');
    for (const f of readdirSync(dir)) {
      const src = readFileSync(path.join(dir, f), 'utf8');
      expect({ f, express: /from 'express'|require\('express'\)|\.\.\/express\//.test(src) }).toEqual({ f, express: false });
      expect({ f, patches: /writeHead|\.end\s*=|setHeader/.test(src) }).toEqual({ f, patches: false });
    }
  });
});

test('open() without cookie options takes the cookie option, a function of the request included', async () => {
  const engine = createSessionEngine({ secret: 's', resave: false, saveUninitialized: true, cookie: (req) => ({ maxAge: (req as { long?: boolean }).long ? 120_000 : 60_000 }) });
  for (const [long, maxAge] of [[true, 120_000], [false, 60_000]] as const) {
    const carrier: SessionCarrier = {};
    const sr = engine.open({ carrier, request: { long }, secure: () => false, onClose: () => undefined });
    await sr.begin(undefined);
    expect(carrier.session!.cookie.originalMaxAge).toBe(maxAge);
  }
});

test('forwardedHttps reads a proxy header as express-session does: the first value, trimmed, any case', () => {
  const cases: Array<[string | string[] | undefined, boolean]> = [
    ['https', true],
    ['HTTPS', true],
    [' https ', true],
    ['https, http', true],
    ['http, https', false],
    ['http', false],
    ['', false],
    [undefined, false],
    [['https', 'http'], true],
    [['http', 'https'], false],
  ];
  for (const [header, want] of cases) expect({ header, got: forwardedHttps(header) }).toEqual({ header, got: want });
});
