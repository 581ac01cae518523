/**
 * Failure: the MongoDB server unreachable at start, killed mid-traffic (a proxy in front of the test server
 * resets every connection and refuses new ones), or stalled (the proxy forwards nothing). Requests get
 * typed errors within the store timeout, never hang, and the pool recovers by itself.
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { MongoClient } from 'mongodb';
import session from '@sess/core';
import { MongoStore } from '@sess/store-mongo';
import { serviceTest, urls } from '../../conformance/test/services';
import { startProxy, type Proxy } from '../../conformance/test/proxy';

const svc = serviceTest('mongo');
const table = `sess_failure_${process.pid}`;

function app(store: MongoStore) {
  const a = express();
  a.use(session({ secret: 's', resave: false, saveUninitialized: false, store, storeTimeout: 800, saveBeforeSend: true, cookie: { maxAge: 60_000 } }));
  a.get('/login', (req, res) => {
    (req.session as unknown as Record<string, string>).user = 'ann';
    res.send('in');
  });
  a.get('/me', (req, res) => res.send(String((req.session as unknown as Record<string, string>).user ?? 'anon')));
  a.use(((err, _req, res, _next) => res.status(err.status ?? 500).send(String(err.code))) as express.ErrorRequestHandler);
  return a;
}

async function serve(a: express.Express) {
  const server = http.createServer(a);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function timed(url: string, cookie?: string) {
  const t0 = Date.now();
  const res = await fetch(url, { headers: cookie ? { cookie } : {} });
  const body = await res.text();
  const set = res.headers.getSetCookie().find((c) => c.startsWith('connect.sid='));
  return { status: res.status, body, ms: Date.now() - t0, cookie: set?.split(';')[0] };
}

async function until200(url: string, cookie?: string) {
  let r: Awaited<ReturnType<typeof timed>> | undefined;
  for (let i = 0; i < 50 && r?.status !== 200; i++) {
    r = await timed(url, cookie);
    if (r.status !== 200) await new Promise((res) => setTimeout(res, 200));
  }
  return r!;
}

function viaProxy(proxy: Proxy): string {
  const u = new URL(urls.mongo);
  u.hostname = '127.0.0.1';
  u.port = String(proxy.port);
  return u.toString();
}

if (!svc.available) {
  svc.missing('MongoStore failure tests');
} else {
  const admin = new MongoClient(urls.mongo);
  afterAll(async () => {
    await admin.db().collection(table).drop().catch(() => undefined);
    await admin.close();
  });

  describe('MongoDB failures give typed errors in time, then recovery', () => {
    test('down at start, then up: 503 within the store timeout, then it works without a restart', async () => {
      const u = new URL(urls.mongo);
      const proxy = await startProxy(u.hostname, Number(u.port || 27017), true);
      const store = new MongoStore({ url: viaProxy(proxy), collectionName: table, autoRemove: 'disabled', clientOptions: { serverSelectionTimeoutMS: 600 } });
      const srv = await serve(app(store));
      const down = await timed(srv.url + '/login');
      expect(down.status).toBe(503);
      expect(['SESS_STORE', 'SESS_STORE_TIMEOUT']).toContain(down.body);
      expect(down.ms).toBeLessThan(2000);
      await proxy.up();
      const ok = await until200(srv.url + '/login');
      expect(ok.status).toBe(200);
      expect((await timed(srv.url + '/me', ok.cookie)).body).toBe('ann');
      await srv.close();
      await store.close();
      await proxy.close();
    }, 60_000);

    test('gone mid-traffic, then back: typed errors meanwhile, the same sessions work again after', async () => {
      const u = new URL(urls.mongo);
      const proxy = await startProxy(u.hostname, Number(u.port || 27017));
      const store = new MongoStore({ url: viaProxy(proxy), collectionName: table, autoRemove: 'disabled', clientOptions: { serverSelectionTimeoutMS: 600 } });
      const srv = await serve(app(store));
      const login = await timed(srv.url + '/login');
      expect(login.status).toBe(200);
      await proxy.down();
      const during = await Promise.all(Array.from({ length: 5 }, () => timed(srv.url + '/me', login.cookie)));
      for (const r of during) {
        expect(r.status).toBe(503);
        expect(['SESS_STORE', 'SESS_STORE_TIMEOUT']).toContain(r.body);
        expect(r.ms).toBeLessThan(2000);
      }
      await proxy.up();
      const after = await until200(srv.url + '/me', login.cookie);
      expect(after.body).toBe('ann');
      await srv.close();
      await store.close();
      await proxy.close();
    }, 60_000);

    test('stalled connection (the server answers nothing): StoreTimeoutError in time, then recovery', async () => {
      const u = new URL(urls.mongo);
      const proxy = await startProxy(u.hostname, Number(u.port || 27017));
      const store = new MongoStore({ url: viaProxy(proxy), collectionName: table, autoRemove: 'disabled', clientOptions: { serverSelectionTimeoutMS: 600 } });
      const srv = await serve(app(store));
      const login = await timed(srv.url + '/login');
      proxy.stall();
      const stalled = await timed(srv.url + '/me', login.cookie);
      expect(stalled.status).toBe(503);
      expect(stalled.body).toBe('SESS_STORE_TIMEOUT');
      expect(stalled.ms).toBeLessThan(2000);
      proxy.resume();
      expect((await until200(srv.url + '/me', login.cookie)).body).toBe('ann');
      await srv.close();
      await store.close();
      await proxy.close();
    }, 60_000);
  });
}
