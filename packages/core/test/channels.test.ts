/**
 * The `sess:store` tracing channel: every store operation core performs, in the caller's async context, with
 * its operation, store and id tag (never the id), its result or typed error; nothing published without a
 * subscriber.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { AsyncLocalStorage } from 'node:async_hooks';
import { tracingChannel } from 'node:diagnostics_channel';
import express from 'express';
import session, { MemoryStore, Store, idTag, storeChannel, type StoreOperationContext } from '@sess/core';
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
    const c = await app(new BrokenStore());
    const r = await c.get('/me', { cookie: 'connect.sid=' + encodeURIComponent('s:' + require('cookie-signature').sign('abcdefghij', 's')) });
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
    const c = await app(new Watching());
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
