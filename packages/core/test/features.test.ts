/**
 * sess's own options (all off by default): touch throttling, save before send, rotation, absolute
 * lifetime, size cap, flash, CSRF, per-user index, concurrency modes, hashed store keys, events.
 */
import { afterEach, describe, expect, jest, test } from '@jest/globals';
import express from 'express';
import session, {
  MemoryStore,
  csrf,
  flash,
  hashedKey,
  type SessionRecord,
  type SessEvent,
  type SessionOptions,
  type WriteContext,
} from '@sess/core';
import { client, listen } from './helpers';

type S = Record<string, unknown>;
const base = { secret: 's', resave: false, saveUninitialized: false, cookie: { maxAge: 60_000 } } as const;

/** Fake only Date, so HTTP and timers keep working. */
function fakeDate() {
  jest.useFakeTimers({
    doNotFake: ['nextTick', 'setImmediate', 'clearImmediate', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'queueMicrotask', 'hrtime', 'performance'],
  });
}
afterEach(() => {
  jest.useRealTimers();
});

/** A MemoryStore that counts writes and can be slowed down. */
class CountingStore extends MemoryStore {
  sets = 0;
  touches = 0;
  gets = 0;
  delay = 0;
  private wait() {
    return this.delay ? new Promise((r) => setTimeout(r, this.delay)) : Promise.resolve();
  }
  override async get(sid: string) {
    this.gets++;
    return super.get(sid);
  }
  override async set(sid: string, r: SessionRecord, c: WriteContext) {
    this.sets++;
    await this.wait();
    return super.set(sid, r, c);
  }
  override async touch(sid: string, r: SessionRecord, c: WriteContext) {
    this.touches++;
    return super.touch(sid, r, c);
  }
}

function counterApp(store: MemoryStore, extra: Partial<SessionOptions> = {}) {
  const app = express();
  const mw = session({ ...base, store, ...extra } as SessionOptions);
  app.use(mw);
  app.get('/login', (req, res) => {
    (req.session as unknown as S).user = 'ann';
    res.send('in');
  });
  app.get('/me', (req, res) => res.send(String((req.session as unknown as S).user ?? 'anon')));
  app.get('/inc', (req, res) => {
    const s = req.session as unknown as S;
    s.n = ((s.n as number) || 0) + 1;
    res.send(String(s.n));
  });
  return { app, mw };
}

describe('touchAfter', () => {
  test('an unchanged session is touched at most once per interval, and expiry stays right', async () => {
    fakeDate();
    const t0 = Date.now();
    const store = new CountingStore({ checkPeriod: 0 });
    const { app } = counterApp(store, { touchAfter: 10_000 });
    const srv = await listen(app);
    const c = client(srv.url);
    await c.get('/login');
    for (let i = 0; i < 5; i++) {
      jest.setSystemTime(t0 + i * 1000);
      expect((await c.get('/me')).body).toBe('ann');
    }
    expect(store.touches).toBe(0);
    jest.setSystemTime(t0 + 11_000);
    await c.get('/me');
    expect(store.touches).toBe(1);
    // within the interval again: no touch, and the stored expiry is never more than touchAfter stale
    jest.setSystemTime(t0 + 15_000);
    await c.get('/me');
    expect(store.touches).toBe(1);
    const all = await store.all();
    const expires = Date.parse(String(Object.values(all)[0]!.cookie.expires));
    expect(expires).toBeGreaterThanOrEqual(Date.now() + 60_000 - 10_000);
    await srv.close();
  });

  test('without touchAfter every request touches (express-session behaviour)', async () => {
    const store = new CountingStore({ checkPeriod: 0 });
    const { app } = counterApp(store);
    const srv = await listen(app);
    const c = client(srv.url);
    await c.get('/login');
    for (let i = 0; i < 3; i++) await c.get('/me');
    expect(store.touches).toBe(3);
    await srv.close();
  });
});

describe('saveBeforeSend', () => {
  async function redirectRace(saveBeforeSend: boolean, bigBody = false) {
    const store = new CountingStore({ checkPeriod: 0 });
    const app = express();
    app.use(session({ ...base, store, saveBeforeSend }));
    app.get('/start', (req, res) => {
      (req.session as unknown as S).step = 1;
      res.send('ok');
    });
    app.get('/next', (req, res) => {
      (req.session as unknown as S).step = 2;
      if (bigBody) res.send('x'.repeat(64 * 1024));
      else res.redirect('/show');
    });
    app.get('/show', (req, res) => res.send(String((req.session as unknown as S).step)));
    const srv = await listen(app);
    const c = client(srv.url);
    await c.get('/start');
    store.delay = 150;
    // fetch resolves when the headers arrive: follow the redirect at once, as a browser does
    const r = await fetch(srv.url + '/next', { headers: { cookie: c.jar! }, redirect: 'manual' });
    const seen = await (await fetch(srv.url + '/show', { headers: { cookie: c.jar! } })).text();
    await r.text();
    await srv.close();
    return seen;
  }

  test('with saveBeforeSend the redirect target always sees the new data', async () => {
    expect(await redirectRace(true)).toBe('2');
  });

  test('without it a small response (a redirect) is still held until the save is done', async () => {
    expect(await redirectRace(false)).toBe('2');
  });

  test('without it a large body streams early, so its client can outrun a slow save (the race the option fixes)', async () => {
    expect(await redirectRace(false, true)).toBe('1');
  });

  test('with saveBeforeSend a large body waits for the save too', async () => {
    expect(await redirectRace(true, true)).toBe('2');
  });
});

describe('rotation and lifetime', () => {
  test('rotateEvery: the id changes once the session is that old; data stays; the old id is gone', async () => {
    fakeDate();
    const t0 = Date.now();
    const store = new MemoryStore({ checkPeriod: 0 });
    const { app, mw } = counterApp(store, { rotateEvery: 5 * 60_000, cookie: { maxAge: 3_600_000 } });
    const rotations: SessEvent[] = [];
    mw.on('rotate', (e) => rotations.push(e));
    const srv = await listen(app);
    const c = client(srv.url);
    await c.get('/login');
    const first = c.jar;
    jest.setSystemTime(t0 + 60_000);
    await c.get('/me');
    expect(c.jar).toBe(first);
    jest.setSystemTime(t0 + 6 * 60_000);
    expect((await c.get('/me')).body).toBe('ann');
    expect(c.jar).not.toBe(first);
    expect(rotations).toHaveLength(1);
    expect(await store.length()).toBe(1);
    const stale = client(srv.url);
    stale.jar = first;
    expect((await stale.get('/me')).body).toBe('anon');
    expect((await c.get('/me')).body).toBe('ann');
    await srv.close();
  });

  test('absoluteTimeout: a session ends at created + N however active it is', async () => {
    fakeDate();
    const t0 = Date.now();
    const store = new MemoryStore({ checkPeriod: 0 });
    const { app } = counterApp(store, { absoluteTimeout: 10 * 60_000, rolling: true, cookie: { maxAge: 3_600_000 } });
    const srv = await listen(app);
    const c = client(srv.url);
    await c.get('/login');
    for (let m = 1; m <= 9; m++) {
      jest.setSystemTime(t0 + m * 60_000);
      expect((await c.get('/me')).body).toBe('ann');
    }
    jest.setSystemTime(t0 + 10 * 60_000 + 1);
    expect((await c.get('/me')).body).toBe('anon');
    expect(await store.length()).toBe(0);
    await srv.close();
  });

  test('absoluteTimeout caps the store expiry too', async () => {
    const store = new MemoryStore({ checkPeriod: 0 });
    const { app } = counterApp(store, { absoluteTimeout: 5000, cookie: { maxAge: 3_600_000 } });
    const srv = await listen(app);
    await client(srv.url).get('/login');
    const rec = Object.values(await store.all())[0]!;
    expect((rec.__sess as { createdAt: number }).createdAt).toBeLessThanOrEqual(Date.now());
    await srv.close();
  });
});

describe('maxSize', () => {
  test('an oversized session is refused with a typed error before the store is called; the stored one stays', async () => {
    const store = new CountingStore({ checkPeriod: 0 });
    const app = express();
    app.use(session({ ...base, store, maxSize: 2048, saveBeforeSend: true }));
    app.get('/small', (req, res) => {
      (req.session as unknown as S).v = 'x';
      res.send('ok');
    });
    app.get('/big', (req, res) => {
      (req.session as unknown as S).v = 'x'.repeat(5000);
      res.send('ok');
    });
    app.use(((err, _req, res, _next) => res.status(err.status).json({ code: err.code, message: err.message })) as express.ErrorRequestHandler);
    const srv = await listen(app);
    const c = client(srv.url);
    await c.get('/small');
    expect(store.sets).toBe(1);
    const r = await c.get('/big');
    expect(r.status).toBe(500);
    expect(JSON.parse(r.body).code).toBe('SESS_TOO_LARGE');
    expect(JSON.parse(r.body).message).toMatch(/over maxSize \(2048 bytes\)/);
    expect(store.sets).toBe(1);
    expect(Object.values(await store.all())[0]!.v).toBe('x');
    await srv.close();
  });
});

describe('flash', () => {
  test('messages survive one redirect and are read once', async () => {
    const app = express();
    app.use(session({ ...base }));
    app.use(flash());
    app.get('/save', (req, res) => {
      req.flash('info', 'Profile updated!');
      req.flash('info', ['Second']);
      req.flash('error', 'Oops');
      res.redirect('/show');
    });
    app.get('/show', (req, res) => res.json({ info: req.flash('info'), rest: req.flash() }));
    const srv = await listen(app);
    const c = client(srv.url);
    expect((await c.get('/save')).status).toBe(302);
    expect(JSON.parse((await c.get('/show')).body)).toEqual({ info: ['Profile updated!', 'Second'], rest: { error: ['Oops'] } });
    expect(JSON.parse((await c.get('/show')).body)).toEqual({ info: [], rest: {} });
    await srv.close();
  });
});

describe('csrf', () => {
  function csrfApp() {
    const app = express();
    app.use(express.urlencoded({ extended: false }));
    app.use(session({ ...base }));
    app.use(csrf());
    app.get('/form', (req, res) => res.send(req.csrfToken()));
    app.post('/transfer', (_req, res) => res.send('done'));
    app.use(((err, _req, res, _next) => res.status(err.status ?? 500).send(err.code)) as express.ErrorRequestHandler);
    return app;
  }
  const post = (url: string, cookie: string | undefined, body: string, headers: Record<string, string> = {}) =>
    fetch(url + '/transfer', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}), ...headers },
      body,
    });

  test('a form with the session token passes; missing, wrong or foreign tokens get 403', async () => {
    const srv = await listen(csrfApp());
    const alice = client(srv.url);
    const token = (await alice.get('/form')).body;
    const token2 = (await alice.get('/form')).body;
    expect(token).not.toBe(token2); // masked afresh each time
    expect(await (await post(srv.url, alice.jar, '_csrf=' + encodeURIComponent(token))).text()).toBe('done');
    expect(await (await post(srv.url, alice.jar, '', { 'x-csrf-token': token2 })).text()).toBe('done');
    const missing = await post(srv.url, alice.jar, 'amount=1');
    expect(missing.status).toBe(403);
    expect(await missing.text()).toBe('SESS_CSRF');
    expect((await post(srv.url, alice.jar, '_csrf=' + 'A'.repeat(48))).status).toBe(403);
    const mallory = client(srv.url);
    const foreign = (await mallory.get('/form')).body;
    expect((await post(srv.url, alice.jar, '_csrf=' + encodeURIComponent(foreign))).status).toBe(403);
    expect((await post(srv.url, undefined, '_csrf=' + encodeURIComponent(token))).status).toBe(403);
    await srv.close();
  });
});

describe('log out everywhere', () => {
  test('lists a user\'s sessions and destroys all but the current one', async () => {
    const store = new MemoryStore({ checkPeriod: 0 });
    const app = express();
    const mw = session({ ...base, store, userKey: (s) => (s.user as { id: number } | undefined)?.id });
    app.use(mw);
    app.get('/login/:id', async (req, res) => {
      await req.session.regenerate();
      (req.session as unknown as S).user = { id: Number(req.params.id) };
      res.send('in');
    });
    app.get('/sessions', async (req, res) => res.json(await mw.listUserSessions((req.session as unknown as { user: { id: number } }).user.id, req)));
    app.get('/others-out', async (req, res) => res.json(await mw.destroyUserSessions((req.session as unknown as { user: { id: number } }).user.id, { except: req })));
    app.get('/me', (req, res) => res.send(String(((req.session as unknown as S).user as { id: number } | undefined)?.id ?? 'anon')));
    const srv = await listen(app);
    const laptop = client(srv.url);
    const phone = client(srv.url);
    const other = client(srv.url);
    await laptop.get('/login/1');
    await phone.get('/login/1');
    await other.get('/login/2');
    const list = JSON.parse((await laptop.get('/sessions')).body) as Array<{ current: boolean; tag: string; createdAt: number; lastSeenAt: number; data: S }>;
    expect(list).toHaveLength(2);
    expect(list.filter((s) => s.current)).toHaveLength(1);
    expect(list.every((s) => typeof s.createdAt === 'number' && typeof s.lastSeenAt === 'number' && (s.data.user as { id: number }).id === 1)).toBe(true);
    const sid = decodeURIComponent(laptop.jar!.split('=')[1]!).slice(2).split('.')[0]!;
    expect(JSON.stringify(list.map((s) => s.tag))).not.toContain(sid);
    expect(JSON.parse((await laptop.get('/others-out')).body)).toBe(1);
    expect((await phone.get('/me')).body).toBe('anon');
    expect((await laptop.get('/me')).body).toBe('1');
    expect((await other.get('/me')).body).toBe('2');
    await srv.close();
  });
});

describe('concurrency', () => {
  async function hammer(extra: Partial<SessionOptions>, route: 'inc' | 'key' | 'inc-locked', n = 40) {
    const store = new CountingStore({ checkPeriod: 0 });
    const app = express();
    app.use(session({ ...base, store, ...extra } as SessionOptions));
    app.get('/login', (req, res) => {
      (req.session as unknown as S).n = 0;
      res.send('in');
    });
    app.get('/inc', async (req, res) => {
      const s = req.session as unknown as S;
      const v = s.n as number;
      await new Promise((r) => setTimeout(r, 5)); // work between read and write
      s.n = v + 1;
      res.send('ok');
    });
    app.get('/inc-locked', async (req, res) => {
      await req.session.lock();
      const s = req.session as unknown as S;
      const v = s.n as number;
      await new Promise((r) => setTimeout(r, 5));
      s.n = v + 1;
      res.send('ok');
    });
    app.get('/key/:i', async (req, res) => {
      await new Promise((r) => setTimeout(r, 5));
      (req.session as unknown as S)['k' + req.params.i] = true;
      res.send('ok');
    });
    app.get('/state', (req, res) => res.json(req.session));
    const srv = await listen(app);
    const c = client(srv.url);
    await c.get('/login');
    store.delay = 2;
    const responses = await Promise.all(
      Array.from({ length: n }, (_, i) => fetch(srv.url + (route === 'key' ? `/key/${i}` : `/${route}`), { headers: { cookie: c.jar! } })),
    );
    expect(responses.every((r) => r.status === 200)).toBe(true);
    await Promise.all(responses.map((r) => r.text())); // the body ends after the store write
    store.delay = 0;
    const state = JSON.parse((await c.get('/state')).body) as S;
    await srv.close();
    return state;
  }

  test("last-write-wins loses concurrent updates (express-session's behaviour)", async () => {
    const state = await hammer({}, 'inc');
    expect(state.n as number).toBeLessThan(40);
  });

  test("'merge': concurrent requests changing different keys lose none", async () => {
    const state = await hammer({ concurrency: 'merge' }, 'key');
    for (let i = 0; i < 40; i++) expect(state['k' + i]).toBe(true);
  });

  test("'lock': every acknowledged increment of one key is there", async () => {
    const state = await hammer({ concurrency: 'lock', lockTimeout: 20_000 }, 'inc');
    expect(state.n).toBe(40);
  });

  test('req.session.lock() serialises one route', async () => {
    const state = await hammer({ lockTimeout: 20_000 }, 'inc-locked');
    expect(state.n).toBe(40);
  });

  test('a slower request never brings back a session destroyed meanwhile (merge and lock)', async () => {
    for (const concurrency of ['merge', 'lock'] as const) {
      const store = new MemoryStore({ checkPeriod: 0 });
      const app = express();
      app.use(session({ ...base, store, concurrency, lockTimeout: 5000 }));
      app.get('/login', (req, res) => {
        (req.session as unknown as S).user = 'ann';
        res.send('in');
      });
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      app.get('/slow', async (req, res) => {
        await gate;
        (req.session as unknown as S).late = true;
        res.send('slow');
      });
      app.get('/logout', async (req, res) => {
        await req.session.destroy();
        res.send('out');
      });
      const srv = await listen(app);
      const c = client(srv.url);
      await c.get('/login');
      const slow = fetch(srv.url + '/slow', { headers: { cookie: c.jar! } });
      await new Promise((r) => setTimeout(r, 50));
      const logout = fetch(srv.url + '/logout', { headers: { cookie: c.jar! } });
      await new Promise((r) => setTimeout(r, 50));
      release();
      await (await slow).text();
      await (await logout).text();
      expect(await store.length()).toBe(0);
      await srv.close();
    }
  });
});

describe('hashIds', () => {
  test('the store only ever sees a keyed hash of the id', async () => {
    const store = new CountingStore({ checkPeriod: 0 });
    const { app } = counterApp(store, { hashIds: 'id-hash-key' });
    const srv = await listen(app);
    const c = client(srv.url);
    await c.get('/login');
    expect((await c.get('/me')).body).toBe('ann');
    const sid = decodeURIComponent(c.jar!.split('=')[1]!).slice(2).split('.')[0]!;
    const ids = await store.ids();
    expect(ids).toEqual([hashedKey(sid, 'id-hash-key')]);
    expect(ids[0]).not.toBe(sid);
    await srv.close();
  });
});

describe('events', () => {
  test('create, load, miss, save, touch, destroy, rotate and storeError, with latency and no ids', async () => {
    const store = new MemoryStore({ checkPeriod: 0 });
    const { app, mw } = counterApp(store);
    app.get('/rotate', async (req, res) => {
      await req.session.rotate();
      res.send('r');
    });
    app.get('/logout', async (req, res) => {
      await req.session.destroy();
      res.send('out');
    });
    const seen: SessEvent[] = [];
    for (const t of ['create', 'load', 'miss', 'save', 'touch', 'destroy', 'rotate', 'storeError'] as const) mw.on(t, (e) => seen.push(e));
    const srv = await listen(app);
    const c = client(srv.url);
    await c.get('/login');
    await c.get('/me');
    await c.get('/rotate');
    await c.get('/logout');
    await c.get('/me');
    const sid = decodeURIComponent(c.jar!.split('=')[1]!).slice(2).split('.')[0]!;
    const failing = store.get.bind(store);
    store.get = () => Promise.reject(new Error('down'));
    await c.get('/me');
    store.get = failing;
    const types = new Set(seen.map((e) => e.type));
    for (const t of ['create', 'load', 'miss', 'save', 'touch', 'destroy', 'rotate', 'storeError']) expect(types.has(t as SessEvent['type'])).toBe(true);
    expect(seen.filter((e) => e.type === 'save').every((e) => typeof e.latencyMs === 'number')).toBe(true);
    expect(JSON.stringify(seen)).not.toContain(sid);
    await srv.close();
  });
});

describe('cookiePrefix', () => {
  test("'' reads and writes @fastify/session's default cookie (<id>.<signature>); 's:' cookies are then foreign", async () => {
    const { sign } = await import('cookie-signature');
    const store = new MemoryStore();
    const future = new Date(Date.now() + 60_000).toISOString();
    await store.set('fastifySessionId0123456789abcdef', { cookie: { originalMaxAge: 60_000, expires: future, path: '/', httpOnly: true }, user: 'ann' }, { expires: new Date(future) });
    const app = express();
    app.use(session({ secret: 'fastify secret', name: 'sessionId', cookiePrefix: '', resave: false, saveUninitialized: false, store }));
    app.get('/', (req, res) => res.send(String((req.session as unknown as { user?: string }).user)));
    app.get('/login', (req, res) => {
      (req.session as unknown as { user?: string }).user = 'bob';
      res.send('in');
    });
    const srv = await listen(app);
    try {
      const plain = 'sessionId=' + encodeURIComponent(sign('fastifySessionId0123456789abcdef', 'fastify secret'));
      expect((await client(srv.url).get('/', { cookie: plain })).body).toBe('ann');
      const prefixed = 'sessionId=' + encodeURIComponent('s:' + sign('fastifySessionId0123456789abcdef', 'fastify secret'));
      expect((await client(srv.url).get('/', { cookie: prefixed })).body).toBe('undefined');
      const set = (await client(srv.url).get('/login')).setCookie[0]!;
      const value = decodeURIComponent(set.split(';')[0]!.slice('sessionId='.length));
      expect(value).toMatch(/^[\w-]+\.[\w+/]+$/);
      expect(value.startsWith('s:')).toBe(false);
    } finally {
      await srv.close();
    }
  });

  test('a prefix with a separator is a ConfigError', () => {
    expect(() => session({ secret: 's', resave: false, saveUninitialized: false, cookiePrefix: 'a;b' })).toThrow(/cookiePrefix must be/);
  });
});
