/** PostgreSQL specifics: identifiers, refused values, table creation, the prune job, pool ownership. */
import { afterAll, describe, expect, test } from '@jest/globals';
import pg from 'pg';
import type { SessionRecord } from '@sess/core';
import { PgStore, quoteIdent } from '@sess/store-pg';
import { serviceTest, urls } from '../../conformance/test/services';

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
    // touch keeps working on such a record (a text splice, no JSON processing)
    await store.touch('abc', rec({}, 120_000), ctx(120_000));
    expect((await store.get('abc'))?.cookie.originalMaxAge).toBe(120_000);
  });

  test('touch changes the expiry and the cookie only; the rest of the stored JSON is kept byte for byte', async () => {
    const store = make(`sess_touch_${process.pid}`);
    await store.init();
    await pool.query(`INSERT INTO ${store.table} (sid, sess, expire) VALUES ('abc', $1, to_timestamp($2))`, [
      `{"cookie":{"originalMaxAge":60000,"expires":"${new Date(Date.now() + 60_000).toISOString()}","path":"/"},"b":  [1, 2],"a":{"x":"}"}}`,
      Math.ceil(Date.now() / 1000) + 60,
    ]);
    const cookie = rec({}, 120_000).cookie;
    await store.touch('abc', { cookie }, ctx(120_000));
    const { rows } = await pool.query(`SELECT sess::text AS s FROM ${store.table} WHERE sid = 'abc'`);
    expect(rows[0].s).toBe(`{"cookie":${JSON.stringify(cookie)},"b":  [1, 2],"a":{"x":"}"}}`);
    // A record that does not start with a flat cookie is rebuilt key by key, in its stored order.
    await pool.query(`UPDATE ${store.table} SET sess = $1 WHERE sid = 'abc'`, [`{"a":1,"cookie":{"path":"/{\\"}"},"z":2}`]);
    await store.touch('abc', { cookie }, ctx(120_000));
    const after = JSON.parse((await pool.query(`SELECT sess::text AS s FROM ${store.table} WHERE sid = 'abc'`)).rows[0].s);
    expect(Object.keys(after)).toEqual(['a', 'cookie', 'z']);
    expect(after.cookie).toEqual(JSON.parse(JSON.stringify(cookie)));
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
