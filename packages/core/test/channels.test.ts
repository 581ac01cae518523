/**
 * The `sess:store` tracing channel: every store operation core performs, in the caller's async context, with
 * its operation, store and id tag (never the id), its result or typed error; nothing published without a
 * subscriber.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { AsyncLocalStorage } from 'node:async_hooks';
import { tracingChannel } from 'node:diagnostics_channel';
import express from 'express';
import session, { MemoryStore, Store, idTag, requestChannel, storeChannel, type RequestContext, type StoreOperationContext } from '@sess/core';
import { client, listen } from './helpers';

type Event = [string, StoreOperationContext];
const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

/** Record every event of `sess:store` until the test ends. */
function record(): Event[] {
  const events: Event[] = [];
  const handlers = {
    start: (ctx: StoreOperationContext) => events.push(['start', { ...ctx }]),
    end: (ctx: StoreOperationContext) => events.push(['end', { ...ctx }]),
    asyncStart: (ctx: StoreOperationContext) => events.push(['asyncStart', { ...ctx }]),
    asyncEnd: (ctx: StoreOperationContext) => events.push(['asyncEnd', { ...ctx }]),
    error: (ctx: StoreOperationContext) => events.push(['error', { ...ctx }]),
  };
  const channel = tracingChannel<string, StoreOperationContext>('sess:store');
  channel.subscribe(handlers);
  closers.push(() => channel.unsubscribe(handlers));
  return events;
}

async function app(store: object, extra: Record<string, unknown> = {}) {
  const a = express();
  a.use(session({ secret: 's', resave: false, saveUninitialized: false, store: store as never, ...extra }));
  a.get('/login', (req, res) => {
    (req.session as unknown as Record<string, string>).user = 'ann';
    res.send('in');
  });
  a.get('/me', (req, res) => res.send(String((req.session as unknown as Record<string, string>).user)));
  a.get('/lock', async (req, res) => {
    await req.session.lock();
    res.send('locked');
  });
  a.use(((err, _req, res, _next) => res.status(err.status ?? 500).send(err.code)) as express.ErrorRequestHandler);
  const srv = await listen(a);
  closers.push(srv.close);
  return client(srv.url);
}

const sidOf = (jar: string) => {
  const v = decodeURIComponent(jar.slice('connect.sid='.length));
  return v.slice(2, v.lastIndexOf('.'));
};

/** An express-session store recording, on each get and set, the store `als` holds in that call's context. */
function watchingStore(als: AsyncLocalStorage<string>, seen: Array<string | undefined>): Store {
  class Watching extends Store {
    private readonly m = new Map<string, string>();
    get(sid: string, cb: (e: null, v?: unknown) => void) {
      seen.push(als.getStore());
      setImmediate(() => cb(null, this.m.has(sid) ? JSON.parse(this.m.get(sid)!) : undefined));
    }
    set(sid: string, s: unknown, cb: () => void) {
      seen.push(als.getStore());
      this.m.set(sid, JSON.stringify(s));
      setImmediate(cb);
    }
    destroy(sid: string, cb: () => void) {
      this.m.delete(sid);
      cb();
    }
  }
  return new Watching();
}

/** An express-session store whose get fails (named BrokenStore, as traces show it). */
function brokenStore(): Store {
  class BrokenStore extends Store {
    get(_sid: string, cb: (err: Error) => void) {
      setImmediate(() => cb(new Error('boom')));
    }
    set(_sid: string, _s: unknown, cb: () => void) {
      cb();
    }
    destroy(_sid: string, cb: () => void) {
      cb();
    }
  }
  return new BrokenStore();
}

/** A validly signed cookie for an id no store has. */
const SIGNED_UNKNOWN = 'connect.sid=' + encodeURIComponent('s:' + require('cookie-signature').sign('abcdefghij', 's'));

describe('sess:store', () => {
  test('every operation: start, end, asyncStart, asyncEnd, with its operation, store and id tag, never the id', async () => {
    const events = record();
    const c = await app(new MemoryStore(), { cookie: { maxAge: 60_000 } });
    await c.get('/login');
    await c.get('/me');
    await c.get('/lock');
    const sid = sidOf(c.jar!);
    const ops = events.filter(([e]) => e === 'start').map(([, ctx]) => ctx.operation);
    // lock() reloads the session under the lock; the lock is released after the end-of-request touch.
    expect(ops).toEqual(['set', 'get', 'touch', 'get', 'lock', 'get', 'touch', 'unlock']);
    for (const op of new Set(ops)) {
      const mine = events.filter(([, ctx]) => ctx.operation === op).map(([e]) => e);
      expect(mine.slice(0, 4)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);
    }
    for (const [, ctx] of events) {
      expect(ctx.store).toBe('MemoryStore');
      expect(ctx.idTag).toBe(idTag(sid));
    }
    expect(JSON.stringify(events)).not.toContain(sid);
    const loaded = events.find(([e, ctx]) => e === 'asyncEnd' && ctx.operation === 'get');
    expect(loaded?.[1].result).toBe(true); // whether there was a record, not its data
    expect(JSON.stringify(events)).not.toContain('ann');
  });

  test('a failed operation publishes error with the typed error, and the store is named through the adapter', async () => {
    const events = record();
    const c = await app(brokenStore());
    const r = await c.get('/me', { cookie: SIGNED_UNKNOWN });
    expect(r.status).toBe(503);
    expect(events.map(([e, ctx]) => `${e}:${ctx.operation}`)).toEqual(['start:get', 'end:get', 'error:get', 'asyncStart:get', 'asyncEnd:get']);
    const failed = events.find(([e]) => e === 'error')![1];
    expect(failed.store).toBe('BrokenStore');
    expect(failed.error).toMatchObject({ code: 'SESS_STORE', operation: 'get' });
  });

  test('start runs in the caller\'s async context: a store bound to it is the operation\'s context', async () => {
    const als = new AsyncLocalStorage<string>();
    const channel = tracingChannel<string, StoreOperationContext>('sess:store');
    channel.start.bindStore(als, (ctx) => `span:${ctx.operation}`);
    closers.push(() => void channel.start.unbindStore(als));
    const seen: Array<string | undefined> = [];
    const c = await app(watchingStore(als, seen));
    await c.get('/login');
    await c.get('/me');
    expect(seen).toEqual(['span:set', 'span:get']);
  });

  test('no subscriber: nothing is published, and the channel says so', async () => {
    expect(storeChannel.hasSubscribers).toBe(false);
    const store = new MemoryStore();
    const c = await app(store);
    expect((await c.get('/login')).body).toBe('in');
    expect((await c.get('/me')).body).toBe('ann');
  });
});

describe('sess:request', () => {
  type ReqEvent = [string, RequestContext];
  function recordRequests(): ReqEvent[] {
    const events: ReqEvent[] = [];
    const handlers = {
      start: (ctx: RequestContext) => events.push(['start', { ...ctx }]),
      end: (ctx: RequestContext) => events.push(['end', { ...ctx }]),
      asyncStart: (ctx: RequestContext) => events.push(['asyncStart', { ...ctx }]),
      asyncEnd: (ctx: RequestContext) => events.push(['asyncEnd', { ...ctx }]),
      error: (ctx: RequestContext) => events.push(['error', { ...ctx }]),
    };
    requestChannel.subscribe(handlers);
    closers.push(() => void requestChannel.unsubscribe(handlers));
    return events;
  }
  const outcomes = (events: ReqEvent[]) => events.filter(([e]) => e === 'asyncEnd').map(([, ctx]) => ctx.outcome);

  async function outcomeApp(store: object, extra: Record<string, unknown> = {}) {
    const a = express();
    a.use(session({ secret: 's', resave: false, saveUninitialized: false, store: store as never, ...extra }));
    const data = (req: express.Request) => req.session as unknown as Record<string, unknown>;
    a.get('/login', (req, res) => {
      data(req).user = 'ann';
      res.send('in');
    });
    a.get('/me', (req, res) => res.send(String(data(req)?.user)));
    a.get('/change', (req, res) => {
      data(req).n = Number(data(req).n ?? 0) + 1;
      res.send('changed');
    });
    a.get('/regenerate', (req, res, next) => req.session.regenerate((err) => (err ? next(err) : res.send('new'))));
    a.get('/rotate', async (req, res) => {
      await req.session.rotate();
      res.send('rotated');
    });
    a.get('/logout', (req, res, next) => req.session.destroy((err) => (err ? next(err) : res.send('out'))));
    a.get('/hang', () => undefined);
    a.use(((err, _req, res, _next) => res.status(err.status ?? 500).send(err.code)) as express.ErrorRequestHandler);
    const srv = await listen(a);
    closers.push(srv.close);
    return { c: client(srv.url), url: srv.url };
  }

  test('one start/end/asyncStart/asyncEnd per request, with the outcome of its session work', async () => {
    const events = recordRequests();
    const { c } = await outcomeApp(new MemoryStore(), { cookie: { maxAge: 60_000 }, touchAfter: 60_000 });
    await c.get('/me'); // no cookie, nothing stored
    await c.get('/login'); // stored
    await c.get('/me'); // loaded, touch throttled
    await c.get('/change'); // saved
    await c.get('/rotate'); // same session, new id: saved
    await c.get('/regenerate'); // a new session, stored
    await c.get('/logout'); // destroyed
    await c.get('/me', { cookie: c.jar! }); // the destroyed session's cookie: missed
    expect(outcomes(events)).toEqual(['unchanged', 'created', 'loaded', 'saved', 'saved', 'created', 'destroyed', 'missed']);
    expect(events.filter(([e]) => e === 'start')).toHaveLength(8);
    expect(events.map(([e]) => e).slice(0, 4)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);
    const found = events.filter(([e]) => e === 'asyncEnd').map(([, ctx]) => ctx.found);
    expect(found).toEqual([undefined, undefined, true, true, true, true, true, false]);
    for (const [, ctx] of events) expect(ctx.store).toBe('MemoryStore');
    expect(JSON.stringify(events)).not.toMatch(/ann|connect\.sid/);
  });

  test('touched: an unchanged session whose expiry is refreshed in the store', async () => {
    const events = recordRequests();
    const { c } = await outcomeApp(new MemoryStore(), { cookie: { maxAge: 60_000 } });
    await c.get('/login');
    await c.get('/me');
    expect(outcomes(events)).toEqual(['created', 'touched']);
  });

  test('failed: the store error on load, with the typed error, whether or not the request goes on', async () => {
    const cookie = SIGNED_UNKNOWN;
    for (const onStoreError of ['fail', 'continue']) {
      const events = recordRequests();
      const { c } = await outcomeApp(brokenStore(), { onStoreError });
      const r = await c.get('/me', { cookie });
      expect(r.status).toBe(onStoreError === 'fail' ? 503 : 200);
      expect(events.map(([e]) => e)).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd']);
      const last = events[events.length - 1][1];
      expect(last.outcome).toBe('failed');
      expect(last.error).toMatchObject({ code: 'SESS_STORE', operation: 'get' });
      await closers.pop()!(); // this round's subscriber
    }
  });

  test('failed: a write at the end of the response that fails', async () => {
    const events = recordRequests();
    const store = new MemoryStore();
    store.set = () => Promise.reject(new Error('disk full'));
    const { c } = await outcomeApp(store, { saveBeforeSend: true });
    const r = await c.get('/login');
    expect(r.status).toBe(503);
    expect(outcomes(events)).toEqual(['failed']);
    expect(events.find(([e]) => e === 'error')![1].error).toMatchObject({ code: 'SESS_STORE', operation: 'set' });
  });

  test('a response closed without end(): the trace still ends', async () => {
    const events = recordRequests();
    const { url } = await outcomeApp(new MemoryStore());
    const ac = new AbortController();
    const pending = fetch(url + '/hang', { signal: ac.signal }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 100));
    ac.abort();
    await pending;
    for (let i = 0; i < 50 && outcomes(events).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(outcomes(events)).toEqual(['unchanged']);
  });

  test("start's bound store is the context of the request's store operations, not of the app's handlers", async () => {
    const als = new AsyncLocalStorage<string>();
    const channel = tracingChannel<string, RequestContext>('sess:request');
    channel.start.bindStore(als, () => 'session-span');
    closers.push(() => void channel.start.unbindStore(als));
    const inStore: Array<string | undefined> = [];
    const inHandler: Array<string | undefined> = [];
    const a = express();
    a.use(session({ secret: 's', resave: false, saveUninitialized: false, store: watchingStore(als, inStore) as never }));
    a.get('/count', (req, res) => {
      inHandler.push(als.getStore());
      const s = req.session as unknown as { n?: number };
      s.n = (s.n ?? 0) + 1;
      setTimeout(() => res.send(String(s.n)), 5);
    });
    const srv = await listen(a);
    closers.push(srv.close);
    const c = client(srv.url);
    await c.get('/count');
    await c.get('/count');
    expect(inStore).toEqual(['session-span', 'session-span', 'session-span']); // set, get, set
    expect(inHandler).toEqual([undefined, undefined]);
  });

  test('no subscriber: nothing is published', async () => {
    expect(requestChannel.hasSubscribers).toBe(false);
    const { c } = await outcomeApp(new MemoryStore());
    expect((await c.get('/login')).body).toBe('in');
    expect((await c.get('/me')).body).toBe('ann');
  });
});
