/**
 * The behaviour suite for bindings of the session engine (Express's `session()`, `@sess/fastify`, `@sess/koa`,
 * `@sess/hono`, or a third party's: a Nest adapter, another framework), as the store cases are for stores. Each
 * case starts the binding's app with some `session()` options, drives it over HTTP, and compares what a client
 * and the store see with what the engine decides when it is driven in memory with no framework at all (the
 * reference), or with a fixed expectation. A binding passes when its framework changes nothing of the engine's
 * behaviour: the decision table (`resave`, `saveUninitialized`, `rolling`, `unset`), `touchAfter`, `rotateEvery`,
 * `absoluteTimeout`, the write landing before the response, `concurrency: 'merge'`, the store failure policy,
 * and hostile cookies.
 *
 * The app a factory starts serves these routes (the session being the framework's: `req.session`,
 * `request.session`, `ctx.session`, `c.get('session')`):
 * - `GET /me`: the session's data as JSON (its own keys but `cookie`; `{}` without a session);
 * - `GET /noop`: `ok`, without touching the session;
 * - `POST /set?k=v&…`: assigns each query parameter to the session (string values), answers `set`;
 * - `POST /incr`: `n = (Number(n) || 0) + 1` on the session (a read-modify-write), answers the new `n`;
 * - `POST /login`: `await session.regenerate()`, then `user = 'ann'`, answers `in`;
 * - `POST /rotate`, `POST /logout` (`destroy()`): answer `rotated`, `out`;
 * - `POST /unset` (only with the `unset` capability): unsets the session (`req.session = null`), answers `unset`;
 * - `POST /flash?m=…`: queues `m` as an `info` flash message (`flashFor(() => session)('info', m)`), answers
 *   `queued`; `GET /flash`: the `info` messages, read once, as JSON;
 * - `GET /csrf`: a CSRF token (`csrfTokenFor(session)`); `POST /csrf`: `ok` when the `x-csrf-token` header is one
 *   of the session's tokens (`csrfValid`), else a 403 `SESS_CSRF` error;
 * - errors answer their `status` (503 for a store failure) with `{ "code": err.code }`.
 */
import assert from 'node:assert/strict';
import { MemoryStore, SessError, createSessionEngine } from '@sess/core';
import type { Session, SessionCarrier, SessionOptions, SessionStore } from '@sess/core';

/** A binding's app, running. */
export interface BindingApp {
  /** Its base URL (`http://127.0.0.1:port`). */
  url: string;
  close(): Promise<void>;
}

/** Starts the binding's app (see the routes above) with these `session()` options. */
export type BindingFactory = (options: SessionOptions) => Promise<BindingApp>;

/** What a binding declares it can do beyond the core routes. */
export interface BindingCapabilities {
  /** The app can unset the session (`POST /unset`), for `unset: 'destroy'`. */
  unset?: boolean;
  /**
   * The store write lands before the response is sent, whatever its size (every binding but Express's, which
   * does so for bodies up to 16 KiB and with `saveBeforeSend`).
   */
  writesBeforeResponse?: boolean;
}

/** One behaviour case. */
export interface BindingCase {
  id: string;
  title: string;
  needs?: Array<keyof BindingCapabilities>;
  run(ctx: BindingCaseContext): Promise<void>;
}

/** What a case gets. */
export interface BindingCaseContext {
  start(options: SessionOptions): Promise<BindingApp>;
}

/** One request of a scenario: its method and path, and whether the client sends the cookie it holds. */
type Step = [method: 'GET' | 'POST', path: string, withCookie: boolean];

/** What a client and the store saw of one step. */
interface Seen {
  step: string;
  status: number;
  body: string;
  cookieSent: boolean;
  sameId: boolean;
  get: number;
  set: number;
  touch: number;
  destroy: number;
  stored: number;
}

/** A MemoryStore whose get/set/touch/destroy are counted by a forwarding wrapper (as apps count them). */
function countedStore(): { store: SessionStore; counts: Record<'get' | 'set' | 'touch' | 'destroy', number> } {
  const store = new MemoryStore();
  const counts = { get: 0, set: 0, touch: 0, destroy: 0 };
  for (const m of ['get', 'set', 'touch', 'destroy'] as const) {
    const original = (store as unknown as Record<string, (...a: unknown[]) => unknown>)[m]!;
    (store as unknown as Record<string, unknown>)[m] = function (this: unknown, ...args: unknown[]) {
      counts[m]++;
      return original.apply(this, args);
    };
  }
  return { store, counts };
}

const SECRET = 'binding behaviour suite';
const idOf = (cookie: string | undefined) => (cookie ? decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1)).split('.')[0] : undefined);

/** Apply a step's action to a session, as the suite's app does. */
async function act(carrier: SessionCarrier, method: string, path: string): Promise<{ status: number; body: string }> {
  const url = new URL(path, 'http://x');
  const sess = carrier.session as (Session & Record<string, unknown>) | null | undefined;
  const data = () => {
    const out: Record<string, unknown> = {};
    const s = carrier.session as object | null | undefined;
    if (s) for (const k of Object.keys(s)) if (k !== 'cookie') out[k] = (s as Record<string, unknown>)[k];
    return JSON.stringify(out);
  };
  if (method === 'GET' && url.pathname === '/me') return { status: 200, body: data() };
  if (url.pathname === '/noop') return { status: 200, body: 'ok' };
  if (!sess) throw new Error(`no session for ${path}`);
  switch (url.pathname) {
    case '/set':
      for (const [k, v] of url.searchParams) sess[k] = v;
      return { status: 200, body: 'set' };
    case '/login':
      await sess.regenerate();
      (carrier.session as unknown as Record<string, unknown>).user = 'ann';
      return { status: 200, body: 'in' };
    case '/rotate':
      await sess.rotate();
      return { status: 200, body: 'rotated' };
    case '/logout':
      await sess.destroy();
      return { status: 200, body: 'out' };
    case '/unset':
      carrier.session = null;
      return { status: 200, body: 'unset' };
  }
  throw new Error(`unknown route ${path}`);
}

/** The reference: the same steps through the engine driven in memory, no framework. */
async function reference(options: SessionOptions, steps: Step[]): Promise<Seen[]> {
  const { store, counts } = countedStore();
  const engine = createSessionEngine({ ...options, store });
  const out: Seen[] = [];
  let jar: string | undefined;
  for (const [method, path, withCookie] of steps) {
    const before = { ...counts };
    const carrier: SessionCarrier = {};
    const sr = engine.open({ carrier, request: carrier, secure: () => false, onClose: () => undefined }, engine.cookieOptions(carrier));
    const sent = withCookie ? jar : undefined;
    let res: { status: number; body: string };
    try {
      await new Promise<void>((resolve, reject) => sr.load(engine.readCookie(sent), (err) => (err ? reject(err) : resolve())));
      res = await act(carrier, method, path);
      await new Promise<void>((resolve, reject) => {
        if (!sr.commit((err) => (err ? reject(err) : resolve()))) resolve();
      });
    } catch (err) {
      res = { status: SessError.isInstance(err) ? err.status : 500, body: JSON.stringify({ code: (err as SessError).code ?? null }) };
    }
    const header = res.status < 400 ? sr.setCookie() : undefined;
    const cookie = header?.split(';')[0];
    out.push(seen(`${method} ${path}`, res, cookie, sent, before, counts, await store.length!()));
    if (cookie) jar = cookie;
  }
  return out;
}

function seen(step: string, res: { status: number; body: string }, cookie: string | undefined, sent: string | undefined, before: Record<string, number>, counts: Record<string, number>, stored: number): Seen {
  return {
    step,
    status: res.status,
    body: res.body,
    cookieSent: cookie !== undefined,
    sameId: cookie !== undefined && sent !== undefined && idOf(cookie) === idOf(sent),
    get: counts.get! - before.get!,
    set: counts.set! - before.set!,
    touch: counts.touch! - before.touch!,
    destroy: counts.destroy! - before.destroy!,
    stored,
  };
}

/** A client keeping the session cookie. */
async function request(base: string, method: string, path: string, cookie: string | undefined): Promise<{ status: number; body: string; cookie?: string }> {
  const res = await fetch(base + path, { method, headers: cookie ? { cookie } : {}, redirect: 'manual' });
  const set = res.headers.getSetCookie().find((c) => c.startsWith('connect.sid='));
  return { status: res.status, body: await res.text(), cookie: set?.split(';')[0] };
}

/** The same steps through the binding's app, over HTTP. */
async function throughBinding(ctx: BindingCaseContext, options: SessionOptions, steps: Step[]): Promise<Seen[]> {
  const { store, counts } = countedStore();
  const app = await ctx.start({ ...options, store });
  const out: Seen[] = [];
  let jar: string | undefined;
  try {
    for (const [method, path, withCookie] of steps) {
      const before = { ...counts };
      const sent = withCookie ? jar : undefined;
      const r = await request(app.url, method, path, sent);
      out.push(seen(`${method} ${path}`, r, r.cookie, sent, before, counts, await store.length!()));
      if (r.cookie) jar = r.cookie;
    }
  } finally {
    await app.close();
  }
  return out;
}

/** Run `steps` through the binding and through the reference; they must agree on every observable. */
async function agree(ctx: BindingCaseContext, options: Omit<SessionOptions, 'secret'>, steps: Step[]): Promise<void> {
  const opts: SessionOptions = { ...options, secret: SECRET };
  const expected = await reference(opts, steps);
  const actual = await throughBinding(ctx, opts, steps);
  assert.deepEqual(actual, expected, `the binding and the engine disagree with ${JSON.stringify(options)}`);
}

const DECISION_STEPS: Step[] = [
  ['GET', '/noop', false],
  ['POST', '/set?a=1', false],
  ['GET', '/noop', true],
  ['GET', '/me', true],
  ['POST', '/set?b=2', true],
  ['POST', '/set?b=2', true],
  ['GET', '/me', true],
  ['POST', '/login', true],
  ['GET', '/me', true],
  ['POST', '/rotate', true],
  ['GET', '/me', true],
  ['POST', '/logout', true],
  ['GET', '/me', true],
];

const decisionCases: BindingCase[] = [];
for (const resave of [false, true])
  for (const saveUninitialized of [false, true])
    for (const rolling of [false, true])
      for (const maxAge of [undefined, 60_000]) {
        const options = { resave, saveUninitialized, rolling, ...(maxAge ? { cookie: { maxAge } } : {}) };
        decisionCases.push({
          id: `decision-${resave ? 'r' : '-'}${saveUninitialized ? 's' : '-'}${rolling ? 'o' : '-'}${maxAge ? 'm' : '-'}`,
          title: `decision table: ${JSON.stringify(options)}`,
          run: (ctx) => agree(ctx, options, DECISION_STEPS),
        });
      }

/** Wait `ms`. */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every behaviour case, in order. */
export const bindingCases: BindingCase[] = [
  ...decisionCases,
  {
    id: 'unset-destroy',
    title: "unset: 'destroy' destroys an unset session; 'keep' keeps it",
    needs: ['unset'],
    async run(ctx) {
      const steps: Step[] = [['POST', '/set?a=1', false], ['POST', '/unset', true], ['GET', '/me', true]];
      await agree(ctx, { resave: false, saveUninitialized: false, unset: 'destroy' }, steps);
      await agree(ctx, { resave: false, saveUninitialized: false, unset: 'keep' }, steps);
    },
  },
  {
    id: 'touch-after',
    title: 'touchAfter: an unchanged session is touched at most once per interval',
    run: (ctx) =>
      agree(ctx, { resave: false, saveUninitialized: false, touchAfter: 60_000, cookie: { maxAge: 600_000 } }, [
        ['POST', '/set?a=1', false],
        ['GET', '/me', true],
        ['GET', '/me', true],
        ['GET', '/noop', true],
      ]),
  },
  {
    id: 'rotate-every',
    title: 'rotateEvery: a session older than the interval gets a new id, the same data, the old id gone',
    async run(ctx) {
      const { store } = countedStore();
      const app = await ctx.start({ secret: SECRET, resave: false, saveUninitialized: false, rotateEvery: 200, store });
      try {
        const first = await request(app.url, 'POST', '/set?a=1', undefined);
        await sleep(300);
        const later = await request(app.url, 'GET', '/me', first.cookie);
        assert.ok(later.cookie && idOf(later.cookie) !== idOf(first.cookie), 'the id was not rotated');
        assert.equal(later.body, '{"a":"1"}');
        assert.equal((await request(app.url, 'GET', '/me', later.cookie)).body, '{"a":"1"}', 'the new id does not read the session');
        assert.equal((await request(app.url, 'GET', '/me', first.cookie)).body, '{}', 'the old id still reads the session');
      } finally {
        await app.close();
      }
    },
  },
  {
    id: 'absolute-timeout',
    title: 'absoluteTimeout: a session ends that long after its creation, however active',
    async run(ctx) {
      const app = await ctx.start({ secret: SECRET, resave: false, saveUninitialized: false, absoluteTimeout: 2000, rolling: true, cookie: { maxAge: 600_000 } });
      try {
        let r = await request(app.url, 'POST', '/set?a=1', undefined);
        const cookie = r.cookie;
        r = await request(app.url, 'GET', '/me', cookie);
        assert.equal(r.body, '{"a":"1"}');
        await sleep(2300);
        assert.equal((await request(app.url, 'GET', '/me', cookie)).body, '{}', 'the session outlived absoluteTimeout');
      } finally {
        await app.close();
      }
    },
  },
  {
    id: 'stored-before-response',
    title: 'the store holds the session when the client has the response (no redirect race)',
    async run(ctx) {
      const { store } = countedStore();
      const app = await ctx.start({ secret: SECRET, resave: false, saveUninitialized: false, store });
      try {
        for (let i = 0; i < 5; i++) {
          const r = await request(app.url, 'POST', `/set?n=${i}`, undefined);
          const id = idOf(r.cookie)!.slice(2);
          assert.equal((await store.get(id))?.n, String(i), 'the response came before the store write');
        }
      } finally {
        await app.close();
      }
    },
  },
  {
    id: 'merge',
    title: "concurrency 'merge': concurrent requests changing different keys lose neither",
    async run(ctx) {
      const app = await ctx.start({ secret: SECRET, resave: false, saveUninitialized: false, concurrency: 'merge' });
      try {
        const { cookie } = await request(app.url, 'POST', '/set?start=1', undefined);
        await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map((k) => request(app.url, 'POST', `/set?${k}=1`, cookie)));
        assert.deepEqual(JSON.parse((await request(app.url, 'GET', '/me', cookie)).body), { start: '1', a: '1', b: '1', c: '1', d: '1', e: '1', f: '1' });
      } finally {
        await app.close();
      }
    },
  },
  {
    id: 'lock',
    title: "concurrency 'lock': concurrent read-modify-writes of one key lose no increment",
    async run(ctx) {
      const app = await ctx.start({ secret: SECRET, resave: false, saveUninitialized: false, concurrency: 'lock' });
      try {
        const { cookie } = await request(app.url, 'POST', '/set?start=1', undefined);
        const answers = await Promise.all(Array.from({ length: 8 }, () => request(app.url, 'POST', '/incr', cookie)));
        assert.deepEqual(answers.map((a) => a.status), Array(8).fill(200));
        assert.equal(JSON.parse((await request(app.url, 'GET', '/me', cookie)).body).n, 8, 'an increment was lost');
      } finally {
        await app.close();
      }
    },
  },
  {
    id: 'user-key',
    title: 'userKey: the store indexes every session of a user, and forgets the one logged out',
    async run(ctx) {
      const { store } = countedStore();
      const app = await ctx.start({ secret: SECRET, resave: false, saveUninitialized: false, store, userKey: (d) => d.user as string | undefined });
      try {
        const a = await request(app.url, 'POST', '/login', undefined);
        const b = await request(app.url, 'POST', '/login', undefined);
        const listed = async () => (await store.listUser!('ann')).map((x) => x.id).sort();
        assert.deepEqual(await listed(), [idOf(a.cookie)!.slice(2), idOf(b.cookie)!.slice(2)].sort());
        await request(app.url, 'POST', '/logout', a.cookie);
        assert.deepEqual(await listed(), [idOf(b.cookie)!.slice(2)]);
      } finally {
        await app.close();
      }
    },
  },
  {
    id: 'store-failure-policy',
    title: "a failing store: 503 SESS_STORE with onStoreError 'fail'; no session but an answer with 'continue'",
    async run(ctx) {
      const failing = () => {
        const { store } = countedStore();
        (store as unknown as Record<string, unknown>).get = () => Promise.reject(new Error('store down'));
        return store;
      };
      for (const onStoreError of ['fail', 'continue'] as const) {
        const store = failing();
        await store.set('aSessionIdThatExists0123456789ab', { cookie: { originalMaxAge: null, expires: null, path: '/', httpOnly: true } } as never, { expires: new Date(Date.now() + 60_000) });
        const app = await ctx.start({ secret: SECRET, resave: false, saveUninitialized: false, store, onStoreError });
        try {
          const { signId } = await import('@sess/core');
          const cookie = 'connect.sid=' + encodeURIComponent(signId('aSessionIdThatExists0123456789ab', SECRET));
          const r = await request(app.url, 'GET', '/noop', cookie);
          if (onStoreError === 'fail') assert.deepEqual([r.status, JSON.parse(r.body)], [503, { code: 'SESS_STORE' }]);
          else assert.deepEqual([r.status, r.body], [200, 'ok']);
        } finally {
          await app.close();
        }
      }
    },
  },
  {
    id: 'flash',
    title: 'flash messages live in the session until read once, across requests',
    async run(ctx) {
      const app = await ctx.start({ secret: SECRET, resave: false, saveUninitialized: false });
      try {
        const first = await request(app.url, 'POST', '/flash?m=saved', undefined);
        assert.equal(first.body, 'queued');
        await request(app.url, 'POST', '/flash?m=again', first.cookie);
        assert.deepEqual(JSON.parse((await request(app.url, 'GET', '/flash', first.cookie)).body), ['saved', 'again']);
        assert.deepEqual(JSON.parse((await request(app.url, 'GET', '/flash', first.cookie)).body), [], 'a flash message was read twice');
      } finally {
        await app.close();
      }
    },
  },
  {
    id: 'csrf',
    title: "a CSRF token is the session's: it passes on the next request; a wrong, missing or other session's token is a 403",
    async run(ctx) {
      const app = await ctx.start({ secret: SECRET, resave: false, saveUninitialized: false });
      const post = async (cookie: string | undefined, token: string | undefined) => {
        const res = await fetch(app.url + '/csrf', { method: 'POST', headers: { ...(cookie ? { cookie } : {}), ...(token ? { 'x-csrf-token': token } : {}) } });
        return { status: res.status, body: await res.text() };
      };
      try {
        const a = await request(app.url, 'GET', '/csrf', undefined);
        const b = await request(app.url, 'GET', '/csrf', undefined);
        assert.ok(a.cookie && a.body.length > 20, 'no token or no session cookie');
        assert.deepEqual(await post(a.cookie, a.body), { status: 200, body: 'ok' });
        const again = await request(app.url, 'GET', '/csrf', a.cookie);
        assert.notEqual(again.body, a.body, 'a token must be masked afresh each time');
        assert.deepEqual(await post(a.cookie, again.body), { status: 200, body: 'ok' });
        for (const [what, token] of [['a wrong token', 'x'.repeat(48)], ['no token', undefined], ["another session's token", b.body]] as const) {
          const r = await post(a.cookie, token);
          assert.deepEqual({ what, status: r.status, code: JSON.parse(r.body).code }, { what, status: 403, code: 'SESS_CSRF' });
        }
      } finally {
        await app.close();
      }
    },
  },
  {
    id: 'hostile-cookies',
    title: 'forged, unsigned, oversized, malformed and path-traversing cookies are a new session and never reach the store',
    async run(ctx) {
      const { store, counts } = countedStore();
      const app = await ctx.start({ secret: SECRET, resave: false, saveUninitialized: false, store });
      const { signId } = await import('@sess/core');
      try {
        const hostile = [
          'connect.sid=s%3AsomeId.forgedSignature',
          'connect.sid=someIdWithoutPrefix',
          'connect.sid=' + encodeURIComponent(signId('../../etc/passwd', SECRET)),
          'connect.sid=' + encodeURIComponent(signId('x'.repeat(300), SECRET)),
          'connect.sid=%E0%A4%A',
          'connect.sid=' + 'a'.repeat(8000),
          'connect.sid=s%3A; connect.sid=s%3A.',
        ];
        for (const cookie of hostile) {
          const r = await request(app.url, 'GET', '/me', cookie);
          assert.deepEqual([r.status, r.body, r.cookie], [200, '{}', undefined], `hostile cookie ${JSON.stringify(cookie.slice(0, 60))}`);
        }
        assert.equal(counts.get, 0, 'a hostile cookie reached the store');
      } finally {
        await app.close();
      }
    },
  },
];

/** The result of one case. */
export interface BindingCaseResult {
  id: string;
  status: 'passed' | 'failed' | 'skipped';
  reason?: string;
}

/** Why `c` does not apply to a binding with `caps`, if it does not. */
export function bindingSkipReason(c: BindingCase, caps: BindingCapabilities): string | undefined {
  const missing = (c.needs ?? []).filter((n) => !caps[n]);
  return missing.length ? `the binding does not declare ${missing.join(', ')}` : undefined;
}

/** Run one case against the binding `factory` makes. */
export async function runBindingCase(factory: BindingFactory, c: BindingCase, caps: BindingCapabilities = {}): Promise<BindingCaseResult> {
  const reason = bindingSkipReason(c, caps);
  if (reason) return { id: c.id, status: 'skipped', reason };
  try {
    await c.run({ start: factory });
    return { id: c.id, status: 'passed' };
  } catch (err) {
    return { id: c.id, status: 'failed', reason: err instanceof Error ? err.message : String(err) };
  }
}
