/** MySQL / MariaDB specifics: identifiers, sizes, table creation, the prune job, pool ownership. */
import { afterAll, describe, expect, test } from '@jest/globals';
import mysql from 'mysql2/promise';
import type { SessionRecord } from '@sess/core';
import { MySQLStore, quoteIdent } from '@sess/store-mysql';
import { serviceTest, urls } from '../../conformance/test/services';
import { rememberMe } from '../../conformance/test/http';

const svc = serviceTest('mysql');

const ctx = (ms = 60_000) => ({ expires: new Date(Date.now() + ms) });
const rec = (data: Record<string, unknown> = {}, ms = 60_000): SessionRecord => ({
  cookie: { originalMaxAge: ms, expires: new Date(Date.now() + ms).toISOString(), httpOnly: true, path: '/' },
  ...data,
});

describe('identifiers', () => {
  test('quoted with inner backticks doubled; NUL, empty, over-long and unknown columns refused', () => {
    expect(quoteIdent('sessions', 'tableName')).toBe('`sessions`');
    expect(quoteIdent('we`ird', 'tableName')).toBe('`we``ird`');
    for (const bad of ['', 'a\0b', 'x'.repeat(65)]) expect(() => quoteIdent(bad, 'tableName')).toThrow(expect.objectContaining({ code: 'SESS_CONFIG' }));
    expect(() => new MySQLStore({ schema: { columnNames: { nope: 'x' } as never }, pruneSessionInterval: false })).toThrow(expect.objectContaining({ code: 'SESS_CONFIG' }));
  });
});

describe("express-mysql-session's options", () => {
  const prune = (s: MySQLStore) => (s as unknown as { pruneJob: { intervalMs: number } | null }).pruneJob;

  test.each(['expiration', 'disableTouch'])('%s fails at construction with what to do instead', (key) => {
    expect(() => new MySQLStore({ [key]: 1, pruneSessionInterval: false } as never)).toThrow(expect.objectContaining({ code: 'SESS_CONFIG', message: expect.stringContaining(`"${key}"`) }));
  });

  test('clearExpired: false disables the prune job; checkExpirationInterval is its interval in ms', async () => {
    const off = new MySQLStore({ clearExpired: false });
    expect(prune(off)).toBeNull();
    const every = new MySQLStore({ checkExpirationInterval: 60_000 });
    expect(prune(every)?.intervalMs).toBe(60_000);
    await Promise.all([off.close(), every.close()]);
    expect(() => new MySQLStore({ checkExpirationInterval: 1000, pruneSessionInterval: 1 })).toThrow(expect.objectContaining({ code: 'SESS_CONFIG' }));
  });

  test('endConnectionOnClose is accepted only when it says what the store does', async () => {
    const owned = new MySQLStore({ endConnectionOnClose: true, pruneSessionInterval: false });
    await owned.close();
    expect(() => new MySQLStore({ endConnectionOnClose: false, pruneSessionInterval: false })).toThrow(expect.objectContaining({ code: 'SESS_CONFIG' }));
    const given = mysql.createPool({ uri: 'mysql://root@127.0.0.1:3306/test' });
    expect(() => new MySQLStore({ pool: given, endConnectionOnClose: true, pruneSessionInterval: false })).toThrow(expect.objectContaining({ code: 'SESS_CONFIG' }));
    expect(() => new MySQLStore({ pool: given, host: '127.0.0.1', pruneSessionInterval: false })).toThrow(expect.objectContaining({ code: 'SESS_CONFIG' }));
    await given.end();
  });
});

if (!svc.available) {
  svc.missing('MySQLStore specifics');
} else {
  const pool = mysql.createPool({ uri: urls.mysql, connectionLimit: 4 });
  const stores: MySQLStore[] = [];
  const tables: string[] = [];
  afterAll(async () => {
    for (const s of stores) await s.close();
    for (const t of tables) await pool.query(`DROP TABLE IF EXISTS ${t}`);
    await pool.end();
  });
  const make = (tableName: string, extra: Partial<ConstructorParameters<typeof MySQLStore>[0]> = {}) => {
    const store = new MySQLStore({ pool, schema: { tableName }, pruneSessionInterval: false, ...extra });
    stores.push(store);
    tables.push(store.table, store.userTable);
    return store;
  };
  const rows = async (sql: string, values: unknown[] = []) => (await pool.query<mysql.RowDataPacket[]>(sql, values))[0];

  test('several processes creating the tables on first use, each writing at once: no write fails', async () => {
    const tableName = `sess_first_use_${process.pid}`;
    const instances = [0, 1, 2].map(() => make(tableName, { uri: urls.mysql, pool: undefined } as never));
    const writes = Array.from({ length: 60 }, (_, i) => instances[i % 3]!.set(`firstuse${String(i).padStart(24, '0')}`, rec({ i }), { ...ctx(), userKey: `u${i % 7}` }));
    const results = await Promise.allSettled(writes);
    expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason?.cause?.message ?? (r as PromiseRejectedResult).reason))).toEqual([]);
    expect(await instances[1]!.length()).toBe(60);
  });

  test('a table name built to inject SQL is only ever a name', async () => {
    await pool.query('CREATE TABLE IF NOT EXISTS `sessvictim` (id int)');
    tables.push('`sessvictim`');
    const store = make('x`; DROP TABLE `sessvictim`; --');
    await store.set('abc', rec({ v: 1 }), ctx());
    expect((await store.get('abc'))?.v).toBe(1);
    expect(await rows("SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'sessvictim'")).toEqual([{ n: 1 }]);
  });

  test('ids are validated before any query; ids and data are parameters', async () => {
    const store = make(`sess_ids_${process.pid}`);
    await expect(store.get("x' OR '1'='1")).rejects.toMatchObject({ code: 'SESS_BAD_ID' });
    await store.set('abc', rec({ q: "'); DROP TABLE sessions; --" }), ctx());
    expect((await store.get('abc'))?.q).toBe("'); DROP TABLE sessions; --");
  });

  test('the table: express-mysql-session columns, utf8mb4, and an index on expires', async () => {
    const name = `sess_shape_${process.pid}`;
    const store = make(name);
    await store.init();
    const cols = await rows('SELECT COLUMN_NAME AS c, COLUMN_TYPE AS t, CHARACTER_SET_NAME AS cs FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION', [name]);
    expect(cols).toEqual([
      { c: 'session_id', t: 'varchar(128)', cs: 'utf8mb4' },
      { c: 'expires', t: 'int(11) unsigned', cs: null },
      { c: 'data', t: 'mediumtext', cs: 'utf8mb4' },
    ]);
    const idx = await rows('SELECT INDEX_NAME AS i, COLUMN_NAME AS c FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY INDEX_NAME', [name]);
    expect(idx).toEqual([{ i: 'expires', c: 'expires' }, { i: 'PRIMARY', c: 'session_id' }]);
  });

  test('4-byte characters round-trip, in data and as the stored text', async () => {
    const store = make(`sess_utf8_${process.pid}`);
    await store.set('abc', rec({ s: '𝄞 🍪 Zoë' }), ctx());
    expect((await store.get('abc'))?.s).toBe('𝄞 🍪 Zoë');
    expect(String((await rows(`SELECT data FROM ${store.table} WHERE session_id = 'abc'`))[0]!.data)).toContain('𝄞 🍪 Zoë');
  });

  test('a record over the column size fails with a typed error before any write; the stored session is intact', async () => {
    const name = `sess_small_${process.pid}`;
    await pool.query(`CREATE TABLE \`${name}\` (session_id varchar(128) COLLATE utf8mb4_bin NOT NULL PRIMARY KEY, expires int(11) unsigned NOT NULL, data text COLLATE utf8mb4_bin) DEFAULT CHARSET=utf8mb4`);
    const store = make(name);
    await store.set('abc', rec({ v: 'kept' }), ctx());
    // 20k four-byte characters: 80 KB, over a text column's 64 KB.
    await expect(store.set('abc', rec({ v: '🍪'.repeat(20_000) }), ctx())).rejects.toMatchObject({ code: 'SESS_TOO_LARGE' });
    expect((await store.get('abc'))?.v).toBe('kept');
    // The default mediumtext: 16 MB.
    const big = make(`sess_big_${process.pid}`);
    await big.set('abc', rec({ v: 'kept' }), ctx());
    await expect(big.set('abc', rec({ v: 'x'.repeat(16_777_216) }), ctx())).rejects.toMatchObject({ code: 'SESS_TOO_LARGE' });
    expect((await big.get('abc'))?.v).toBe('kept');
  });

  test('touch moves only expires, as express-mysql-session does: the stored JSON is kept byte for byte, get reports the new expiry', async () => {
    const store = make(`sess_touch_${process.pid}`);
    await store.init();
    const body = `{"cookie":{"originalMaxAge":60000,"expires":"${new Date(Date.now() + 60_000).toISOString()}","path":"/"},"b":  [1, 2],"a":{"x":"}"}}`;
    await pool.query(`INSERT INTO ${store.table} (session_id, expires, data) VALUES ('abc', ?, ?)`, [Math.ceil(Date.now() / 1000) + 60, body]);
    const c = ctx(120_000);
    await store.touch('abc', { cookie: rec({}, 120_000).cookie }, c);
    const [row] = await rows(`SELECT data, expires FROM ${store.table} WHERE session_id = 'abc'`);
    expect(row!.data).toBe(body);
    expect(row!.expires).toBe(Math.ceil(c.expires.getTime() / 1000));
    const got = await store.get('abc');
    expect(got?.cookie.originalMaxAge).toBe(60000);
    expect(got?.cookie.expires).toBe(new Date(row!.expires * 1000).toISOString());
    expect((await store.all())['abc']?.cookie.expires).toBe(got?.cookie.expires);
  });

  test('a row kept alive by expiry-only touches (stored cookie long expired) is live, and can be patched', async () => {
    const store = make(`sess_stale_${process.pid}`);
    await store.set('abc', rec({ v: 1 }), { ...ctx(), userKey: 'u1' });
    const expires = Math.ceil(Date.now() / 1000) + 600;
    const stale = rec({ v: 1, __sessUser: 'u1' });
    stale.cookie.expires = new Date(Date.now() - 3_600_000).toISOString();
    await pool.query(`UPDATE ${store.table} SET data = ?, expires = ?`, [JSON.stringify(stale), expires]);
    const got = await store.get('abc');
    expect(got?.v).toBe(1);
    expect(got?.cookie.expires).toBe(new Date(expires * 1000).toISOString());
    expect(Object.keys(await store.all())).toEqual(['abc']);
    expect((await store.listUser('u1')).map((s) => s.id)).toEqual(['abc']);
    expect(await store.patch('abc', { set: { v: 2 }, unset: [], cookie: rec().cookie }, ctx())).toBe(true);
    expect((await store.get('abc'))?.v).toBe(2);
  });

  test('a cookie change without a data change ("remember me") is stored, the data untouched', async () => {
    const store = make(`sess_remember_${process.pid}`);
    const { body, stored } = await rememberMe(store, 7_200_000, async () => JSON.parse((await rows(`SELECT data FROM ${store.table}`))[0]!.data));
    expect(body).toBe('1');
    expect(stored.count).toBe(1);
    expect((stored.cookie as { originalMaxAge: number }).originalMaxAge).toBeCloseTo(7_200_000, -1);
  });

  test('every operation waits for the table; a missing table without createDatabaseTable is a typed error naming the fix', async () => {
    const name = `sess_race_${process.pid}`;
    const many = Array.from({ length: 6 }, () => make(name));
    await Promise.all(many.map((s, i) => s.set(`id${i}`, rec({ i }), ctx())));
    expect(await many[0]!.length()).toBe(6);
    const absent = new MySQLStore({ pool, schema: { tableName: `sess_absent_${process.pid}` }, createDatabaseTable: false, pruneSessionInterval: false });
    await expect(absent.get('abc')).rejects.toMatchObject({ code: 'SESS_CONFIG', message: expect.stringContaining('createDatabaseTable') });
  });

  test('the prune job deletes expired rows (and orphaned index rows), and its timer never holds the process', async () => {
    const store = make(`sess_prune_${process.pid}`, { pruneSessionInterval: 3600 });
    const job = (store as unknown as { pruneJob: { handle: NodeJS.Timeout; scheduled: boolean } }).pruneJob;
    expect(job.handle.hasRef()).toBe(false);
    await store.set('live', rec(), { ...ctx(), userKey: 'u1' });
    await store.set('old', rec(), { ...ctx(), userKey: 'u1' });
    await pool.query(`UPDATE ${store.table} SET expires = ? WHERE session_id = 'old'`, [Math.floor(Date.now() / 1000) - 3600]);
    await store.prune();
    expect((await rows(`SELECT session_id FROM ${store.table}`)).map((r) => r.session_id)).toEqual(['live']);
    expect((await rows(`SELECT session_id FROM ${store.userTable}`)).map((r) => r.session_id)).toEqual(['live']);
    await store.close();
    expect(job.scheduled).toBe(false);
  });

  test('prune removes more expired rows than one statement takes (1,000 a statement), and only those', async () => {
    const store = make(`sess_prune_many_${process.pid}`);
    await store.init();
    const past = Math.floor(Date.now() / 1000) - 3600;
    const future = Math.floor(Date.now() / 1000) + 3600;
    const values: unknown[] = [];
    for (let i = 0; i < 2_500; i++) values.push([`old_${i}`, past, '{"cookie":{"originalMaxAge":null}}']);
    for (let i = 0; i < 30; i++) values.push([`live_${i}`, future, '{"cookie":{"originalMaxAge":null}}']);
    await pool.query(`INSERT INTO ${store.table} (session_id, expires, data) VALUES ?`, [values]);
    const statements: string[] = [];
    const watched = (store as unknown as { run: (text: string, v: unknown[]) => Promise<unknown> });
    const run = watched.run.bind(store);
    watched.run = (text, v) => {
      statements.push(text);
      return run(text, v);
    };
    expect(await store.prune()).toBe(2_500);
    expect(statements.filter((t) => t.startsWith('DELETE FROM') && t.includes('LIMIT 1000'))).toHaveLength(3);
    expect((await rows(`SELECT COUNT(*) AS n FROM ${store.table}`))[0]!.n).toBe(30);
    expect(await store.prune()).toBe(0);
  });

  test('a prune run that fails is reported through errorLog and the job goes on', async () => {
    const logged: string[] = [];
    const store = new MySQLStore({ pool, schema: { tableName: `sess_prune_fail_${process.pid}` }, createDatabaseTable: false, pruneSessionInterval: 0.05, errorLog: (m) => logged.push(m) });
    stores.push(store);
    await new Promise((r) => setTimeout(r, 400));
    expect(logged.length).toBeGreaterThanOrEqual(2);
    expect(logged[0]).toContain('pruning');
  });

  test('connection options (host, user, …) as express-mysql-session takes them: the store creates and owns the pool', async () => {
    const u = new URL(urls.mysql);
    const store = new MySQLStore({
      host: u.hostname,
      port: Number(u.port || 3306),
      user: decodeURIComponent(u.username),
      password: decodeURIComponent(u.password),
      database: u.pathname.slice(1),
      schema: { tableName: `sess_conn_${process.pid}` },
      pruneSessionInterval: false,
    });
    tables.push(store.table, store.userTable);
    await store.set('abc', rec({ v: '𝄞' }), ctx());
    expect((await store.get('abc'))?.v).toBe('𝄞');
    await store.close();
    await expect(store.pool.query('SELECT 1')).rejects.toThrow();
  });

  test('close ends a pool the store created, never one it was given', async () => {
    const owned = new MySQLStore({ uri: urls.mysql, schema: { tableName: `sess_close_${process.pid}` }, pruneSessionInterval: false });
    tables.push(owned.table);
    await owned.set('abc', rec(), ctx());
    await owned.close();
    await expect(owned.pool.query('SELECT 1')).rejects.toThrow();
    const given = make(`sess_close2_${process.pid}`);
    await given.close();
    expect(await rows('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });

  test('the user index: a stale index row never lists a session that now belongs to someone else', async () => {
    const store = make(`sess_users_${process.pid}`);
    const record = rec({ __sess: { createdAt: 1_000 } }, 60_000);
    await store.set('abc', record, { expires: new Date(record.cookie.expires as string), userKey: 'ann' });
    const [info] = await store.listUser('ann');
    expect(info).toMatchObject({ id: 'abc', createdAt: 1_000 });
    expect(Math.abs(info!.lastSeenAt! - Date.now())).toBeLessThan(2_000);
    // The session row rewritten for bob by a writer that did not update the index (express-mysql-session):
    await pool.query(`UPDATE ${store.table} SET data = ? WHERE session_id = 'abc'`, [JSON.stringify({ ...record, __sessUser: 'bob' })]);
    expect(await store.listUser('ann')).toEqual([]);
    expect(await store.destroyUser('ann')).toBe(0);
    expect(await store.get('abc')).not.toBeNull();
  });
}
