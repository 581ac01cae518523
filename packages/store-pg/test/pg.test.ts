/** PostgreSQL specifics: identifiers, refused values, table creation, the prune job, pool ownership. */
import { afterAll, describe, expect, test } from '@jest/globals';
import pg from 'pg';
import type { SessionRecord } from '@sess/core';
import { PgStore, quoteIdent } from '@sess/store-pg';
import { serviceTest, urls } from '../../conformance/test/services';
import { rememberMe } from '../../conformance/test/http';

const svc = serviceTest('pg');

const ctx = (ms = 60_000) => ({ expires: new Date(Date.now() + ms) });
const rec = (data: Record<string, unknown> = {}, ms = 60_000): SessionRecord => ({
  cookie: { originalMaxAge: ms, expires: new Date(Date.now() + ms).toISOString(), httpOnly: true, path: '/' },
  ...data,
});

describe('identifiers', () => {
  test('quoted with inner quotes doubled; NUL and empty names refused', () => {
    expect(quoteIdent('session', 'tableName')).toBe('"session"');
    expect(quoteIdent('we"ird', 'tableName')).toBe('"we""ird"');
    expect(() => quoteIdent('a\0b', 'tableName')).toThrow(expect.objectContaining({ code: 'SESS_CONFIG' }));
    expect(() => new PgStore({ tableName: '', pruneSessionInterval: false })).toThrow(expect.objectContaining({ code: 'SESS_CONFIG' }));
  });
});

describe("connect-pg-simple's options", () => {
  test.each(['ttl', 'disableTouch', 'conObject', 'pgPromise', 'pruneSessionRandomizedInterval'])('%s fails at construction with what to do instead', (key) => {
    expect(() => new PgStore({ [key]: 1, pruneSessionInterval: false } as never)).toThrow(expect.objectContaining({ code: 'SESS_CONFIG', message: expect.stringContaining(`"${key}"`) }));
  });

  test('conString is connectionString', async () => {
    const store = new PgStore({ conString: 'postgres://someone@127.0.0.1:5999/db', pruneSessionInterval: false });
    expect((store.pool as unknown as { options: { connectionString: string } }).options.connectionString).toBe('postgres://someone@127.0.0.1:5999/db');
    await store.close();
    expect(() => new PgStore({ conString: 'postgres://a@127.0.0.1/a', connectionString: 'postgres://b@127.0.0.1/b' })).toThrow(expect.objectContaining({ code: 'SESS_CONFIG' }));
    expect(() => new PgStore({ conString: 'postgres://a@127.0.0.1/a', pool: new pg.Pool() })).toThrow(expect.objectContaining({ code: 'SESS_CONFIG' }));
  });
});

if (!svc.available) {
  svc.missing('PgStore specifics');
} else {
  const pool = new pg.Pool({ connectionString: urls.pg, max: 4 });
  const stores: PgStore[] = [];
  const tables: string[] = [];
  afterAll(async () => {
    for (const s of stores) await s.close();
    for (const t of tables) await pool.query(`DROP TABLE IF EXISTS ${t}`);
    await pool.query('DROP SCHEMA IF EXISTS "sess test schema" CASCADE');
    await pool.end();
  });
  const make = (tableName: string, extra: Partial<ConstructorParameters<typeof PgStore>[0]> = {}) => {
    const store = new PgStore({ pool, tableName, createTableIfMissing: true, pruneSessionInterval: false, ...extra });
    stores.push(store);
    tables.push(store.table, store.userTable);
    return store;
  };

  test('several processes creating the tables on first use, each writing at once: no write fails (no DDL deadlock)', async () => {
    // Three app instances started together on a fresh database, each with its own pool, users logging in at once.
    const tableName = `sess_first_use_${process.pid}`;
    const instances = [0, 1, 2].map(() => new PgStore({ connectionString: urls.pg, tableName, createTableIfMissing: true, pruneSessionInterval: false }));
    stores.push(...instances);
    tables.push(instances[0]!.table, instances[0]!.userTable);
    const writes = Array.from({ length: 60 }, (_, i) => instances[i % 3]!.set(`firstuse${String(i).padStart(24, '0')}`, rec({ i }), { ...ctx(), userKey: `u${i % 7}` }));
    const results = await Promise.allSettled(writes);
    expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason?.cause?.message ?? (r as PromiseRejectedResult).reason))).toEqual([]);
    expect(await instances[1]!.length()).toBe(60);
  });

  test('a table name built to inject SQL is only ever a name', async () => {
    const evil = `x"; DROP TABLE "sessvictim"; --`;
    await pool.query('CREATE TABLE IF NOT EXISTS "sessvictim" (id int)');
    tables.push('"sessvictim"');
    const store = make(evil);
    await store.set('abc', rec({ v: 1 }), ctx());
    expect((await store.get('abc'))?.v).toBe(1);
    const { rows } = await pool.query('SELECT to_regclass($1) AS t', ['"sessvictim"']);
    expect(rows[0].t).not.toBeNull();
    const { rows: names } = await pool.query('SELECT to_regclass($1) AS t', [store.table]);
    expect(names[0].t).not.toBeNull();
  });

  test('schemaName: the schema is created and used, quoted', async () => {
    const store = make('sess_in_schema', { schemaName: 'sess test schema' });
    await store.set('abc', rec({ v: 2 }), ctx());
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM "sess test schema"."sess_in_schema"');
    expect(rows[0].n).toBe(1);
  });

  test('ids are validated before any query; ids and data are parameters', async () => {
    const store = make(`sess_ids_${process.pid}`);
    await expect(store.get("x' OR '1'='1")).rejects.toMatchObject({ code: 'SESS_BAD_ID' });
    await store.set('abc', rec({ q: "'); DROP TABLE session; --" }), ctx());
    expect((await store.get('abc'))?.q).toBe("'); DROP TABLE session; --");
  });

  test('a lone surrogate round-trips as data PostgreSQL accepts in json', async () => {
    const store = make(`sess_surrogate_${process.pid}`);
    await store.set('abc', rec({ s: 'a\ud800b' }), ctx());
    expect((await store.get('abc'))?.s).toBe('a\ud800b');
  });

  test('a value PostgreSQL refuses fails that save with a typed error and leaves the stored session intact', async () => {
    const store = make(`sess_refused_${process.pid}`);
    await store.set('abc', rec({ v: 'kept', z: 'a\u0000b' }), ctx());
    // The atomic patch works on the stored JSON server-side, where PostgreSQL refuses \u0000 as text.
    const err = await store.patch('abc', { set: { v: 'new' }, unset: [], cookie: rec().cookie }, ctx()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SESS_BAD_DATA', name: 'BadDataError' });
    expect(String((err as Error).message)).not.toContain('abc');
    const got = await store.get('abc');
    expect(got?.v).toBe('kept');
    expect(got?.z).toBe('a\u0000b');
    // touch keeps working on such a record (it moves only the expiry; no JSON processing)
    const c = ctx(120_000);
    await store.touch('abc', rec({}, 120_000), c);
    const touched = await store.get('abc');
    expect(touched?.v).toBe('kept');
    expect(new Date(touched!.cookie.expires as string).getTime()).toBe(Math.ceil(c.expires.getTime() / 1000) * 1000);
  });

  test('touch moves only expire, as connect-pg-simple does: the stored JSON is kept byte for byte, get reports the new expiry', async () => {
    const store = make(`sess_touch_${process.pid}`);
    await store.init();
    const stored = `{"cookie":{"originalMaxAge":60000,"expires":"${new Date(Date.now() + 60_000).toISOString()}","path":"/"},"b":  [1, 2],"a":{"x":"}"}}`;
    await pool.query(`INSERT INTO ${store.table} (sid, sess, expire) VALUES ('abc', $1, to_timestamp($2))`, [stored, Math.ceil(Date.now() / 1000) + 60]);
    const c = ctx(120_000);
    await store.touch('abc', { cookie: rec({}, 120_000).cookie }, c);
    const { rows } = await pool.query(`SELECT sess::text AS s, extract(epoch from expire::timestamptz) AS e FROM ${store.table} WHERE sid = 'abc'`);
    expect(rows[0].s).toBe(stored);
    expect(Number(rows[0].e)).toBe(Math.ceil(c.expires.getTime() / 1000));
    const got = await store.get('abc');
    expect(got?.cookie.originalMaxAge).toBe(60000);
    expect(got?.cookie.expires).toBe(new Date(Number(rows[0].e) * 1000).toISOString());
    expect(got?.b).toEqual([1, 2]);
    // all() and listUser() report the same expiry
    expect((await store.all())['abc']?.cookie.expires).toBe(got?.cookie.expires);
  });

  test('a row kept alive by expiry-only touches (stored cookie long expired) is live, under any TimeZone', async () => {
    const tzPool = new pg.Pool({ connectionString: urls.pg, max: 1, options: '-c TimeZone=Pacific/Kiritimati' });
    try {
      const store = new PgStore({ pool: tzPool, tableName: `sess_stale_${process.pid}`, createTableIfMissing: true, pruneSessionInterval: false });
      await store.set('abc', rec({ v: 1 }), { ...ctx(), userKey: 'u1' });
      const expire = Math.ceil(Date.now() / 1000) + 600;
      await tzPool.query(`UPDATE ${store.table} SET sess = json_build_object('cookie', json_build_object('originalMaxAge', 60000, 'expires', $1::text, 'path', '/'), 'v', 1), expire = to_timestamp($2)`, [
        new Date(Date.now() - 3_600_000).toISOString(),
        expire,
      ]);
      const got = await store.get('abc');
      expect(got?.v).toBe(1);
      expect(got?.cookie.expires).toBe(new Date(expire * 1000).toISOString());
      expect(Object.keys(await store.all())).toEqual(['abc']);
      const listed = await store.listUser('u1');
      expect(listed.map((s) => s.expiresAt)).toEqual([expire * 1000]);
    } finally {
      await tzPool.end();
    }
  });

  test('a cookie change without a data change ("remember me") is stored, the data untouched', async () => {
    const store = make(`sess_remember_${process.pid}`);
    const { body, stored } = await rememberMe(store, 7_200_000, async () => (await pool.query(`SELECT sess FROM ${store.table}`)).rows[0].sess);
    expect(body).toBe('1');
    expect(stored.count).toBe(1);
    expect((stored.cookie as { originalMaxAge: number }).originalMaxAge).toBeCloseTo(7_200_000, -1);
  });

  test('a missing table is a typed configuration error naming the fix', async () => {
    const store = new PgStore({ pool, tableName: `sess_absent_${process.pid}`, pruneSessionInterval: false });
    await expect(store.get('abc')).rejects.toMatchObject({ code: 'SESS_CONFIG', message: expect.stringContaining('createTableIfMissing') });
  });

  test('createTableIfMissing from many instances at once creates the tables once, and every operation waits for it', async () => {
    const name = `sess_race_${process.pid}`;
    const many = Array.from({ length: 6 }, () => make(name));
    await Promise.all(many.map((s, i) => s.set(`id${i}`, rec({ i }), ctx())));
    expect(await many[0]!.length()).toBe(6);
    const { rows } = await pool.query(`SELECT indexname FROM pg_indexes WHERE tablename = $1 ORDER BY indexname`, [name]);
    expect(rows.map((r) => r.indexname)).toEqual([`IDX_${name}_expire`, `${name}_pkey`]);
  });

  test('the prune job deletes expired rows (and orphaned index rows), and its timer never holds the process', async () => {
    const store = make(`sess_prune_${process.pid}`, { pruneSessionInterval: 3600 });
    const job = (store as unknown as { pruneJob: { handle: NodeJS.Timeout; scheduled: boolean } }).pruneJob;
    expect(job.handle.hasRef()).toBe(false);
    await store.set('live', rec(), { ...ctx(), userKey: 'u1' });
    await store.set('old', rec(), { ...ctx(), userKey: 'u1' });
    await pool.query(`UPDATE ${store.table} SET expire = now() - interval '1 hour' WHERE sid = 'old'`);
    await store.prune();
    const { rows } = await pool.query(`SELECT sid FROM ${store.table} ORDER BY sid`);
    expect(rows.map((r) => r.sid)).toEqual(['live']);
    const { rows: idx } = await pool.query(`SELECT sid FROM ${store.userTable} ORDER BY sid`);
    expect(idx.map((r) => r.sid)).toEqual(['live']);
    await store.close();
    expect(job.scheduled).toBe(false);
  });

  test('a prune run that fails is reported through errorLog and the job goes on', async () => {
    const logged: string[] = [];
    const store = new PgStore({ pool, tableName: `sess_prune_fail_${process.pid}`, pruneSessionInterval: 0.05, errorLog: (m) => logged.push(m) });
    stores.push(store);
    await new Promise((r) => setTimeout(r, 400));
    expect(logged.length).toBeGreaterThanOrEqual(2);
    expect(logged[0]).toContain('pruning');
    await store.close();
  });

  test('close ends a pool the store created, never one it was given', async () => {
    const owned = new PgStore({ connectionString: urls.pg, tableName: `sess_close_${process.pid}`, createTableIfMissing: true, pruneSessionInterval: false });
    tables.push(owned.table, owned.userTable);
    await owned.set('abc', rec(), ctx());
    await owned.close();
    expect((owned.pool as pg.Pool & { ending: boolean }).ending).toBe(true);
    const given = make(`sess_close2_${process.pid}`);
    await given.close();
    expect((await pool.query('SELECT 1 AS one')).rows[0].one).toBe(1);
  });

  test('listUser reports created, last seen and expiry', async () => {
    const store = make(`sess_users_${process.pid}`);
    const record = rec({ __sess: { createdAt: 1_000 } }, 60_000);
    await store.set('abc', record, { expires: new Date(record.cookie.expires as string), userKey: 'ann' });
    const [info] = await store.listUser('ann');
    expect(info).toMatchObject({ id: 'abc', createdAt: 1_000 });
    expect(Math.abs(info!.lastSeenAt! - Date.now())).toBeLessThan(2_000);
    expect(info!.expiresAt).toBe(new Date(record.cookie.expires as string).getTime());
  });
}
