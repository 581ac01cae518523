/**
 * Failure: MySQL / MariaDB unreachable at start, killed mid-traffic (a proxy in front of the real server
 * resets every connection and refuses new ones), or stalled (the proxy forwards nothing). Requests get
 * typed errors within the store timeout, never hang, and the pool recovers by itself.
 */
import { afterAll, describe, test } from '@jest/globals';
import mysql from 'mysql2/promise';
import { MySQLStore } from '@sess/store-mysql';
import { serviceTest, urls } from '../../conformance/test/services';
import { blockedBackendTest, proxyFailureTests } from '../../conformance/test/failures';

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
    proxyFailureTests({ url: urls.mysql, defaultPort: 3306, make: (url) => new MySQLStore({ uri: url, schema: { tableName: table }, pruneSessionInterval: false }) });
    test('slow (the table locked by another connection): StoreTimeoutError within storeTimeout, then normal service', async () => {
      const store = new MySQLStore({ uri: urls.mysql, schema: { tableName: table }, pruneSessionInterval: false });
      // Another connection holds the table's write lock: even the read of the session waits on it.
      await blockedBackendTest(store, '/me', async () => {
        const holder = await admin.getConnection();
        await holder.query(`LOCK TABLES \`${table}\` WRITE`);
        return async () => {
          await holder.query('UNLOCK TABLES');
          holder.release();
        };
      });
    }, 60_000);
  });
}
