/**
 * Failure: PostgreSQL unreachable at start, gone mid-traffic (a proxy in front of the real server drops
 * every connection and refuses new ones), or slow (a lock held by another connection). Requests get
 * typed errors within the store timeout, never hang, and the pool recovers by itself.
 */
import { afterAll, describe, test } from '@jest/globals';
import pg from 'pg';
import { PgStore } from '@sess/store-pg';
import { serviceTest, urls } from '../../conformance/test/services';
import { blockedBackendTest, proxyFailureTests } from '../../conformance/test/failures';

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
    proxyFailureTests({ url: urls.pg, defaultPort: 5432, make: (url) => new PgStore({ connectionString: url, tableName: table, createTableIfMissing: true, pruneSessionInterval: false }) });
    test('slow (the table locked by another connection): StoreTimeoutError within storeTimeout, then normal service', async () => {
      const store = new PgStore({ connectionString: urls.pg, tableName: table, createTableIfMissing: true, pruneSessionInterval: false });
      await blockedBackendTest(store, '/me', async () => {
        const holder = await admin.connect();
        await holder.query('BEGIN');
        await holder.query(`LOCK TABLE "${table}" IN ACCESS EXCLUSIVE MODE`);
        return async () => {
          await holder.query('ROLLBACK');
          holder.release();
        };
      });
    }, 60_000);
  });
}
