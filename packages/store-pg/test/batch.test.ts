/**
 * The reads, and the plain writes, of one event-loop turn go to PostgreSQL as one statement each (on one
 * connection), and each caller gets its own answer: its row, null for a missing or expired id, its own copy
 * when two ask for one id; of two writes of one id, the later is kept.
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import pg from 'pg';
import type { SessionRecord } from '@sess/core';
import { PgStore } from '@sess/store-pg';
import { serviceTest, urls } from '../../conformance/test/services';

const svc = serviceTest('pg');

if (!svc.available) {
  svc.missing('PgStore batched reads');
} else {
  const pool = new pg.Pool({ connectionString: urls.pg });
  const sent: string[] = [];
  const query = pool.query.bind(pool) as (...a: unknown[]) => Promise<unknown>;
  // The real pool, recording each statement the store sends through it.
  (pool as unknown as { query: (...a: unknown[]) => Promise<unknown> }).query = (...a: unknown[]) => {
    const q = a[0] as string | { text: string };
    sent.push(typeof q === 'string' ? q : q.text);
    return query(...a);
  };
  const table = `sessreads_${process.pid}`;
  const store = new PgStore({ pool, tableName: table, createTableIfMissing: true, pruneSessionInterval: false });
  afterAll(async () => {
    await query(`DROP TABLE IF EXISTS ${table}, ${table}_users`);
    await store.close();
    await pool.end();
  });
  const rec = (v: number, ms = 60_000): SessionRecord => ({ cookie: { originalMaxAge: ms, expires: new Date(Date.now() + ms).toISOString(), path: '/' }, v }) as unknown as SessionRecord;
  const ctx = (ms = 60_000) => ({ expires: new Date(Date.now() + ms) });
  const v = (r: SessionRecord | null) => (r as unknown as { v: number } | null)?.v;

  describe('reads in one turn', () => {
    test('one statement for all of them; each gets its row, null for missing and expired ids, its own copy of a shared id', async () => {
      for (let i = 0; i < 8; i++) await store.set(`id${i}`, rec(i), ctx());
      await store.set('gone', rec(99, 1000), ctx(1000));
      await query(`UPDATE ${table} SET expire = now() - interval '1 minute' WHERE sid = 'gone'`);
      sent.length = 0;
      const got = await Promise.all([...[...Array(8).keys()].map((i) => store.get(`id${i}`)), store.get('missing'), store.get('gone'), store.get('id3'), store.get('id3')]);
      expect(sent.filter((t) => /ANY\(\$1/.test(t))).toHaveLength(1);
      expect(sent.filter((t) => /^SELECT sess::text/.test(t))).toHaveLength(0);
      expect(got.slice(0, 8).map(v)).toEqual([...Array(8).keys()]);
      expect(got[8]).toBeNull();
      expect(got[9]).toBeNull();
      expect(v(got[10]!)).toBe(3);
      expect(got[10]).toEqual(got[11]);
      expect(got[10]).not.toBe(got[11]);
      expect(got[10]).not.toBe(got[3]);
    });

    test('a read sees a write that completed before it was asked for, and reads awaited one by one each send the single-row statement', async () => {
      await store.set('w', rec(1), ctx());
      sent.length = 0;
      const first = store.get('w');
      await store.set('w', rec(2), ctx()).catch(() => undefined);
      expect(v(await store.get('w'))).toBe(2);
      await first;
      sent.length = 0;
      for (let i = 0; i < 3; i++) expect(v(await store.get(`id${i}`))).toBe(i);
      expect(sent.filter((t) => /^SELECT sess::text/.test(t))).toHaveLength(3);
    });

    test('a failed statement fails every read of its turn, and the next turn works', async () => {
      const broken = new PgStore({ pool, tableName: `sessreads_missing_${process.pid}`, pruneSessionInterval: false });
      const all = await Promise.allSettled([broken.get('a'), broken.get('b'), broken.get('a')]);
      expect(all.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
      expect(v(await store.get('id1'))).toBe(1);
    });
  });

  describe('writes in one turn', () => {
    test('one statement for all of them; every one is stored, and of two writes of one id the later is kept', async () => {
      sent.length = 0;
      await Promise.all([...[...Array(6).keys()].map((i) => store.set(`w${i}`, rec(100 + i), ctx())), store.set('w2', rec(222), ctx())]);
      expect(sent.filter((t) => /unnest/.test(t))).toHaveLength(1);
      expect(sent.filter((t) => /^INSERT/.test(t))).toHaveLength(1);
      const got = await Promise.all([...Array(6).keys()].map((i) => store.get(`w${i}`)));
      expect(got.map(v)).toEqual([100, 101, 222, 103, 104, 105]);
    });

    test('a write awaited alone sends the single-row statement; a value PostgreSQL refuses fails its own write only', async () => {
      sent.length = 0;
      await store.set('alone', rec(5), ctx());
      expect(sent.filter((t) => /unnest/.test(t))).toHaveLength(0);
      expect(v(await store.get('alone'))).toBe(5);
      await query(`ALTER TABLE ${table} ADD CONSTRAINT small CHECK (length(sess::text) < 200)`);
      try {
        const big = { ...rec(1), pad: 'x'.repeat(300) } as SessionRecord;
        const all = await Promise.allSettled([store.set('f1', rec(1), ctx()), store.set('f2', big, ctx()), store.set('f3', rec(3), ctx())]);
        expect(all.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
        expect(v(await store.get('f1'))).toBe(1);
        expect(await store.get('f2')).toBeNull();
        expect(v(await store.get('f3'))).toBe(3);
      } finally {
        await query(`ALTER TABLE ${table} DROP CONSTRAINT small`);
      }
    });
  });
}
