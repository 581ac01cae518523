/**
 * Failure: MySQL / MariaDB unreachable at start, killed mid-traffic (a proxy in front of the real server
 * resets every connection and refuses new ones), or stalled (the proxy forwards nothing). Requests get
 * typed errors within the store timeout, never hang, and the pool recovers by itself.
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import mysql from 'mysql2/promise';
import { MySQLStore } from '@sess/store-mysql';
import { serviceTest, urls } from '../../conformance/test/services';
import { startProxy } from '../../conformance/test/proxy';
import { failureApp as app, serve, timed, until200, viaProxy } from '../../conformance/test/http';

const svc = serviceTest('mysql');
const table = `sess_failure_${process.pid}`;

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
      const store = new MySQLStore({ uri: viaProxy(urls.mysql, proxy), schema: { tableName: table }, pruneSessionInterval: false });
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
      const store = new MySQLStore({ uri: viaProxy(urls.mysql, proxy), schema: { tableName: table }, pruneSessionInterval: false });
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
      const store = new MySQLStore({ uri: viaProxy(urls.mysql, proxy), schema: { tableName: table }, pruneSessionInterval: false });
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
