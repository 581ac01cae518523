/**
 * Failure: MySQL / MariaDB unreachable at start, killed mid-traffic (a proxy in front of the real server
 * resets every connection and refuses new ones), or stalled (the proxy forwards nothing). Requests get
 * typed errors within the store timeout, never hang, and the pool recovers by itself.
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import mysql from 'mysql2/promise';
import session from '@sess/core';
import { MySQLStore } from '@sess/store-mysql';
import { serviceTest, urls } from '../../conformance/test/services';
import { startProxy, type Proxy } from '../../conformance/test/proxy';

const svc = serviceTest('mysql');
const table = `sess_failure_${process.pid}`;

function app(store: MySQLStore) {
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
  const u = new URL(urls.mysql);
  u.hostname = '127.0.0.1';
  u.port = String(proxy.port);
  return u.toString();
}

if (!svc.available) {
  svc.missing('MySQLStore failure tests');
} else {
  const admin = mysql.createPool({ uri: urls.mysql, connectionLimit: 2 });
  afterAll(async () => {
    await admin.query(`DROP TABLE IF EXISTS \`${table}\`, \`${table}_by_user\``);
    await admin.end();
  });

  describe('MySQL / MariaDB failures give typed errors in time, then recovery', () => {
    test('down at start, then up: 503 within the store timeout, then it works without a restart', async () => {
      const u = new URL(urls.mysql);
      const proxy = await startProxy(u.hostname, Number(u.port || 3306), true);
      const store = new MySQLStore({ uri: viaProxy(proxy), schema: { tableName: table }, pruneSessionInterval: false });
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
      const u = new URL(urls.mysql);
      const proxy = await startProxy(u.hostname, Number(u.port || 3306));
      const store = new MySQLStore({ uri: viaProxy(proxy), schema: { tableName: table }, pruneSessionInterval: false });
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

    test('slow (the row locked by another transaction): StoreTimeoutError within storeTimeout, then normal service', async () => {
      const store = new MySQLStore({ uri: urls.mysql, schema: { tableName: table }, pruneSessionInterval: false });
      const srv = await serve(app(store));
      const login = await timed(srv.url + '/login');
      expect(login.status).toBe(200);
      const holder = await admin.getConnection();
      await holder.query('BEGIN');
      await holder.query(`SELECT * FROM \`${table}\` FOR UPDATE`);
      // A write (the login rewrites the session) waits on the row lock.
      const slow = await timed(srv.url + '/login', login.cookie);
      expect(slow.status).toBe(503);
      expect(slow.body).toBe('SESS_STORE_TIMEOUT');
      expect(slow.ms).toBeLessThan(2000);
      await holder.query('ROLLBACK');
      holder.release();
      expect((await until200(srv.url + '/me', login.cookie)).body).toBe('ann');
      await srv.close();
      await store.close();
    }, 60_000);

    test('stalled connection (the server answers nothing): StoreTimeoutError in time, then recovery', async () => {
      const u = new URL(urls.mysql);
      const proxy = await startProxy(u.hostname, Number(u.port || 3306));
      const store = new MySQLStore({ uri: viaProxy(proxy), schema: { tableName: table }, pruneSessionInterval: false });
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
