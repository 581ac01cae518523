/**
 * Switching from express-mysql-session to this store, or back, keeps every session and cookie: one
 * table served by express-session + express-mysql-session and by @sess/core + MySQLStore in turn.
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import expressSession from 'express-session';
import createMySQLSession from 'express-mysql-session';
import mysql from 'mysql2/promise';
import mysqlCallback from 'mysql2';
import session from '@sess/core';
import { MySQLStore } from '@sess/store-mysql';
import { serviceTest, urls } from '../../conformance/test/services';
import { keptAliveByTouches, switchBackAndForth } from '../../conformance/test/http';

const svc = serviceTest('mysql');
const opts = { secret: 'keyboard cat', resave: false, saveUninitialized: false, name: 'sid', cookie: { maxAge: 3_600_000 } };

if (!svc.available) {
  svc.missing('express-mysql-session migration');
} else {
  const admin = mysql.createPool({ uri: urls.mysql, connectionLimit: 2 });
  // express-mysql-session takes a callback pool (it calls pool.query with a callback).
  const callbackPool = mysqlCallback.createPool({ uri: urls.mysql });
  afterAll(async () => {
    await new Promise((r) => callbackPool.end(r));
    await admin.end();
  });
  const MySQLSession = createMySQLSession(expressSession);

  describe('layout shared with express-mysql-session', () => {
    test.each([['incumbent'], ['sess']])('%s first: every session and cookie survive each switch', async (first) => {
      const tableName = `sesscompat_${first}_${process.pid}`;
      const schema = { tableName };
      // express-mysql-session creates its table in the background and does not make get/set wait for it
      // (the first save can fail unseen); the test waits for it. MySQLStore's operations wait by themselves.
      const incumbent = async () => {
        const store = new MySQLSession({ schema, clearExpired: false, endConnectionOnClose: false }, callbackPool);
        await store.onReady();
        return expressSession({ ...opts, store });
      };
      const ours = async () => session({ ...opts, store: new MySQLStore({ pool: callbackPool, schema, pruneSessionInterval: false }) });
      const sequence = first === 'incumbent' ? [incumbent, ours, incumbent] : [ours, incumbent, ours];
      await switchBackAndForth(sequence);
      const [rows] = await admin.query<mysql.RowDataPacket[]>(`SELECT session_id, expires, data FROM \`${tableName}\``);
      expect(rows).toHaveLength(1);
      expect(String(rows[0]!.data).startsWith('{"cookie":')).toBe(true);
      const data = JSON.parse(rows[0]!.data);
      expect(data.count).toBe(6);
      expect(data.name).toBe('Zoë 🍪');
      const expiresAt = new Date(data.cookie.expires).getTime() / 1000;
      expect(Math.abs(rows[0]!.expires - expiresAt)).toBeLessThanOrEqual(1);
      await admin.query(`DROP TABLE IF EXISTS \`${tableName}\`, \`${tableName}_by_user\``);
    });

    test('a session kept alive only by touches (stored cookie expired, expires ahead) survives each switch', async () => {
      const schema = { tableName: `sesscompat_touch_${process.pid}` };
      const theirs = new MySQLSession({ schema, clearExpired: false, endConnectionOnClose: false }, callbackPool);
      await theirs.onReady();
      const ours = new MySQLStore({ pool: callbackPool, schema, pruneSessionInterval: false });
      await keptAliveByTouches(
        (maxAge) => expressSession({ ...opts, cookie: { maxAge }, store: theirs }),
        (maxAge) => session({ ...opts, cookie: { maxAge }, store: ours }),
      );
      await admin.query(`DROP TABLE IF EXISTS \`${schema.tableName}\`, \`${schema.tableName}_by_user\``);
    });

    test('custom table and column names are shared the same way', async () => {
      const schema = { tableName: `sesscompat_cols_${process.pid}`, columnNames: { session_id: 'sid', expires: 'exp', data: 'sess' } };
      const theirs = new MySQLSession({ schema, clearExpired: false, endConnectionOnClose: false }, callbackPool);
      await theirs.onReady();
      const ours = new MySQLStore({ pool: callbackPool, schema, pruneSessionInterval: false });
      const expires = new Date(Date.now() + 60_000);
      const record = { cookie: { originalMaxAge: 60_000, expires: expires.toISOString(), httpOnly: true, path: '/' }, v: '𝄞' };
      await ours.set('oursid', record, { expires });
      await new Promise<void>((resolve, reject) => theirs.set('theirsid', record, (err: unknown) => (err ? reject(err) : resolve())));
      const got = await new Promise<unknown>((resolve, reject) => theirs.get('oursid', (err: unknown, s: unknown) => (err ? reject(err) : resolve(s))));
      expect(got).toEqual(record);
      expect(await ours.get('theirsid')).toEqual(record);
      await admin.query(`DROP TABLE \`${schema.tableName}\``);
    });
  });
}
