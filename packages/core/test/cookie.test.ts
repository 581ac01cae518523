import { describe, expect, test } from '@jest/globals';
import express from 'express';
import expressSession from 'express-session';
import { sign } from 'cookie-signature';
import session, { Store, type CookieOptions } from '@sess/core';
import { attributes, client, cookieFrom, listen, makeSpyStore } from './helpers';

const SID = 'abcdefghijklmnopqrstuvwxyz012345';

async function firstCookie(which: 'es' | 'sess', cookie: CookieOptions, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const { store, log } = makeSpyStore((which === 'es' ? expressSession.Store : Store) as never);
  const opts = { secret: 'keyboard cat', resave: false, saveUninitialized: false, genid: () => SID, store, cookie, ...extra };
  const app = express();
  app.use(which === 'es' ? expressSession(opts as never) : session(opts as never));
  app.get('/', (req, res) => {
    (req.session as unknown as Record<string, unknown>).user = { id: 7, name: 'ünï 🍪' };
    (req.session as unknown as Record<string, unknown>).cart = ['a', 'b'];
    res.send('ok');
  });
  const srv = await listen(app);
  try {
    const r = await fetch(srv.url + '/', { headers });
    return { setCookie: r.headers.getSetCookie(), stored: log.data.get(SID) };
  } finally {
    await srv.close();
  }
}

/** Replace Expires dates (which depend on the ms the request ran) by a token if they are within 2 s. */
function normaliseExpires(a: string[], b: string[]): [string[], string[]] {
  const re = /Expires=([^;]+)/;
  const fix = (x: string, y: string) => {
    const mx = re.exec(x);
    const my = re.exec(y);
    if (mx && my && Math.abs(Date.parse(mx[1]!) - Date.parse(my[1]!)) <= 2000) return [x.replace(re, 'Expires=X'), y.replace(re, 'Expires=X')];
    return [x, y];
  };
  const outA: string[] = [];
  const outB: string[] = [];
  a.forEach((x, i) => {
    const [p, q] = fix(x, b[i] ?? '');
    outA.push(p!);
    outB.push(q!);
  });
  return [outA, outB];
}

function normaliseStored(json: string | undefined) {
  if (!json) return json;
  const o = JSON.parse(json);
  // The nearest second: express-session's Cookie may lose a millisecond (4999 for maxAge 5000), and a
  // coarser bucket would put 4999 and 5000 on either side of a rounding edge.
  if (typeof o.cookie?.originalMaxAge === 'number') o.cookie.originalMaxAge = Math.round(o.cookie.originalMaxAge / 1000);
  if (o.cookie?.expires) {
    const t = Date.parse(o.cookie.expires);
    o.cookie.expires = Number.isNaN(t) ? 'invalid' : 'ISO';
  }
  return JSON.stringify(o);
}

const cases: Array<[string, CookieOptions, Record<string, string>?, Record<string, unknown>?]> = [
  ['defaults', {}],
  ['maxAge', { maxAge: 3_600_000 }],
  ['httpOnly false, path, domain', { httpOnly: false, path: '/', domain: 'example.com' }],
  ['sameSite lax', { sameSite: 'lax', maxAge: 1000 }],
  ['sameSite strict', { sameSite: 'strict' }],
  ['sameSite true', { sameSite: true }],
  ['secure via proxy', { secure: true, sameSite: 'none' }, { 'x-forwarded-proto': 'https' }, { proxy: true }],
  ['secure auto (https)', { secure: 'auto' }, { 'x-forwarded-proto': 'https' }, { proxy: true }],
  ['secure auto (http)', { secure: 'auto' }, {}, { proxy: true }],
  ['sameSite auto (https)', { sameSite: 'auto', secure: 'auto' }, { 'x-forwarded-proto': 'https' }, { proxy: true }],
  ['sameSite auto (http)', { sameSite: 'auto', secure: 'auto' }, {}, { proxy: true }],
  ['partitioned and priority', { partitioned: true, secure: true, priority: 'high' }, { 'x-forwarded-proto': 'https' }, { proxy: true }],
  ['priority low', { priority: 'low', maxAge: 5000 }],
  ['expires date', { expires: new Date(Date.now() + 86_400_000) }],
];

describe('cookie bytes and stored JSON are express-session\'s', () => {
  test.each(cases)('%s', async (_n, cookie, headers = {}, extra = {}) => {
    const es = await firstCookie('es', cookie, extra, headers);
    const ss = await firstCookie('sess', cookie, extra, headers);
    const [a, b] = normaliseExpires(ss.setCookie, es.setCookie);
    expect(a).toEqual(b);
    expect(normaliseStored(ss.stored)).toEqual(normaliseStored(es.stored));
    expect(ss.setCookie.length).toBeGreaterThan(0);
  });

  test('a secure cookie on an insecure connection is not sent (but the session is saved)', async () => {
    const es = await firstCookie('es', { secure: true });
    const ss = await firstCookie('sess', { secure: true });
    expect(ss.setCookie).toEqual([]);
    expect(es.setCookie).toEqual([]);
    expect(ss.stored).toBeDefined();
  });

  test('the cookie value is s:<sid>.<HMAC-SHA256>, URL-encoded', async () => {
    const ss = await firstCookie('sess', {});
    expect(cookieFrom(ss.setCookie, 'connect.sid')).toBe('connect.sid=' + encodeURIComponent('s:' + sign(SID, 'keyboard cat')));
  });
});

describe('verification', () => {
  async function app(secret: string | string[] | Buffer, store?: object) {
    const spy = store ? { store, log: undefined } : makeSpyStore(Store as never);
    const a = express();
    a.use(session({ secret, resave: false, saveUninitialized: false, store: spy.store as never }));
    a.get('/login', (req, res) => {
      (req.session as unknown as Record<string, unknown>).user = 'ann';
      res.send('in');
    });
    a.get('/me', (req, res) => res.send(String((req.session as unknown as Record<string, unknown>).user ?? 'anon')));
    return { srv: await listen(a), spy };
  }

  test('secret rotation: an old secret verifies and the cookie is re-signed with the new one', async () => {
    const { store, log } = makeSpyStore(Store as never);
    const old = await app('old secret', store);
    const c = client(old.srv.url);
    await c.get('/login');
    const oldCookie = c.jar!;
    await old.srv.close();

    const rotated = await app(['new secret', 'old secret'], store);
    const c2 = client(rotated.srv.url);
    c2.jar = oldCookie;
    const r = await c2.get('/me');
    expect(r.body).toBe('ann');
    const fresh = cookieFrom(r.setCookie, 'connect.sid');
    expect(fresh).toBeDefined();
    const sid = decodeURIComponent(oldCookie.split('=')[1]!).slice(2).split('.')[0]!;
    expect(fresh).toBe('connect.sid=' + encodeURIComponent('s:' + sign(sid, 'new secret')));
    // and the next request with the re-signed cookie sends nothing new
    const r2 = await c2.get('/me');
    expect(r2.body).toBe('ann');
    expect(cookieFrom(r2.setCookie, 'connect.sid')).toBeUndefined();
    expect(log.set).toBe(1);
    await rotated.srv.close();
  });

  test('Buffer secrets sign like strings', async () => {
    const { srv } = await app(Buffer.from('keyboard cat'));
    const c = client(srv.url);
    const r = await c.get('/login');
    const sid = decodeURIComponent(c.jar!.split('=')[1]!).slice(2).split('.')[0]!;
    expect(cookieFrom(r.setCookie, 'connect.sid')).toBe('connect.sid=' + encodeURIComponent('s:' + sign(sid, 'keyboard cat')));
    await srv.close();
  });

  test('a forged signature, an unsigned cookie and a bad-grammar id never reach the store', async () => {
    const { srv, spy } = await app('keyboard cat');
    const log = spy.log!;
    const forged = 'connect.sid=' + encodeURIComponent('s:' + SID + '.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    const unsigned = 'connect.sid=' + SID;
    const badIds = ['../../etc/passwd', 'a b', 'x'.repeat(300), 'a.b', 'a\u0000b', '{"$ne":null}', ''];
    for (const cookie of [forged, unsigned, ...badIds.map((id) => 'connect.sid=' + encodeURIComponent('s:' + sign(id, 'keyboard cat')))]) {
      const r = await fetch(srv.url + '/me', { headers: { cookie } });
      expect(await r.text()).toBe('anon');
    }
    expect(log.get).toBe(0);
    await srv.close();
  });

  test('an unknown id is never adopted: a new id is issued', async () => {
    const { srv, spy } = await app('keyboard cat');
    const c = client(srv.url);
    c.jar = 'connect.sid=' + encodeURIComponent('s:' + sign(SID, 'keyboard cat'));
    const r = await c.get('/login');
    expect(spy.log!.getIds).toEqual([SID]);
    expect(c.jar).not.toContain(SID);
    expect([...spy.log!.data.keys()]).not.toContain(SID);
    expect(r.body).toBe('in');
    await srv.close();
  });
});

describe('cookie attributes', () => {
  test('cookie as a function of the request', async () => {
    const a = express();
    a.use(
      session({
        secret: 's',
        resave: false,
        saveUninitialized: true,
        cookie: (req) => ({ maxAge: req.path === '/long' ? 10_000_000 : 1000, sameSite: 'strict' }),
      }),
    );
    a.get('/:p', (_req, res) => res.send('ok'));
    const srv = await listen(a);
    const long = await fetch(srv.url + '/long');
    const short = await fetch(srv.url + '/short');
    const exp = (r: Response) => Date.parse(attributes(r.headers.getSetCookie()[0]!).expires as string) - Date.now();
    expect(exp(long)).toBeGreaterThan(9_000_000);
    expect(exp(short)).toBeLessThan(5000);
    expect(attributes(short.headers.getSetCookie()[0]!).samesite).toBe('Strict');
    await srv.close();
  });

  test('requests outside cookie.path pass through untouched', async () => {
    const { store, log } = makeSpyStore(Store as never);
    const a = express();
    a.use(session({ secret: 's', resave: true, saveUninitialized: true, store: store as never, cookie: { path: '/app' } }));
    a.get('/other', (req, res) => res.send(String(req.session === undefined)));
    a.get('/app/x', (req, res) => res.send(String(req.session === undefined)));
    const srv = await listen(a);
    const out = await fetch(srv.url + '/other');
    expect(await out.text()).toBe('true');
    expect(out.headers.getSetCookie()).toEqual([]);
    expect(log.set).toBe(0);
    const inside = await fetch(srv.url + '/app/x');
    expect(await inside.text()).toBe('false');
    expect(attributes(inside.headers.getSetCookie()[0]!).path).toBe('/app');
    await srv.close();
  });

  test('custom cookie name and genid', async () => {
    const a = express();
    a.use(session({ secret: 's', name: 'sid', genid: () => 'fixed-id_1', resave: false, saveUninitialized: true }));
    a.get('/', (req, res) => res.send(req.sessionID));
    const srv = await listen(a);
    const r = await fetch(srv.url + '/');
    expect(await r.text()).toBe('fixed-id_1');
    expect(cookieFrom(r.headers.getSetCookie(), 'sid')).toBe('sid=' + encodeURIComponent('s:' + sign('fixed-id_1', 's')));
    await srv.close();
  });
});
