/**
 * The request path's shortcuts keep every behaviour they replace: cookie reading and verification
 * (with its cache), the before-headers hook, synchronous store ops, shared store deadlines, the lazily
 * parsed stored expiry, the session's id and req, MemoryStore's recency list, and the response held while
 * the store writes.
 */
import { describe, expect, test } from '@jest/globals';
import net from 'node:net';
import { parse } from 'cookie';
import { sign } from 'cookie-signature';
import express, { type ErrorRequestHandler } from 'express';
import session, {
  Cookie,
  MemoryStore,
  NO_CAPABILITIES,
  createSessionEngine,
  readSessionCookie,
  type SessEvent,
  type SessionRecord,
  type SessionStore,
  type SyncStoreOps,
  type WriteContext,
} from '@sess/core';
import { VERIFIED_COOKIES } from '../src/options';
import { cookieReader, cookieValue } from '../src/signature';
import { client, cookieFrom, listen } from './helpers';

type S = Record<string, unknown>;

/** A small deterministic PRNG, so a failing header can be reproduced. */
function prng(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return x / 0x7fffffff;
  };
}

describe('reading the session cookie', () => {
  test('cookieValue reads one cookie exactly as the cookie package parses a header', () => {
    const rnd = prng(7);
    const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
    const names = ['sid', 'xsid', 'sidx', 'a', 'connect.sid', ' sid', 'sid '];
    const values = ['v', '"quoted"', ' spaced ', 's%3Aabc.def', '%E0%A4%A', '', 'a=b', '"', 'x%20y', '%'];
    for (let i = 0; i < 5000; i++) {
      const n = 1 + Math.floor(rnd() * 5);
      const parts: string[] = [];
      for (let j = 0; j < n; j++) parts.push(rnd() < 0.1 ? pick(['junk', ' ', '=x', '']) : `${pick(names)}=${pick(values)}`);
      const header = parts.join(pick([';', '; ', ' ;']));
      for (const name of ['sid', 'connect.sid', 'a']) {
        expect([header, name, cookieValue(header, name)]).toEqual([header, name, parse(header)[name]]);
      }
    }
  });

  test('readSessionCookie verifies as cookie-signature does, with every secret, and reports which', () => {
    const value = encodeURIComponent('s:' + sign('abc', 'new'));
    expect(readSessionCookie(`sid=${value}`, 'sid', ['new', 'old'])).toEqual({ id: 'abc', secretIndex: 0, value: 's:' + sign('abc', 'new') });
    const old = encodeURIComponent('s:' + sign('abc', 'old'));
    expect(readSessionCookie(`sid=${old}`, 'sid', ['new', 'old'])?.secretIndex).toBe(1);
    expect(readSessionCookie(`sid=${old}`, 'sid', ['new'])).toBeUndefined();
    expect(readSessionCookie(`sid=${encodeURIComponent('s:' + sign('abc', Buffer.from('buf')))}`, 'sid', [Buffer.from('buf')])?.id).toBe('abc');
    // tampered id, tampered or cut signature, no dot, unsigned
    const mac = sign('abc', 'new').split('.')[1]!;
    for (const bad of [`s:abd.${mac}`, `s:abc.${mac.slice(0, -1)}`, `s:abc.${mac}x`, 's:abc', 'abc', `s:abc.${mac.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))}`]) {
      expect(readSessionCookie(`sid=${encodeURIComponent(bad)}`, 'sid', ['new'])).toBeUndefined();
    }
  });

  test('cookieReader remembers only verified values, a bounded number of them', () => {
    const read = cookieReader('sid', ['new', 'old'], 2);
    const good = (id: string, secret = 'new') => `sid=${encodeURIComponent('s:' + sign(id, secret))}`;
    const first = read(good('a'));
    expect(first?.id).toBe('a');
    expect(read(good('a'))).toBe(first); // remembered
    expect(read(good('b', 'old'))?.secretIndex).toBe(1);
    expect(read(good('b', 'old'))?.secretIndex).toBe(1);
    const forged = `sid=${encodeURIComponent('s:a.' + 'A'.repeat(43))}`;
    expect(read(forged)).toBeUndefined();
    expect(read(forged)).toBeUndefined();
    read(good('c')); // pushes 'a' out (size 2)
    const again = read(good('a'));
    expect(again).toEqual(first);
    expect(again).not.toBe(first); // verified afresh
    expect(read(undefined)).toBeUndefined();
    expect(read('other=1')).toBeUndefined();
  });

  test('a middleware remembers the verified cookies of its last 10,000 sessions', () => {
    const { readCookie } = createSessionEngine({ secret: 'k', resave: false, saveUninitialized: false }).options;
    const header = (i: number) => `connect.sid=${encodeURIComponent('s:' + sign('id' + i, 'k'))}`;
    const first = readCookie(header(0));
    expect(first?.id).toBe('id0');
    for (let i = 1; i < VERIFIED_COOKIES; i++) expect(readCookie(header(i))?.id).toBe('id' + i);
    expect(readCookie(header(0))).toBe(first); // still remembered: no HMAC
    readCookie(header(VERIFIED_COOKIES)); // one more pushes the oldest out
    const again = readCookie(header(0));
    expect(again).toEqual(first);
    expect(again).not.toBe(first);
    // An unencoded value, cut from the header, is remembered as a copy of its own (same bytes).
    const raw = 's:' + sign('plain', 'k');
    expect(readCookie(`a=1; connect.sid=${raw}; b=2`)).toEqual({ id: 'plain', secretIndex: 0, value: raw });
  });

  test('a cookie signed by an older secret is re-signed with the current one, and one signed by the current secret is sent back as it came', async () => {
    const store = new MemoryStore({ checkPeriod: 0 });
    const make = (secret: string[]) => {
      const app = express();
      app.use(session({ secret, resave: false, saveUninitialized: false, store, rolling: true, name: 'sid', cookie: { maxAge: 60_000 } }));
      app.get('/login', (req, res) => {
        (req.session as unknown as S).user = 'ann';
        res.send('ok');
      });
      app.get('/me', (req, res) => res.send(String((req.session as unknown as S).user ?? 'anon')));
      return app;
    };
    const before = await listen(make(['old']));
    const c = client(before.url, 'sid');
    await c.get('/login');
    const oldCookie = c.jar!;
    await before.close();
    const after = await listen(make(['new', 'old']));
    const c2 = client(after.url, 'sid');
    c2.jar = oldCookie;
    const r = await c2.get('/me');
    expect(r.body).toBe('ann');
    const resigned = cookieFrom(r.setCookie, 'sid')!;
    expect(resigned).not.toBe(oldCookie);
    expect(decodeURIComponent(resigned.split('=')[1]!)).toBe('s:' + sign(decodeURIComponent(oldCookie.split('=')[1]!).slice(2).split('.')[0]!, 'new'));
    const r2 = await c2.get('/me'); // rolling: sent again, now as received
    expect(cookieFrom(r2.setCookie, 'sid')).toBe(resigned);
    await after.close();
  });
});

describe('the before-headers hook', () => {
  const app = () => {
    const a = express();
    a.use(session({ secret: 's', resave: false, saveUninitialized: true, name: 'sid', store: new MemoryStore({ checkPeriod: 0 }) }));
    a.get('/object', (_req, res) => {
      res.writeHead(201, { 'X-A': '1' });
      res.end('o');
    });
    a.get('/reason', (_req, res) => {
      res.writeHead(202, 'Fine', [['X-B', '2']]);
      res.end('r');
    });
    a.get('/flat', (_req, res) => {
      res.setHeader('X-C', 'old');
      res.writeHead(203, ['X-C', '3', 'X-C', '4']);
      res.end('f');
    });
    a.get('/implicit', (_req, res) => {
      res.statusCode = 204;
      res.end();
    });
    return a;
  };

  test('sets the cookie whichever way writeHead is called, keeping its status, reason and headers', async () => {
    const srv = await listen(app());
    const object = await fetch(srv.url + '/object');
    expect([object.status, object.headers.get('x-a'), cookieFrom(object.headers.getSetCookie(), 'sid') !== undefined]).toEqual([201, '1', true]);
    const reason = await fetch(srv.url + '/reason');
    expect([reason.status, reason.statusText, reason.headers.get('x-b'), cookieFrom(reason.headers.getSetCookie(), 'sid') !== undefined]).toEqual([202, 'Fine', '2', true]);
    const flat = await fetch(srv.url + '/flat');
    expect([flat.status, flat.headers.get('x-c'), cookieFrom(flat.headers.getSetCookie(), 'sid') !== undefined]).toEqual([203, '3, 4', true]);
    const implicit = await fetch(srv.url + '/implicit');
    expect([implicit.status, cookieFrom(implicit.headers.getSetCookie(), 'sid') !== undefined]).toEqual([204, true]);
    await srv.close();
  });
});

/** A store with synchronous ops that counts which kind core called. */
class SyncCountingStore implements SessionStore {
  readonly capabilities = { ...NO_CAPABILITIES, touch: true };
  readonly data = new Map<string, { json: string; expires: number }>();
  readonly calls = { sync: [] as string[], async: [] as string[] };
  fail: string | undefined;

  private read(sid: string): SessionRecord | null {
    const e = this.data.get(sid);
    return e && e.expires > Date.now() ? (JSON.parse(e.json) as SessionRecord) : null;
  }
  private write(sid: string, r: SessionRecord, c: WriteContext): void {
    if (c.expires.getTime() <= Date.now()) this.data.delete(sid);
    else this.data.set(sid, { json: JSON.stringify(r), expires: c.expires.getTime() });
  }
  private check(op: string): void {
    this.calls.sync.push(op);
    if (this.fail === op) throw new Error(`disk on fire while ${op} of a session`);
  }
  readonly sync: SyncStoreOps = {
    get: (sid) => (this.check('get'), this.read(sid)),
    set: (sid, r, c) => (this.check('set'), this.write(sid, r, c)),
    destroy: (sid) => (this.check('destroy'), void this.data.delete(sid)),
    touch: (sid, r, c) => {
      this.check('touch');
      const cur = this.read(sid);
      if (cur) this.write(sid, { ...cur, cookie: r.cookie }, c);
    },
  };
  async get(sid: string) {
    this.calls.async.push('get');
    return this.read(sid);
  }
  async set(sid: string, r: SessionRecord, c: WriteContext) {
    this.calls.async.push('set');
    this.write(sid, r, c);
  }
  async destroy(sid: string) {
    this.calls.async.push('destroy');
    this.data.delete(sid);
  }
  async touch(sid: string, r: SessionRecord, c: WriteContext) {
    this.calls.async.push('touch');
    const cur = this.read(sid);
    if (cur) this.write(sid, { ...cur, cookie: r.cookie }, c);
  }
}

const errors: ErrorRequestHandler = (err, _req, res, _next) => {
  if (res.headersSent) return;
  res.status(err.status ?? 500).json({ code: err.code ?? null, message: String(err.message) });
};

function syncApp(store: SessionStore, extra: Record<string, unknown> = {}) {
  const a = express();
  const mw = session({ secret: 's', resave: false, saveUninitialized: false, store, cookie: { maxAge: 60_000 }, ...extra });
  a.use(mw);
  a.get('/login', (req, res) => {
    (req.session as unknown as S).user = 'ann';
    res.send('ok');
  });
  a.get('/me', (req, res) => res.send(String((req.session as unknown as S | undefined)?.user ?? 'anon')));
  a.get('/unset', (req, res) => {
    delete (req as unknown as { session?: unknown }).session;
    res.send('unset');
  });
  a.get('/logout', (req, res, next) => {
    req.session.destroy().then(() => res.send('bye'), next);
  });
  a.use(errors);
  return { a, mw };
}

describe('stores with synchronous ops', () => {
  test('core uses them for load, save, touch and destroy, and never the promise-based methods', async () => {
    const store = new SyncCountingStore();
    const { a, mw } = syncApp(store, { unset: 'destroy' });
    const events: string[] = [];
    for (const e of ['save', 'touch', 'destroy'] as const) mw.on(e, (ev: SessEvent) => events.push(`${ev.type}:${typeof ev.latencyMs}`));
    const srv = await listen(a);
    const c = client(srv.url);
    expect((await c.get('/login')).body).toBe('ok');
    expect((await c.get('/me')).body).toBe('ann');
    expect((await c.get('/unset')).body).toBe('unset');
    expect(store.data.size).toBe(0);
    await c.get('/login');
    expect((await c.get('/logout')).body).toBe('bye');
    expect(store.data.size).toBe(0);
    expect(store.calls.async).toEqual([]);
    // (the cookie of the unset session misses, and unset: 'destroy' destroys again after destroy(), as express-session does)
    expect(store.calls.sync).toEqual(['set', 'get', 'touch', 'get', 'destroy', 'get', 'set', 'get', 'destroy', 'destroy']);
    expect(events).toEqual(['save:number', 'touch:number', 'destroy:number', 'save:number', 'destroy:number', 'destroy:number']);
    await srv.close();
  });

  test('a throwing sync op is a typed store error, as a rejection would be, with no session id in it', async () => {
    const store = new SyncCountingStore();
    const { a, mw } = syncApp(store);
    const seen: SessEvent[] = [];
    mw.on('storeError', (e) => seen.push(e));
    const srv = await listen(a);
    const c = client(srv.url);
    await c.get('/login');
    const sid = decodeURIComponent(c.jar!.split('=')[1]!).slice(2).split('.')[0]!;
    store.fail = 'get';
    const load = await c.get('/me');
    expect(load.status).toBe(503);
    expect(JSON.parse(load.body).code).toBe('SESS_STORE');
    expect(load.body).not.toContain(sid);
    store.fail = 'touch';
    const touch = await c.get('/me'); // the response is complete; the error goes to next afterwards
    expect(touch.body).toBe('ann');
    store.fail = undefined;
    expect((await c.get('/me')).body).toBe('ann');
    expect(seen.map((e) => [e.operation, e.error?.code])).toEqual([
      ['get', 'SESS_STORE'],
      ['touch', 'SESS_STORE'],
    ]);
    expect(JSON.stringify(seen)).not.toContain(sid);
    await srv.close();
  });

  test('with saveBeforeSend a failing sync save reaches the error handler before anything is sent', async () => {
    const store = new SyncCountingStore();
    const { a } = syncApp(store, { saveBeforeSend: true });
    const srv = await listen(a);
    store.fail = 'set';
    const r = await client(srv.url).get('/login');
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body).code).toBe('SESS_STORE');
    expect(r.setCookie).toEqual([]);
    await srv.close();
  });

  test("MemoryStore offers its sync ops, and withdraws them when a method is replaced or in a subclass", () => {
    const store = new MemoryStore({ checkPeriod: 0 });
    expect(typeof store.sync?.get).toBe('function');
    store.get = async () => null;
    expect(store.sync).toBeUndefined();
    class Logged extends MemoryStore {}
    expect(new Logged({ checkPeriod: 0 }).sync).toBeUndefined();
  });

  test('a MemoryStore method replaced after the middleware was made is what core calls', async () => {
    const store = new MemoryStore({ checkPeriod: 0 });
    const { a } = syncApp(store);
    const srv = await listen(a);
    const c = client(srv.url);
    await c.get('/login');
    let gets = 0;
    const real = store.get.bind(store);
    store.get = (sid: string) => {
      gets++;
      return real(sid);
    };
    expect((await c.get('/me')).body).toBe('ann');
    expect(gets).toBe(1);
    await srv.close();
  });
});

describe('store deadlines', () => {
  test('operations that hang time out each at its own deadline, not at an earlier one', async () => {
    const hung: string[] = [];
    const store: SessionStore = {
      capabilities: NO_CAPABILITIES,
      get: (sid) => {
        hung.push(sid);
        return new Promise(() => undefined);
      },
      set: async () => undefined,
      destroy: async () => undefined,
    };
    const { a } = syncApp(store, { storeTimeout: 400 });
    const srv = await listen(a);
    const cookie = (id: string) => ({ cookie: `connect.sid=${encodeURIComponent('s:' + sign(id, 's'))}` });
    const t0 = Date.now();
    const first = fetch(srv.url + '/me', { headers: cookie('a'.repeat(32)) }).then((r) => [r.status, Date.now() - t0]);
    await new Promise((r) => setTimeout(r, 200));
    const second = fetch(srv.url + '/me', { headers: cookie('b'.repeat(32)) }).then((r) => [r.status, Date.now() - t0]);
    const [[s1, t1], [s2, t2]] = await Promise.all([first, second]);
    expect([s1, s2]).toEqual([503, 503]);
    expect(t1).toBeGreaterThanOrEqual(380);
    expect(t2).toBeGreaterThanOrEqual(580); // its own 400 ms from when it started, ~200 ms later
    expect(t2).toBeLessThan(3000);
    expect(hung).toHaveLength(2);
    await srv.close();
  });
});

/** A MemoryStore app with the routes `more` adds, and a client logged in to it (one stored session). */
async function loggedIn(more: (a: express.Express) => void) {
  const store = new MemoryStore({ checkPeriod: 0 });
  const a = express();
  a.use(session({ secret: 's', resave: false, saveUninitialized: false, store, cookie: { maxAge: 60_000 } }));
  a.get('/login', (req, res) => {
    (req.session as unknown as S).user = 'ann';
    res.send('ok');
  });
  more(a);
  const srv = await listen(a);
  const c = client(srv.url);
  await c.get('/login');
  return { store, srv, c };
}

describe('the loaded cookie', () => {
  test("a stored cookie's expiry is a Date when read, and the same in JSON, maxAge and the Set-Cookie header", async () => {
    const { store, srv, c } = await loggedIn((a) => {
      a.get('/look', (req, res) => {
        const ck = req.session.cookie;
        res.json({ json: JSON.parse(JSON.stringify(ck)), keys: Object.keys(ck), maxAge: ck.maxAge, isDate: ck.expires instanceof Date, iso: (ck.expires as Date).toISOString() });
      });
      a.get('/keep', (req, res) => {
        req.session.cookie.maxAge = 120_000;
        res.send(req.session.cookie.serialize('x', 'y'));
      });
    });
    const stored = JSON.parse(JSON.stringify((await store.all())[Object.keys(await store.all())[0]!]!.cookie));
    const look = JSON.parse((await c.get('/look')).body);
    expect(look.isDate).toBe(true);
    expect(look.iso).toBe(stored.expires);
    expect(look.json).toEqual(stored);
    expect(look.keys).toEqual(Object.keys(new Cookie({ maxAge: 60_000 })));
    expect(look.maxAge).toBeGreaterThan(50_000);
    expect(look.maxAge).toBeLessThanOrEqual(60_000);
    const keep = await c.get('/keep');
    expect(keep.body).toMatch(/^x=y; Path=\/; Expires=/);
    await srv.close();
  });
});

describe('req.session', () => {
  test('id and req are there but not enumerable, not in JSON, and stored keys cannot replace them', async () => {
    const { store, srv, c } = await loggedIn((a) => {
      a.get('/look', (req, res) => {
        res.json({ same: req.session.id === req.sessionID, req: req.session.req === req, keys: Object.keys(req.session), json: Object.keys(JSON.parse(JSON.stringify(req.session))) });
      });
    });
    const sid = Object.keys(await store.all())[0]!;
    const rec = (await store.get(sid))!;
    await store.set(sid, { ...rec, id: 'forged', req: 'forged' }, { expires: new Date(Date.now() + 60_000) });
    expect(JSON.parse((await c.get('/look')).body)).toEqual({ same: true, req: true, keys: ['cookie', 'user'], json: ['cookie', 'user'] });
    await srv.close();
  });
});

describe('MemoryStore recency', () => {
  const rec = (v: number): SessionRecord => ({ cookie: { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000).toISOString() }, v });
  const ctx = () => ({ expires: new Date(Date.now() + 60_000) });

  test('get, touch and set make a session the most recent; destroy and clear keep the list whole', async () => {
    const s = new MemoryStore({ max: 3, checkPeriod: 0 });
    for (const id of ['a', 'b', 'c']) await s.set(id, rec(1), ctx());
    await s.touch('a', rec(1), ctx()); // order b, c, a
    await s.set('b', rec(2), ctx()); // c, a, b
    await s.set('d', rec(4), ctx()); // c goes
    expect((await s.ids()).sort()).toEqual(['a', 'b', 'd']);
    await s.destroy('b'); // a, d
    await s.get('a'); // d, a
    await s.set('e', rec(5), ctx());
    await s.set('f', rec(6), ctx()); // d goes
    expect((await s.ids()).sort()).toEqual(['a', 'e', 'f']);
    await s.clear();
    for (const id of ['g', 'h', 'i', 'j']) await s.set(id, rec(1), ctx());
    expect((await s.ids()).sort()).toEqual(['h', 'i', 'j']);
    expect(await s.length()).toBe(3);
  });

  test('an expired session leaves the list when it is read, pruned or overwritten', async () => {
    let now = Date.now();
    const s = new MemoryStore({ max: 2, checkPeriod: 0, now: () => now });
    await s.set('a', rec(1), { expires: new Date(now + 1000) });
    await s.set('b', rec(2), { expires: new Date(now + 5000) });
    now += 2000;
    expect(await s.get('a')).toBeNull();
    await s.set('c', rec(3), { expires: new Date(now + 5000) });
    expect((await s.ids()).sort()).toEqual(['b', 'c']);
    await s.set('d', rec(4), { expires: new Date(now + 5000) }); // b goes (the oldest)
    expect((await s.ids()).sort()).toEqual(['c', 'd']);
  });
});

describe('the end of a response while the store writes', () => {
  /** A store whose writes wait until the test lets them finish. */
  function gatedStore() {
    let release: (() => void) | undefined;
    let started: () => void = () => undefined;
    const writing = new Promise<void>((r) => (started = r));
    const store: SessionStore = {
      capabilities: NO_CAPABILITIES,
      get: async () => null,
      set: () =>
        new Promise<void>((r) => {
          release = r;
          started();
        }),
      destroy: async () => undefined,
    };
    return { store, writing, release: () => release!() };
  }

  /** A raw HTTP/1.1 request, collecting what arrives. */
  async function raw(url: string, path: string) {
    const { hostname, port } = new URL(url);
    const received: Buffer[] = [];
    const socket = net.connect(Number(port), hostname);
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    socket.on('data', (d: Buffer) => received.push(d));
    socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    return { bytes: () => Buffer.concat(received), closed };
  }

  const settle = () => new Promise((r) => setTimeout(r, 100));

  async function run(size: number, extra: Record<string, unknown> = {}, early?: (received: string) => boolean) {
    const { store, writing, release } = gatedStore();
    const a = express();
    a.use(session({ secret: 's', resave: false, saveUninitialized: false, store, ...extra }));
    a.get('/x', (req, res) => {
      (req.session as unknown as S).n = 1;
      res.send('a'.repeat(size));
    });
    const srv = await listen(a);
    const r = await raw(srv.url, '/x');
    await writing;
    // What goes out before the store answers has arrived (bounded wait), and nothing more comes meanwhile.
    for (let i = 0; i < 250 && early && !early(r.bytes().toString('latin1')); i++) await new Promise((res) => setTimeout(res, 20));
    await settle();
    const before = r.bytes().toString('latin1');
    release();
    await r.closed;
    const after = r.bytes().toString('latin1');
    await srv.close();
    return { before, after };
  }

  test('a small body is held with the headers until the store is done, then sent whole', async () => {
    const { before, after } = await run(2000);
    expect(before).toBe('');
    expect(after).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(after).toContain('Set-Cookie: connect.sid=s%3A');
    expect(after.endsWith('\r\n\r\n' + 'a'.repeat(2000))).toBe(true);
  });

  test("a large body streams as express-session's does: headers and all but its last byte first", async () => {
    const size = 64 * 1024;
    const { before, after } = await run(size, {}, (got) => got.endsWith('a'.repeat(size - 1)));
    expect(before).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(before.endsWith('\r\n\r\n' + 'a'.repeat(size - 1))).toBe(true);
    expect(after).toBe(before + 'a');
  });

  test('saveBeforeSend holds even a large body until the store is done', async () => {
    const size = 64 * 1024;
    const { before, after } = await run(size, { saveBeforeSend: true });
    expect(before).toBe('');
    expect(after.endsWith('\r\n\r\n' + 'a'.repeat(size))).toBe(true);
  });
});
