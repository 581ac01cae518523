/**
 * Switching from connect-pg-simple to this store, or back, keeps every session and cookie: one table
 * served by express-session + connect-pg-simple and by @sess/core + PgStore in turn, under several
 * server TimeZones (expiry is written and compared the same way by both).
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import expressSession from 'express-session';
import connectPgSimple from 'connect-pg-simple';
import pg from 'pg';
import session from '@sess/core';
import { PgStore } from '@sess/store-pg';
import { serviceTest, urls } from '../../conformance/test/services';
import { keptAliveByTouches, switchBackAndForth } from '../../conformance/test/http';

const svc = serviceTest('pg');
const opts = { secret: 'keyboard cat', resave: false, saveUninitialized: false, name: 'sid', cookie: { maxAge: 3_600_000 } };

if (!svc.available) {
  svc.missing('connect-pg-simple migration');
} else {
  const admin = new pg.Pool({ connectionString: urls.pg, max: 2 });
  const pools: pg.Pool[] = [];
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end()));
    await admin.end();
  });
  const PgSession = connectPgSimple(expressSession);

  describe('layout shared with connect-pg-simple', () => {
    test.each([
      ['UTC', 'incumbent'],
      ['UTC', 'sess'],
      ['Pacific/Kiritimati', 'incumbent'],
      ['America/Los_Angeles', 'sess'],
    ])('TimeZone %s, %s first: every session and cookie survive each switch', async (tz, first) => {
      const table = 'session';
      // A schema per case: connect-pg-simple names the primary key "session_pkey" whatever the table is
      // called, and such names are unique per schema.
      const schemaName = `sesscompat_${first}_${tz.replace(/\W/g, '_').toLowerCase()}_${process.pid}`;
      await admin.query(`CREATE SCHEMA "${schemaName}"`);
      const pool = new pg.Pool({ connectionString: urls.pg, options: `-c TimeZone=${tz}` });
      pools.push(pool);
      // connect-pg-simple creates the table from its own table.sql; PgStore adds only its user-index table.
      const incumbent = () => expressSession({ ...opts, store: new PgSession({ pool, schemaName, tableName: table, createTableIfMissing: true, pruneSessionInterval: false }) });
      const ours = () => session({ ...opts, store: new PgStore({ pool, schemaName, tableName: table, createTableIfMissing: true, pruneSessionInterval: false }) });
      const sequence = first === 'incumbent' ? [incumbent, ours, incumbent] : [ours, incumbent, ours];
      await switchBackAndForth(sequence);
      const { rows } = await admin.query(`SELECT sid, sess::text AS sess FROM "${schemaName}"."${table}"`);
      expect(rows).toHaveLength(1);
      const sess = JSON.parse(rows[0].sess);
      expect(rows[0].sess.startsWith('{"cookie":')).toBe(true);
      expect(sess.count).toBe(6);
      expect(sess.name).toBe('Zoë 🍪');
      await admin.query(`DROP SCHEMA "${schemaName}" CASCADE`);
    });

    test('a session kept alive only by touches (stored cookie expired, expire ahead) survives each switch', async () => {
      const tableName = `sesscompat_touch_${process.pid}`;
      const pool = new pg.Pool({ connectionString: urls.pg, options: '-c TimeZone=America/Los_Angeles' });
      pools.push(pool);
      await new PgStore({ pool, tableName, createTableIfMissing: true, pruneSessionInterval: false }).init();
      const cookie = (maxAge: number) => ({ ...opts, cookie: { maxAge } });
      await keptAliveByTouches(
        (maxAge) => expressSession({ ...cookie(maxAge), store: new PgSession({ pool, tableName, pruneSessionInterval: false }) }),
        (maxAge) => session({ ...cookie(maxAge), store: new PgStore({ pool, tableName, pruneSessionInterval: false }) }),
      );
      await admin.query(`DROP TABLE "${tableName}", "${tableName}_by_user"`);
    });

    test('expire holds what connect-pg-simple writes: to_timestamp of the cookie expiry in whole seconds, rounded up', async () => {
      const table = `sesscompat_expire_${process.pid}`;
      const pool = new pg.Pool({ connectionString: urls.pg, options: '-c TimeZone=Asia/Kathmandu' });
      pools.push(pool);
      const ours = new PgStore({ pool, tableName: table, createTableIfMissing: true, pruneSessionInterval: false });
      const theirs = new PgSession({ pool, tableName: table, pruneSessionInterval: false });
      const expires = new Date(Date.now() + 60_000 + 123);
      const record = { cookie: { originalMaxAge: 60_000, expires: expires.toISOString(), httpOnly: true, path: '/' }, v: 1 };
      await ours.set('oursid', record, { expires });
      await new Promise<void>((resolve, reject) => theirs.set('theirsid', record, (err: unknown) => (err ? reject(err) : resolve())));
      const { rows } = await pool.query(`SELECT sid, expire::text AS e FROM "${table}" ORDER BY sid`);
      expect(rows[0].e).toBe(rows[1].e);
      const got = await new Promise<unknown>((resolve, reject) => theirs.get('oursid', (err: unknown, s: unknown) => (err ? reject(err) : resolve(s))));
      expect(got).toEqual(record);
      expect(await ours.get('theirsid')).toEqual(record);
      await pool.query(`DROP TABLE "${table}", "${table}_by_user"`);
    });
  });
}
