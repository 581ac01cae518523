/**
 * Stores whose touch moves only their own expiry (`capabilities.touchCookie: false`), as connect-redis,
 * connect-pg-simple, express-mysql-session and connect-mongo do: the stored cookie goes stale while the
 * session lives, the store reports its expiry on read (`withStoreExpiry`), and core keeps a cookie change
 * by writing the whole record instead of touching.
 */
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import express from 'express';
import session, {
  MemoryStore,
  NO_CAPABILITIES,
  STORE_EXPIRES,
  storeExpiresOf,
  fromCallbackStore,
  withStoreExpiry,
  type SessionOptions,
  type SessionPatch,
  type SessionRecord,
  type SessionStore,
  type StoreCapabilities,
  type WriteContext,
} from '@sess/core';
import { client, listen } from './helpers';

type S = Record<string, unknown>;

/** A store shaped like the SQL stores: the JSON, and an expiry column that touch alone moves. */
class ExpiryColumnStore implements SessionStore {
  readonly capabilities: StoreCapabilities;
  readonly rows = new Map<string, { json: string; expires: number }>();
  readonly calls: string[] = [];

  constructor(touchCookie: boolean) {
    this.capabilities = { ...NO_CAPABILITIES, touch: true, touchCookie };
  }

  async get(sid: string): Promise<SessionRecord | null> {
    this.calls.push('get');
    const row = this.rows.get(sid);
    if (!row || row.expires <= Date.now()) return null;
    return withStoreExpiry(JSON.parse(row.json) as SessionRecord, row.expires);
  }

  async set(sid: string, record: SessionRecord, ctx: WriteContext): Promise<void> {
    this.calls.push('set');
    this.rows.set(sid, { json: JSON.stringify(record), expires: ctx.expires.getTime() });
  }

  async destroy(sid: string): Promise<void> {
    this.calls.push('destroy');
    this.rows.delete(sid);
  }

  async touch(sid: string, record: SessionRecord, ctx: WriteContext): Promise<void> {
    this.calls.push('touch');
    const row = this.rows.get(sid);
    if (!row || row.expires <= Date.now()) return;
    if (this.capabilities.touchCookie === false) row.expires = ctx.expires.getTime();
    else this.rows.set(sid, { json: JSON.stringify({ ...(JSON.parse(row.json) as SessionRecord), cookie: record.cookie }), expires: ctx.expires.getTime() });
  }

  only(): { json: string; expires: number } {
    expect(this.rows.size).toBe(1);
    return [...this.rows.values()][0]!;
  }
}

/** The same, with an atomic patch that never recreates a missing row (as the SQL stores' patch). */
class PatchingStore extends ExpiryColumnStore {
  constructor() {
    super(false);
    (this as { capabilities: StoreCapabilities }).capabilities = { ...this.capabilities, atomicPatch: true };
  }

  async patch(sid: string, p: SessionPatch, ctx: WriteContext): Promise<boolean> {
    this.calls.push('patch');
    const row = this.rows.get(sid);
    if (!row || row.expires <= Date.now()) return false;
    const rec: SessionRecord = { ...(JSON.parse(row.json) as SessionRecord), ...p.set, cookie: p.cookie };
    for (const k of p.unset) delete rec[k];
    this.rows.set(sid, { json: JSON.stringify(rec), expires: ctx.expires.getTime() });
    return true;
  }
}

const originalMaxAge = (store: ExpiryColumnStore) => (JSON.parse(store.only().json) as SessionRecord).cookie.originalMaxAge as number;

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function start(store: SessionStore, extra: Partial<SessionOptions> = {}) {
  const app = express();
  app.use(session({ secret: 's', resave: false, saveUninitialized: false, cookie: { maxAge: 60_000 }, store, ...extra } as SessionOptions));
  app.get('/inc', (req, res) => {
    const s = req.session as unknown as S;
    s.n = ((s.n as number) || 0) + 1;
    res.send(String(s.n));
  });
  app.get('/peek', (req, res) => res.send(String((req.session as unknown as S).n ?? 'none')));
  app.get('/strict', (req, res) => {
    req.session.cookie.sameSite = 'strict';
    res.send('ok');
  });
  app.get('/remember', (req, res) => {
    req.session.cookie.maxAge = 3_600_000;
    res.send('ok');
  });
  // The same, while another request destroys the session (logout elsewhere) before this one ends.
  app.get('/remember-while-destroyed', (req, res) => {
    req.session.cookie.maxAge = 7_200_000;
    void (store as ExpiryColumnStore).rows.delete(req.sessionID);
    res.send('ok');
  });
  const srv = await listen(app);
  closers.push(srv.close);
  return client(srv.url);
}

describe('withStoreExpiry', () => {
  const rec = (expires: string | null) => ({ cookie: { originalMaxAge: 1000, expires, path: '/' }, v: 1 }) as unknown as SessionRecord;

  test('reports a later store expiry as the cookie expiry', () => {
    const r = withStoreExpiry(rec('2030-01-01T00:00:00.000Z'), Date.parse('2030-01-02T00:00:00.000Z'));
    expect(r.cookie.expires).toBe('2030-01-02T00:00:00.000Z');
    expect(r.v).toBe(1);
  });

  test('keeps the stored expiry within the slack (the backend rounds to seconds) or when the store says earlier', () => {
    expect(withStoreExpiry(rec('2030-01-01T00:00:00.200Z'), Date.parse('2030-01-01T00:00:01.000Z')).cookie.expires).toBe('2030-01-01T00:00:00.200Z');
    expect(withStoreExpiry(rec('2030-01-01T00:00:00.600Z'), Date.parse('2030-01-01T00:00:00.000Z')).cookie.expires).toBe('2030-01-01T00:00:00.600Z');
  });

  test('leaves a browser-session cookie without expiry, and ignores an unknown store expiry', () => {
    expect(withStoreExpiry(rec(null), Date.now() + 10_000).cookie.expires).toBeNull();
    expect(withStoreExpiry(rec('2030-01-01T00:00:00.000Z'), null).cookie.expires).toBe('2030-01-01T00:00:00.000Z');
    expect(withStoreExpiry(rec('2030-01-01T00:00:00.000Z'), Number.NaN).cookie.expires).toBe('2030-01-01T00:00:00.000Z');
  });
});

describe('a store whose touch moves only its expiry', () => {
  test('a session kept alive by touches outlives its stored cookie expiry', async () => {
    const store = new ExpiryColumnStore(false);
    const c = await start(store);
    expect((await c.get('/inc')).body).toBe('1');
    // What an incumbent's touches leave behind: the stored cookie long expired, the expiry column ahead.
    const row = store.only();
    const rec = JSON.parse(row.json) as SessionRecord;
    rec.cookie.expires = new Date(Date.now() - 3_600_000).toISOString();
    row.json = JSON.stringify(rec);
    row.expires = Date.now() + 30_000;
    expect((await c.get('/peek')).body).toBe('1');
    expect((await c.get('/inc')).body).toBe('2');
  });

  test('an unchanged request touches only the expiry; the data and cookie stay as stored', async () => {
    const store = new ExpiryColumnStore(false);
    const c = await start(store);
    await c.get('/inc');
    const before = store.only().json;
    const expiresBefore = store.only().expires;
    await new Promise((r) => setTimeout(r, 20));
    store.calls.length = 0;
    expect((await c.get('/peek')).body).toBe('1');
    expect(store.calls).toEqual(['get', 'touch']);
    expect(store.only().json).toBe(before);
    expect(store.only().expires).toBeGreaterThan(expiresBefore);
  });

  test('touchAfter throttles on the expiry the store reports, not on the stale stored cookie', async () => {
    const store = new ExpiryColumnStore(false);
    const c = await start(store, { touchAfter: 10_000 });
    await c.get('/inc');
    const row = store.only();
    const rec = JSON.parse(row.json) as SessionRecord;
    rec.cookie.expires = new Date(Date.now() + 5_000).toISOString();
    row.json = JSON.stringify(rec);
    row.expires = Date.now() + 60_000; // touched a moment ago by an expiry-only touch
    store.calls.length = 0;
    expect((await c.get('/peek')).body).toBe('1');
    expect(store.calls).toEqual(['get']);
  });

  test('a cookie change without a data change writes the whole record, so it is kept', async () => {
    const store = new ExpiryColumnStore(false);
    const c = await start(store);
    await c.get('/inc');
    store.calls.length = 0;
    await c.get('/remember');
    expect(store.calls).toEqual(['get', 'set']);
    expect(originalMaxAge(store)).toBeCloseTo(3_600_000, -2); // the clock moves on while the session is written (more on a loaded machine)
    // Later requests keep the longer lifetime and go back to touching.
    store.calls.length = 0;
    const res = await c.get('/peek');
    expect(res.body).toBe('1');
    expect(store.calls).toEqual(['get', 'touch']);
    expect(store.only().expires).toBeGreaterThan(Date.now() + 3_500_000);
  });

  test('with an atomic patch, a cookie change patches the cookie alone, and never brings back a session destroyed meanwhile', async () => {
    const store = new PatchingStore();
    const c = await start(store);
    await c.get('/inc');
    store.calls.length = 0;
    await c.get('/remember');
    expect(store.calls).toEqual(['get', 'patch']);
    const stored = JSON.parse(store.only().json) as SessionRecord;
    expect(stored.n).toBe(1);
    expect(originalMaxAge(store)).toBeCloseTo(3_600_000, -2);
    store.calls.length = 0;
    await c.get('/remember-while-destroyed');
    expect(store.calls).toEqual(['get', 'patch']);
    expect(store.rows.size).toBe(0);
  });

  test('a clock tick while maxAge is reset (originalMaxAge off by a millisecond) is not a cookie change', async () => {
    const store = new ExpiryColumnStore(false);
    const c = await start(store);
    await c.get('/inc');
    store.calls.length = 0;
    // Every clock read a millisecond later: Cookie's maxAge setter reads the clock twice, as express-session's does.
    const realNow = Date.now;
    let t = realNow();
    Date.now = () => (t += 1);
    try {
      expect((await c.get('/peek')).body).toBe('1');
    } finally {
      Date.now = realNow;
    }
    expect(store.calls).toEqual(['get', 'touch']);
  });

  test('a store that stores the cookie on touch keeps express-session\'s decision: a touch', async () => {
    const store = new ExpiryColumnStore(true);
    const c = await start(store);
    await c.get('/inc');
    store.calls.length = 0;
    await c.get('/remember');
    expect(store.calls).toEqual(['get', 'touch']);
    expect(originalMaxAge(store)).toBeCloseTo(3_600_000, -2); // the clock moves on while the session is written (more on a loaded machine)
  });
});

describe('the touch floor of a store that keeps whole seconds', () => {
  const coarse = (touchCookie: boolean) => {
    const store = new ExpiryColumnStore(touchCookie);
    (store as { capabilities: StoreCapabilities }).capabilities = { ...store.capabilities, expiryResolution: 1000 };
    return store;
  };

  // The clock is the test's: requests take what they take, and a second passes only when the test says so.
  const realNow = Date.now;
  let offset = 0;
  let frozen = 0;
  beforeEach(() => {
    offset = 0;
    frozen = realNow();
    Date.now = () => frozen + offset;
  });
  afterEach(() => {
    Date.now = realNow;
  });

  const expiresSent = (r: { setCookie: string[] }) => new Date(/Expires=([^;]+)/.exec(r.setCookie[0]!)![1]!).getTime();
  const storedCookie = (store: ExpiryColumnStore) => (JSON.parse(store.only().json) as SessionRecord).cookie as unknown as Record<string, unknown>;

  test.each([
    ['touches only the expiry', false],
    ['stores the cookie on touch', true],
  ])('a store that %s is not sent a touch that would move the expiry by less than the resolution; a later one is', async (_, touchCookie) => {
    const store = coarse(touchCookie);
    const c = await start(store, { rolling: true });
    await c.get('/inc');
    const stored = store.only().expires;
    offset = 400;
    for (let i = 0; i < 3; i++) {
      const r = await c.get('/peek');
      expect(r.body).toBe('1');
      // the cookie sent back says what the store holds, so the two agree
      expect(expiresSent(r)).toBe(Math.floor(stored / 1000) * 1000);
    }
    expect(store.calls).toEqual(['set', 'get', 'get', 'get']);
    offset = 1100;
    const r = await c.get('/peek');
    expect(store.calls.slice(-2)).toEqual(['get', 'touch']);
    expect(store.only().expires).toBe(stored + 1100);
    expect(expiresSent(r)).toBe(Math.floor((stored + 1100) / 1000) * 1000);
    if (touchCookie) expect(Date.parse(storedCookie(store).expires as string)).toBe(stored + 1100);
  });

  test('a cookie attribute changed within the resolution is still stored, by the touch that stores the cookie', async () => {
    const store = coarse(true);
    const c = await start(store);
    await c.get('/inc');
    offset = 100;
    await c.get('/strict');
    expect(store.calls).toEqual(['set', 'get', 'touch']);
    expect(storedCookie(store).sameSite).toBe('strict');
    // and then unchanged requests within the resolution are spared again
    await c.get('/peek');
    expect(store.calls).toEqual(['set', 'get', 'touch', 'get']);
  });

  test('touchAfter does not lose a cookie attribute change either', async () => {
    const store = new ExpiryColumnStore(true);
    const c = await start(store, { touchAfter: 60_000 });
    await c.get('/inc');
    offset = 100;
    await c.get('/peek');
    expect(store.calls).toEqual(['set', 'get']);
    await c.get('/strict');
    expect(store.calls).toEqual(['set', 'get', 'get', 'touch']);
    expect(storedCookie(store).sameSite).toBe('strict');
  });

  test('an express-session store is touched on every request, as express-session does', async () => {
    const data = new Map<string, string>();
    const calls: string[] = [];
    const es = {
      get: (sid: string, cb: (e: unknown, s?: unknown) => void) => {
        calls.push('get');
        const v = data.get(sid);
        cb(null, v === undefined ? null : JSON.parse(v));
      },
      set: (sid: string, s: unknown, cb: (e?: unknown) => void) => {
        calls.push('set');
        data.set(sid, JSON.stringify(s));
        cb();
      },
      destroy: (sid: string, cb: (e?: unknown) => void) => {
        data.delete(sid);
        cb();
      },
      touch: (_sid: string, _s: unknown, cb: (e?: unknown) => void) => {
        calls.push('touch');
        cb();
      },
    };
    const store = fromCallbackStore(es as never);
    expect(store.capabilities.expiryResolution).toBe(1000);
    const c = await start(store);
    await c.get('/inc');
    offset = 10;
    await c.get('/peek');
    await c.get('/peek');
    expect(calls).toEqual(['set', 'get', 'touch', 'get', 'touch']);
  });
});

// express-session's default cookie has no maxAge: the stored JSON says nothing of when such a session expires
// (its `expires` is null), only the store's TTL or expiry column does. Stores report that beside the record
// (STORE_EXPIRES, set by withStoreExpiry), so touchAfter and the touch floor apply to these sessions too.
describe('a browser-session cookie (no maxAge)', () => {
  const day = 86_400_000;
  const browser = { cookie: { path: '/', httpOnly: true } } as Partial<SessionOptions>;

  test('withStoreExpiry reports the store expiry beside the record, not in it', () => {
    const r = withStoreExpiry({ cookie: { originalMaxAge: null, expires: null, path: '/' }, v: 1 } as unknown as SessionRecord, 12345);
    expect(storeExpiresOf(r)).toBe(12345);
    expect(r[STORE_EXPIRES as unknown as string]).toBe(12345);
    expect(r.cookie.expires).toBeNull();
    expect(JSON.stringify(r)).toBe('{"cookie":{"originalMaxAge":null,"expires":null,"path":"/"},"v":1}');
    expect(Object.keys(r)).toEqual(['cookie', 'v']);
  });

  test('touchAfter: unchanged reads within the interval do not touch; one after it does', async () => {
    const store = new ExpiryColumnStore(true);
    const c = await start(store, { ...browser, touchAfter: 60_000 });
    await c.get('/inc');
    expect(store.only().expires).toBeGreaterThan(Date.now() + day - 5_000);
    store.calls.length = 0;
    for (let i = 0; i < 20; i++) expect((await c.get('/peek')).body).toBe('1');
    expect(store.calls).toEqual(Array(20).fill('get'));
    store.only().expires = Date.now() + day - 61_000; // last touched 61 s ago
    store.calls.length = 0;
    await c.get('/peek');
    expect(store.calls).toEqual(['get', 'touch']);
    expect(store.only().expires).toBeGreaterThan(Date.now() + day - 5_000);
  });

  test('the touch floor: a store keeping whole seconds is not touched to move its expiry by less than a second', async () => {
    const store = new ExpiryColumnStore(false);
    (store as { capabilities: StoreCapabilities }).capabilities = { ...store.capabilities, expiryResolution: 1000 };
    const c = await start(store, browser);
    await c.get('/inc');
    store.calls.length = 0;
    await c.get('/peek');
    await c.get('/peek');
    expect(store.calls).toEqual(['get', 'get']);
    store.only().expires -= 2_000;
    store.calls.length = 0;
    await c.get('/peek');
    expect(store.calls).toEqual(['get', 'touch']);
  });

  test('a cookie attribute change is stored at once all the same', async () => {
    const store = new ExpiryColumnStore(true);
    const c = await start(store, { ...browser, touchAfter: 60_000 });
    await c.get('/inc');
    store.calls.length = 0;
    await c.get('/strict');
    expect(store.calls).toEqual(['get', 'touch']);
    expect((JSON.parse(store.only().json) as SessionRecord).cookie.sameSite).toBe('strict');
  });

  test('a store that reports no expiry is touched on every request, as before', async () => {
    const store = new ExpiryColumnStore(true);
    const get = store.get.bind(store);
    store.get = async (sid: string) => {
      const r = await get(sid);
      return r && (JSON.parse(JSON.stringify(r)) as SessionRecord); // drops the symbol
    };
    const c = await start(store, { ...browser, touchAfter: 60_000 });
    await c.get('/inc');
    store.calls.length = 0;
    await c.get('/peek');
    await c.get('/peek');
    expect(store.calls).toEqual(['get', 'touch', 'get', 'touch']);
  });

  test('MemoryStore reports its expiry, so touchAfter holds there too', async () => {
    const store = new MemoryStore();
    const touches: string[] = [];
    const touch = store.touch.bind(store);
    store.touch = (async (sid: string, record: SessionRecord, ctx: WriteContext) => {
      touches.push('touch');
      return touch(sid, record, ctx);
    }) as typeof store.touch;
    const c = await start(store, { ...browser, touchAfter: 60_000 });
    await c.get('/inc');
    for (let i = 0; i < 5; i++) await c.get('/peek');
    expect(touches).toEqual([]);
    const [sid] = await store.ids();
    const rec = await store.get(sid!);
    expect(storeExpiresOf(rec!)).toBeGreaterThan(Date.now() + day - 5_000);
  });
});
