/**
 * Both directions of store compatibility: express-session callback stores used by @sess/core (through
 * the adapter), and sess stores used by express-session (through toExpressStore).
 */
import { describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import expressSession from 'express-session';
import createMemoryStore from 'memorystore';
import createFileStore from 'session-file-store';
import session, { MemoryStore, fromCallbackStore, toExpressStore } from '@sess/core';
import { client, listen } from './helpers';

type S = Record<string, unknown>;

function counterApp(mw: express.RequestHandler) {
  const a = express();
  a.use(mw);
  a.get('/', (req, res) => {
    const s = req.session as unknown as S;
    s.count = ((s.count as number) || 0) + 1;
    s.name = 'ünï 🍪';
    res.send(String(s.count));
  });
  return a;
}

/** Counts through one middleware, then through the other on the same store and cookie. */
async function handOver(first: express.RequestHandler, second: express.RequestHandler) {
  const s1 = await listen(counterApp(first));
  const c = client(s1.url);
  expect((await c.get('/')).body).toBe('1');
  expect((await c.get('/')).body).toBe('2');
  await s1.close();
  const s2 = await listen(counterApp(second));
  const c2 = client(s2.url);
  c2.jar = c.jar;
  expect((await c2.get('/')).body).toBe('3');
  expect((await c2.get('/')).body).toBe('4');
  await s2.close();
}

const opts = { secret: 'keyboard cat', resave: false, saveUninitialized: false, cookie: { maxAge: 60_000 } };

describe('express-session stores used by @sess/core', () => {
  test('memorystore: sessions move from express-session to sess and back', async () => {
    const MS = createMemoryStore(expressSession);
    const store = new MS({ checkPeriod: 60_000 }) as never as { stopInterval(): void } & import("@sess/core").CallbackStore;
    await handOver(expressSession({ ...opts, store }), session({ ...opts, store }));
    await handOver(session({ ...opts, store }), expressSession({ ...opts, store }));
    store.stopInterval();
  });

  test('memorystore built on sess\'s own Store class (createMemoryStore(session))', async () => {
    const MS = createMemoryStore(session as never);
    const store = new MS({ checkPeriod: 60_000 }) as never as { stopInterval(): void } & import("@sess/core").CallbackStore;
    const a = counterApp(session({ ...opts, store }));
    const srv = await listen(a);
    const c = client(srv.url);
    expect((await c.get('/')).body).toBe('1');
    expect((await c.get('/')).body).toBe('2');
    await srv.close();
    store.stopInterval();
  });

  test('session-file-store: sessions move from express-session to sess and back', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sess-fs-'));
    try {
      const FileStore = createFileStore(expressSession);
      const store = new FileStore({ path: dir, logFn: () => undefined, reapInterval: -1, retries: 0 });
      await handOver(expressSession({ ...opts, store }), session({ ...opts, store }));
      await handOver(session({ ...opts, store }), expressSession({ ...opts, store }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the adapter reports capabilities from the methods a store has', () => {
    const MS = createMemoryStore(expressSession);
    const ms = new MS({ checkPeriod: 60_000 }) as never as { stopInterval(): void } & import("@sess/core").CallbackStore;
    const a = fromCallbackStore(ms);
    expect(a.capabilities).toMatchObject({ touch: true, enumerate: true, clear: true, atomicPatch: false, lock: false, userIndex: false });
    ms.stopInterval();
  });
});

describe('sess stores used by express-session', () => {
  test('MemoryStore through toExpressStore: sessions move both ways', async () => {
    const store = new MemoryStore();
    const forExpress = toExpressStore(store, expressSession as never);
    await handOver(expressSession({ ...opts, store: forExpress as never }), session({ ...opts, store }));
    await handOver(session({ ...opts, store }), expressSession({ ...opts, store: forExpress as never }));
    expect(await store.length()).toBe(2);
  });

  test('express-session touch, all, length, clear work through toExpressStore', async () => {
    const store = new MemoryStore();
    const es = toExpressStore(store, expressSession as never) as unknown as Record<string, (...a: unknown[]) => void>;
    const call = (m: string, ...args: unknown[]) => new Promise<unknown>((res, rej) => es[m]!(...args, (e: unknown, v: unknown) => (e ? rej(e) : res(v))));
    const sess = { cookie: { originalMaxAge: 1000, expires: new Date(Date.now() + 1000), httpOnly: true, path: '/' }, a: 1 };
    await call('set', 'id1', sess);
    await call('touch', 'id1', { ...sess, cookie: { ...sess.cookie, expires: new Date(Date.now() + 50_000) } });
    expect(((await call('get', 'id1')) as S).a).toBe(1);
    expect(await call('length')).toBe(1);
    expect(Object.keys((await call('all')) as S)).toEqual(['id1']);
    await call('clear');
    expect(await call('length')).toBe(0);
    expect(await call('get', 'id1')).toBeUndefined();
  });
});
