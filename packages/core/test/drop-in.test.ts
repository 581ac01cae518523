/**
 * The ways foreign code reaches core, as it reaches express-session: stores subclassing `session.Store` (and
 * `MemoryStore`, `Cookie`) the ES5 way, cookie-parser's parsed cookies, a genid outside the id grammar,
 * misspelled options, and a save after the response ended.
 */
import { afterEach, describe, expect, jest, test } from '@jest/globals';
import util from 'node:util';
import express from 'express';
import cookieParser from 'cookie-parser';
import session, { Cookie, MemoryStore, Store, UNKNOWN_OPTION_WARNING } from '@sess/core';
import { client, listen } from './helpers';

type Cb = (err?: unknown, value?: unknown) => void;
type Rec = Record<string, unknown>;
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

async function serve(a: express.Express) {
  const s = await listen(a);
  closers.push(s.close);
  return s;
}

function counter(store: unknown, extra: Rec = {}) {
  const a = express();
  a.use(session({ secret: 'keyboard cat', resave: false, saveUninitialized: false, store: store as never, ...extra }));
  a.get('/', (req, res) => {
    const s = req.session as unknown as Rec;
    s.n = ((s.n as number) ?? 0) + 1;
    res.send(String(s.n));
  });
  return a;
}

/** An express-session store written the ES5 way, as session-file-store and connect-redis 6 are. */
function es5Store(Base: typeof Store) {
  function MapStore(this: Rec & { map: Map<string, string> }, options?: unknown) {
    Base.call(this, options);
    this.map = new Map();
  }
  util.inherits(MapStore, Base);
  Object.assign(MapStore.prototype, {
    get(this: { map: Map<string, string> }, sid: string, cb: Cb) {
      const v = this.map.get(sid);
      setImmediate(cb, null, v ? JSON.parse(v) : undefined);
    },
    set(this: { map: Map<string, string> }, sid: string, sess: unknown, cb: Cb) {
      this.map.set(sid, JSON.stringify(sess));
      setImmediate(cb);
    },
    destroy(this: { map: Map<string, string> }, sid: string, cb: Cb) {
      this.map.delete(sid);
      setImmediate(cb);
    },
  });
  return MapStore as unknown as new (o?: unknown) => Store & { map: Map<string, string> };
}

async function counts(store: unknown) {
  const c = client((await serve(counter(store))).url);
  expect((await c.get('/')).body).toBe('1');
  expect((await c.get('/')).body).toBe('2');
}

describe('subclassing session.Store the ways stores do', () => {
  test('Store.call(this, options) with util.inherits', async () => {
    const S = es5Store(session.Store);
    const store = new S({});
    expect(store).toBeInstanceOf(session.Store);
    expect(store).toBeInstanceOf(Store);
    expect(typeof store.on).toBe('function'); // an EventEmitter, as express-session's Store
    await counts(store);
    expect(store.map.size).toBe(1);
  });

  test('prototype = Object.create(Store.prototype)', async () => {
    function Legacy(this: Rec) {
      Store.call(this);
      this.data = {};
    }
    Legacy.prototype = Object.create(Store.prototype);
    Legacy.prototype.constructor = Legacy;
    Legacy.prototype.get = function (this: { data: Rec }, sid: string, cb: Cb) {
      cb(null, this.data[sid]);
    };
    Legacy.prototype.set = function (this: { data: Rec }, sid: string, sess: unknown, cb: Cb) {
      this.data[sid] = JSON.parse(JSON.stringify(sess));
      cb();
    };
    Legacy.prototype.destroy = function (this: { data: Rec }, sid: string, cb: Cb) {
      delete this.data[sid];
      cb();
    };
    const store = new (Legacy as unknown as new () => Store)();
    expect(store).toBeInstanceOf(session.Store);
    await counts(store);
  });

  test('class extends session.Store, and a require("x")(session) factory', async () => {
    const factory = (s: typeof session) =>
      class ClassStore extends s.Store {
        data = new Map<string, unknown>();
        get(sid: string, cb: Cb) {
          cb(null, this.data.get(sid));
        }
        set(sid: string, sess: unknown, cb: Cb) {
          this.data.set(sid, JSON.parse(JSON.stringify(sess)));
          cb();
        }
        destroy(sid: string, cb: Cb) {
          this.data.delete(sid);
          cb();
        }
      };
    const ClassStore = factory(session);
    await counts(new ClassStore());
  });

  test('MemoryStore.call(this) with util.inherits, and class extends MemoryStore', async () => {
    function Mine(this: Rec, options?: unknown) {
      session.MemoryStore.call(this, options);
      this.mine = true;
    }
    util.inherits(Mine, session.MemoryStore);
    const store = new (Mine as unknown as new (o?: unknown) => MemoryStore)({ max: 10 });
    expect(store).toBeInstanceOf(MemoryStore);
    await counts(store);
    expect(await store.length()).toBe(1);

    class Sub extends MemoryStore {}
    const sub = new Sub();
    await counts(sub);
    expect(await sub.length()).toBe(1);
  });

  test('Cookie and MemoryStore called without new, as express-session allows', () => {
    const c = (Cookie as unknown as (o: unknown) => Cookie)({ maxAge: 1000 });
    expect(c).toBeInstanceOf(Cookie);
    expect(c.originalMaxAge).toBeGreaterThanOrEqual(995); // derived from the clock, as express-session's
    expect((MemoryStore as unknown as () => MemoryStore)()).toBeInstanceOf(MemoryStore);
    expect(session.Store.name).toBe('Store');
    expect(session.MemoryStore.name).toBe('MemoryStore');
  });
});

describe('cookie-parser', () => {
  const secret = 'keyboard cat';
  for (const from of ['signedCookies', 'cookies'] as const) {
    test(`the session cookie is read from req.${from} when the Cookie header lacks it`, async () => {
      const store = new MemoryStore();
      const a = express();
      a.use(from === 'signedCookies' ? cookieParser(secret) : cookieParser());
      a.use((req, _res, next) => {
        if (req.get('x-strip')) delete req.headers.cookie;
        next();
      });
      a.use(counter(store));
      const c = client((await serve(a)).url);
      expect((await c.get('/')).body).toBe('1');
      expect((await c.get('/', { 'x-strip': '1' })).body).toBe('2');
      expect(await store.length()).toBe(1);
    });
  }

  test('a cookie that cookie-parser could not verify is not taken', async () => {
    const a = express();
    a.use(cookieParser('another secret'));
    a.use((req, _res, next) => {
      delete req.headers.cookie;
      next();
    });
    a.use(counter(new MemoryStore()));
    const c = client((await serve(a)).url);
    expect((await c.get('/')).body).toBe('1');
    expect((await c.get('/')).body).toBe('1');
  });
});

describe('genid outside the id grammar', () => {
  test('fails loudly on first use with the grammar, never a missing cookie', async () => {
    const a = express();
    a.use(session({ secret: 's', resave: false, saveUninitialized: true, genid: (req) => req.url }));
    a.get('/page', (_req, res) => res.send('ok'));
    const errors: Error[] = [];
    a.use(((err, _req, res, _next) => {
      errors.push(err);
      res.status(500).send(err.message);
    }) as express.ErrorRequestHandler);
    const c = client((await serve(a)).url);
    const r = await c.get('/page');
    expect(r.status).toBe(500);
    expect(r.setCookie).toEqual([]);
    expect(errors[0]).toMatchObject({ code: 'SESS_BAD_ID' });
    expect(errors[0]!.message).toMatch(/idPattern \/\^\[A-Za-z0-9_-\]\{1,255\}\$\//);
    expect(errors[0]!.message).not.toContain('/page');
  });
});

describe('misspelled options', () => {
  test('session() warns once per name, naming the closest option, with a stable code', () => {
    const spy = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const opts = { secret: 's', resave: false, saveUninitialized: false, resav: false, cookie: { maxage: 1000 } } as never;
      session(opts);
      session(opts);
      const ours = spy.mock.calls.filter((c) => (c[1] as { code?: string } | undefined)?.code === UNKNOWN_OPTION_WARNING).map((c) => String(c[0]));
      expect(ours.sort()).toEqual([
        'session() cookie has no option "maxage": did you mean "maxAge"?',
        'session() has no option "resav": did you mean "resave"?',
      ]);
    } finally {
      spy.mockRestore();
    }
  });

  test('a store constructor refuses an unknown option with the closest one', () => {
    expect(() => new MemoryStore({ maxx: 10 } as never)).toThrow(/MemoryStore has no option "maxx": did you mean "max"\?/);
  });
});

describe('a save after the response ended', () => {
  test('writes the session as it is then (a socket.io handler saving the handshake session)', async () => {
    const store = new MemoryStore();
    const a = express();
    let later: express.Request | undefined;
    a.use(session({ secret: 's', resave: false, saveUninitialized: false, store }));
    a.get('/login', (req, res) => {
      (req.session as unknown as Rec).user = 'ann';
      later = req;
      res.send('in');
    });
    const c = client((await serve(a)).url);
    await c.get('/login');
    const req = later!;
    await new Promise((r) => setTimeout(r, 20));
    (req.session as unknown as Rec).count = 1;
    await new Promise<void>((resolve, reject) => req.session.save((err?: unknown) => (err ? reject(err) : resolve())));
    expect(Object.values(await store.all())[0]).toMatchObject({ user: 'ann', count: 1 });
  });
});
