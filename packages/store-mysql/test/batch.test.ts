/**
 * The reads, and the plain writes, of one event-loop turn go to MySQL/MariaDB as one statement each, and each
 * caller gets its own answer: its row, null for a missing or expired id, its own record when two ask for one
 * id; of two writes of one id, the later is kept; a value the server refuses fails only its own write.
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import mysql from 'mysql2/promise';
import type { SessionRecord } from '@sess/core';
import { MySQLStore } from '@sess/store-mysql';
import { serviceTest, urls } from '../../conformance/test/services';

const svc = serviceTest('mysql');

if (!svc.available) {
  svc.missing('MySQLStore batched statements');
} else {
  const pool = mysql.createPool({ uri: urls.mysql });
  const sent: string[] = [];
  // The real pool, recording each statement the store sends through the callback pool under it.
  const raw = (pool as unknown as { pool: { execute: (...a: unknown[]) => unknown } }).pool;
  const execute = raw.execute.bind(raw);
  raw.execute = (...a: unknown[]) => {
    sent.push(String(a[0]));
    return execute(...a);
  };
  const table = `sessbatch_${process.pid}`;
  const store = new MySQLStore({ pool, schema: { tableName: table }, pruneSessionInterval: false });
  afterAll(async () => {
    await pool.query(`DROP TABLE IF EXISTS ${table}, ${table}_users`);
    await store.close();
    await pool.end();
  });
  const rec = (v: number, ms = 60_000): SessionRecord => ({ cookie: { originalMaxAge: ms, expires: new Date(Date.now() + ms).toISOString(), path: '/' }, v }) as unknown as SessionRecord;
  const ctx = (ms = 60_000) => ({ expires: new Date(Date.now() + ms) });
  const v = (r: SessionRecord | null) => (r as unknown as { v: number } | null)?.v;

  describe('one statement per turn', () => {
    test('reads: one statement; each gets its row, null for missing and expired ids, its own record for a shared id', async () => {
      await store.init();
      for (let i = 0; i < 8; i++) await store.set(`id${i}`, rec(i), ctx());
      await store.set('gone', rec(99), ctx());
      await pool.query(`UPDATE ${table} SET expires = UNIX_TIMESTAMP() - 60 WHERE session_id = 'gone'`);
      sent.length = 0;
      const got = await Promise.all([...[...Array(8).keys()].map((i) => store.get(`id${i}`)), store.get('missing'), store.get('gone'), store.get('id3'), store.get('id3')]);
      expect(sent.filter((t) => /^SELECT .* IN \(/.test(t))).toHaveLength(1);
      expect(sent).toHaveLength(1);
      expect(got.slice(0, 8).map(v)).toEqual([...Array(8).keys()]);
      expect(got[8]).toBeNull();
      expect(got[9]).toBeNull();
      expect(v(got[10]!)).toBe(3);
      expect(got[10]).toEqual(got[11]);
      expect(got[10]).not.toBe(got[11]);
    });

    test('writes: one statement; every one stored, the later of two writes of one id kept', async () => {
      sent.length = 0;
      await Promise.all([...[...Array(6).keys()].map((i) => store.set(`w${i}`, rec(100 + i), ctx())), store.set('w2', rec(222), ctx())]);
      expect(sent).toHaveLength(1);
      expect(sent[0]).toMatch(/VALUES \(\?, \?, \?\), \(\?/);
      const got = await Promise.all([...Array(6).keys()].map((i) => store.get(`w${i}`)));
      expect(got.map(v)).toEqual([100, 101, 222, 103, 104, 105]);
    });

    test('awaited one by one: the single-row statements; a value the server refuses fails its own write only', async () => {
      sent.length = 0;
      await store.set('alone', rec(5), ctx());
      expect(v(await store.get('alone'))).toBe(5);
      expect(sent.filter((t) => / IN \(|\), \(/.test(t))).toHaveLength(0);
      await pool.query(`ALTER TABLE ${table} ADD CONSTRAINT small CHECK (length(data) < 200)`);
      try {
        const big = { ...rec(1), pad: 'x'.repeat(300) } as SessionRecord;
        const all = await Promise.allSettled([store.set('f1', rec(1), ctx()), store.set('f2', big, ctx()), store.set('f3', rec(3), ctx())]);
        expect(all.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
        expect(v(await store.get('f1'))).toBe(1);
        expect(await store.get('f2')).toBeNull();
        expect(v(await store.get('f3'))).toBe(3);
      } finally {
        await pool.query(`ALTER TABLE ${table} DROP CONSTRAINT small`);
      }
    });
  });
}
