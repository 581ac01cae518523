/**
 * The deliberate differences from express-session that docs/migration.md lists, each pinned side by side:
 * the same app and requests through express-session 1.19 and through @sess/core, asserting what each does.
 * If express-session changes (or sess drifts), a test here fails and the table must change with it.
 */
import { afterEach, describe, expect, jest, test } from '@jest/globals';
import http from 'node:http';
import { sign } from 'cookie-signature';
import expressSession from 'express-session';
import session, { MemoryStore, Session, Store } from '@sess/core';
import { cookieFrom, listen, makeSpyStore } from './helpers';

type Mw = (req: http.IncomingMessage, res: http.ServerResponse, next: (err?: unknown) => void) => void;
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

/** express-session's own test harness shape: errors before headers answer `status` + message, later ones are recorded. */
async function serve(mw: Mw, respond: (req: http.IncomingMessage & Record<string, any>, res: http.ServerResponse) => void = (_q, r) => r.end()) {
  const late: unknown[] = [];
  const server = http.createServer((req, res) =>
    mw(req, res, (err?: unknown) => {
      const e = err as { status?: number; message?: string } | undefined;
      if (e && !res.headersSent) {
        res.statusCode = e.status ?? 500;
        res.end(e.message);
        return;
      }
      if (e) {
        late.push(e);
        return;
      }
      respond(req as never, res);
    }),
  );
  const s = await listen(server.listeners('request')[0] as http.RequestListener);
  closers.push(s.close);
  return { url: s.url, late };
}

const mws = {
  'express-session': (o: Record<string, unknown>) => expressSession(o as never) as unknown as Mw,
  sess: (o: Record<string, unknown>) => session(o as never) as unknown as Mw,
};
const BaseStore = { 'express-session': expressSession.Store, sess: Store } as const;
const base = { secret: 'keyboard cat', resave: false, saveUninitialized: true };
const signed = (id: string, secret = 'keyboard cat') => 'connect.sid=' + encodeURIComponent('s:' + sign(id, secret));

async function get(url: string, cookie?: string) {
  const res = await fetch(url, { headers: cookie ? { cookie } : {} });
  return { status: res.status, body: await res.text(), cookie: cookieFrom(res.headers.getSetCookie(), 'connect.sid') };
}

describe('deliberate differences from express-session, pinned side by side', () => {
  test('no secret: express-session fails each request; sess refuses to start', async () => {
    const es = await serve(mws['express-session']({ resave: false, saveUninitialized: true }));
    const r = await get(es.url);
    expect(r.status).toBe(500);
    expect(r.body).toMatch(/secret.*required/);
    expect(() => mws.sess({ resave: false, saveUninitialized: true })).toThrow(/secret is required/);
  });

  test('an invalid cookie option: express-session fails each request; sess refuses to start', async () => {
    const opts = { ...base, cookie: { expires: new Date(NaN) } };
    const es = await serve(mws['express-session'](opts));
    await get(es.url);
    await new Promise((r) => setTimeout(r, 20));
    expect(String((es.late[0] as Error | undefined)?.message)).toMatch(/option expires is invalid/);
    expect(() => mws.sess(opts)).toThrow(/cookie.expires must be a valid Date/);
  });

  test('cookie.maxAge given as a Date: accepted (deprecated) by express-session; refused by sess', () => {
    const opts = { ...base, cookie: { maxAge: new Date(Date.now() + 60_000) } };
    expect(() => mws['express-session'](opts)).not.toThrow();
    expect(() => mws.sess(opts)).toThrow(/cookie.maxAge must be a finite number/);
  });

  test('a cookie signed with an older secret: express-session keeps it; sess re-signs it with the current one', async () => {
    for (const which of ['express-session', 'sess'] as const) {
      const { store } = makeSpyStore(BaseStore[which] as never);
      const opts = { secret: ['new secret', 'old secret'], resave: false, saveUninitialized: false, store };
      const old = await serve(mws[which]({ ...opts, secret: 'old secret' }), (req, res) => {
        req.session.user = 'ann';
        res.end();
      });
      const first = (await get(old.url)).cookie!;
      const both = await serve(mws[which](opts), (req, res) => res.end(String(req.session.user)));
      const r = await get(both.url, first);
      expect(r.body).toBe('ann');
      if (which === 'express-session') expect(r.cookie).toBeUndefined();
      else {
        const raw = decodeURIComponent(first.slice('connect.sid='.length));
        expect(r.cookie).toBe(signed(raw.slice(2, raw.lastIndexOf('.')), 'new secret'));
      }
    }
  });

  test('a signed cookie whose id is outside the id grammar: express-session asks the store; sess never does', async () => {
    for (const which of ['express-session', 'sess'] as const) {
      const { store, log } = makeSpyStore(BaseStore[which] as never);
      const s = await serve(mws[which]({ ...base, store }));
      await get(s.url, signed('../../etc/passwd'));
      expect(log.getIds.includes('../../etc/passwd')).toBe(which === 'express-session');
    }
  });

  test('genid returning an id outside the grammar: express-session URL-encodes it into the cookie; sess fails loudly', async () => {
    const opts = { ...base, genid: (req: http.IncomingMessage) => req.url };
    const es = await get((await serve(mws['express-session'](opts))).url + '/foo');
    expect(es.status).toBe(200);
    expect(es.cookie).toMatch(/^connect\.sid=s%3A%2Ffoo\./);
    const ss = await get((await serve(mws.sess(opts))).url + '/foo');
    expect(ss.status).toBe(500);
    expect(ss.cookie).toBeUndefined();
    expect(ss.body).toMatch(/idPattern/);
  });

  test('a stored record without a cookie object: express-session fails the request; sess starts a new session', async () => {
    for (const which of ['express-session', 'sess'] as const) {
      const { store, log } = makeSpyStore(BaseStore[which] as never);
      log.data.set('brokenRecordId', JSON.stringify({ foo: 'bar' }));
      const s = await serve(mws[which]({ ...base, store }), (req, res) => res.end(String(req.session.foo)));
      const r = await get(s.url, signed('brokenRecordId'));
      if (which === 'express-session') {
        expect(r.status).toBe(500);
        expect(r.body).toMatch(/Cannot read prop/);
      } else {
        expect(r.status).toBe(200);
        expect(r.body).toBe('undefined');
      }
    }
  });

  test("a store's error: express-session passes it as it is; sess passes a typed StoreError (503) with it as the cause", async () => {
    for (const which of ['express-session', 'sess'] as const) {
      const { store } = makeSpyStore(BaseStore[which] as never);
      (store as { get: unknown }).get = (_sid: string, cb: (err: Error) => void) => cb(new Error('boom!'));
      const s = await serve(mws[which]({ ...base, store }));
      const r = await get(s.url, signed('someSessionId'));
      if (which === 'express-session') expect([r.status, r.body]).toEqual([500, 'boom!']);
      else {
        expect(r.status).toBe(503);
        expect(r.body).toMatch(/session store get\(\) failed \(Error\); see cause/);
      }
    }
  });

  test("a store's set, touch and destroy errors: the same (StoreError, 503, the store's error as the cause); unwrapping the cause gives express-session's exact answer", async () => {
    const failing = (which: 'express-session' | 'sess', op: 'set' | 'touch' | 'destroy') => {
      const { store } = makeSpyStore(BaseStore[which] as never);
      (store as Record<string, unknown>)[op] = (...args: unknown[]) => (args[args.length - 1] as (err: Error) => void)(new Error('boom!'));
      return store;
    };
    for (const op of ['set', 'touch', 'destroy'] as const) {
      const seen: Record<string, unknown> = {};
      for (const which of ['express-session', 'sess'] as const) {
        const store = failing(which, op);
        const opts = { ...base, store, cookie: { maxAge: 60_000 }, unset: 'destroy' };
        // The next(err) of each step, as an app's handler sees it; and through the unwrapping handler docs/migration.md shows.
        const errors: Array<{ name?: string; message?: string; status?: number; cause?: { message?: string } }> = [];
        const mw = mws[which](opts);
        const s = await serve(
          (req, res, next) =>
            mw(req, res, (err?: unknown) => {
              if (err) errors.push(err as never);
              next(err);
            }),
          (req, res) => {
            if (req.url === '/start') req.session.n = 1;
            if (req.url === '/unset') req.session = null;
            res.end('ok');
          },
        );
        const { cookie } = await get(s.url + '/start');
        if (op !== 'set') {
          await get(s.url + (op === 'touch' ? '/read' : '/unset'), cookie);
        }
        await new Promise((r) => setTimeout(r, 20));
        const err = errors[0] ?? s.late[0];
        seen[which] = err;
        const unwrapped = (err as { code?: string; cause?: unknown })?.code === 'SESS_STORE' ? (err as { cause: Error }).cause : err;
        expect((unwrapped as Error).message).toBe('boom!');
      }
      expect(seen['express-session']).toMatchObject({ message: 'boom!' });
      expect(seen.sess).toMatchObject({ name: 'StoreError', code: 'SESS_STORE', status: 503, operation: op, message: `session store ${op}() failed (Error); see cause` });
    }
  });

  test("reload() of a session that is gone: express-session says 'failed to load session'; sess adds why, with the code SESS_NO_SESSION", async () => {
    const seen: Record<string, unknown> = {};
    for (const which of ['express-session', 'sess'] as const) {
      const store = which === 'sess' ? new MemoryStore() : new expressSession.MemoryStore();
      const s = await serve(mws[which]({ ...base, store }), (req, res) => {
        if (req.url === '/') {
          req.session.active = true;
          res.end('created');
          return;
        }
        (store as unknown as { clear(cb: () => void): void }).clear(() =>
          req.session.reload((err: { message: string; code?: string } | undefined) => {
            seen[which] = err && { message: err.message, code: err.code };
            res.end('reloaded');
          }),
        );
      });
      const { cookie } = await get(s.url + '/');
      await get(s.url + '/again', cookie);
    }
    expect(seen['express-session']).toEqual({ message: 'failed to load session', code: undefined });
    expect(seen.sess).toEqual({ message: 'failed to load session: it expired or was destroyed', code: 'SESS_NO_SESSION' });
    for (const w of ['express-session', 'sess']) expect((seen[w] as { message: string }).message.startsWith('failed to load session')).toBe(true);
  });

  test('cookie.partitioned without secure: express-session sends it (browsers drop such a cookie); sess refuses to start', async () => {
    const opts = { ...base, cookie: { partitioned: true } };
    const res = await fetch((await serve(mws['express-session'](opts))).url);
    expect(res.headers.getSetCookie()[0]).toMatch(/; Partitioned/);
    expect(res.headers.getSetCookie()[0]).not.toMatch(/; Secure/);
    expect(() => mws.sess(opts)).toThrow(/cookie.partitioned needs a secure cookie/);
  });

  test("a session without a cookie object handed to MemoryStore's set: express-session stores it; sess calls back with BadDataError", async () => {
    const es = new expressSession.MemoryStore();
    const ours = new MemoryStore();
    const setByCallback = (store: unknown) =>
      new Promise<unknown>((resolve) => (store as { set(sid: string, sess: unknown, cb: (err?: unknown) => void): void }).set('someSessionId', { foo: 'bar' }, (err) => resolve(err ?? null)));
    expect(await setByCallback(es)).toBeNull();
    expect(await setByCallback(ours)).toMatchObject({ name: 'BadDataError', code: 'SESS_BAD_DATA' });
    expect(await ours.get('someSessionId')).toBeNull();
  });

  test('a store that never answers: express-session waits forever; sess fails after storeTimeout', async () => {
    for (const which of ['express-session', 'sess'] as const) {
      const { store } = makeSpyStore(BaseStore[which] as never);
      (store as { get: unknown }).get = () => undefined;
      const s = await serve(mws[which]({ ...base, store, storeTimeout: 200 }));
      const r = await Promise.race([get(s.url, signed('someSessionId')), new Promise<'pending'>((res) => setTimeout(() => res('pending'), 1000))]);
      if (which === 'express-session') expect(r).toBe('pending');
      else expect(r).toMatchObject({ status: 503 });
    }
  });

  test('unknown option names: ignored silently by express-session; sess warns once with the closest name', () => {
    const spy = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      mws['express-session']({ ...base, resaev: true });
      expect(spy.mock.calls.some((c) => /resaev/.test(String(c[0])))).toBe(false);
      mws.sess({ ...base, resaev: true });
      expect(spy.mock.calls.some((c) => /"resaev": did you mean "resave"/.test(String(c[0])))).toBe(true);
    } finally {
      spy.mockRestore();
    }
  });

  test('Session: a plain function in express-session (Session.call works); a class in sess (construct it with new)', () => {
    const req = { sessionID: 'abc' };
    const target: Record<string, unknown> = {};
    expect(() => (expressSession.Session as unknown as (this: unknown, r: unknown, d: unknown) => void).call(target, req, { a: 1 })).not.toThrow();
    expect(target.a).toBe(1);
    expect(() => (Session as unknown as (this: unknown, r: unknown, d: unknown) => void).call({}, req, { a: 1 })).toThrow(TypeError);
    expect(new Session(req as never, { a: 1 } as never)).toMatchObject({ a: 1 });
  });

  test("MemoryStore's internals: express-session keeps JSON strings in store.sessions; sess keeps them private (use all()/ids())", async () => {
    const es = new expressSession.MemoryStore() as unknown as { sessions: Record<string, string>; set(s: string, v: unknown, cb: () => void): void };
    await new Promise<void>((r) => es.set('abc', { cookie: { originalMaxAge: null } }, () => r()));
    expect(typeof es.sessions.abc).toBe('string');
    const ours = new MemoryStore();
    await ours.set('abc', { cookie: { originalMaxAge: null } } as never, { expires: new Date(Date.now() + 60_000) });
    expect((ours as unknown as { sessions: unknown }).sessions).toBeInstanceOf(Map);
    expect(await ours.ids()).toEqual(['abc']);
  });
});
