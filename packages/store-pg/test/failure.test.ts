/**
 * Failure: PostgreSQL unreachable at start, gone mid-traffic (a proxy in front of the real server drops
 * every connection and refuses new ones), or slow (a lock held by another connection). Requests get
 * typed errors within the store timeout, never hang, and the pool recovers by itself.
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import pg from 'pg';
import { PgStore } from '@sess/store-pg';
import { serviceTest, urls } from '../../conformance/test/services';
import { startProxy } from '../../conformance/test/proxy';
import { failureApp as app, serve, timed, until200, viaProxy } from '../../conformance/test/http';

const svc = serviceTest('pg');
const table = `sess_failure_${process.pid}`;

if (!svc.available) {
  svc.missing('PgStore failure tests');
} else {
  const admin = new pg.Pool({ connectionString: urls.pg, max: 2 });
  afterAll(async () => {
    await admin.query(`DROP TABLE IF EXISTS "${table}", "${table}_by_user"`);
    await admin.end();
  });

  describe('PostgreSQL failures give typed errors in time, then recovery', () => {
    test('down at start, then up: 503 within the store timeout, then it works without a restart', async () => {
      const u = new URL(urls.pg);
      const proxy = await startProxy(u.hostname, Number(u.port || 5432), true);
      const store = new PgStore({ connectionString: viaProxy(urls.pg, proxy), tableName: table, createTableIfMissing: true, pruneSessionInterval: false });
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
      const u = new URL(urls.pg);
      const proxy = await startProxy(u.hostname, Number(u.port || 5432));
      const store = new PgStore({ connectionString: viaProxy(urls.pg, proxy), tableName: table, createTableIfMissing: true, pruneSessionInterval: false });
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

    test('slow (the table locked by another connection): StoreTimeoutError within storeTimeout, then normal service', async () => {
      const store = new PgStore({ connectionString: urls.pg, tableName: table, createTableIfMissing: true, pruneSessionInterval: false });
      const srv = await serve(app(store));
      const login = await timed(srv.url + '/login');
      expect(login.status).toBe(200);
      const holder = await admin.connect();
      await holder.query('BEGIN');
      await holder.query(`LOCK TABLE "${table}" IN ACCESS EXCLUSIVE MODE`);
      const slow = await timed(srv.url + '/me', login.cookie);
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
      const u = new URL(urls.pg);
      const proxy = await startProxy(u.hostname, Number(u.port || 5432));
      const store = new PgStore({ connectionString: viaProxy(urls.pg, proxy), tableName: table, createTableIfMissing: true, pruneSessionInterval: false });
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
