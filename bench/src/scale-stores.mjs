// The stores of the scale bench (scale.mjs): for each, how to fill it with N sessions in the layout its
// incumbent and sess share (so both read the very same data), how big that is, how each side's store is
// built on it, how each side prunes, and how each side does "list a user's sessions, sign out the others".
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

// Its own Redis database (5) of the tests' Redis: FLUSHDB between sizes touches nothing else.
const redisUrl = (() => {
  const u = new URL(process.env.SESS_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  u.pathname = '/5';
  return u.toString();
})();
const pgUrl = process.env.SESS_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const mysqlUrl = process.env.SESS_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const mongoUrl = process.env.SESS_TEST_MONGO_URL ?? 'mongodb://127.0.0.1:27017/test';
const fileDir = path.join(os.tmpdir(), 'sess-bench-scale-files');
const TABLE = 'bench_scale';
export const MAX_AGE = 3_600_000;
/** Every populated session was last touched this long ago: a read touches it (unless within touchAfter). */
const LAST_TOUCHED = 600_000;

/** The id of session `i` (32 characters, as uid-safe's). */
export const sid = (i) => 'sc' + i.toString(36).padStart(30, '0');
/** Every tenth session is expired (the prune pass's work); reads go to the others. */
export const isExpired = (i) => i % 10 === 0;
const userOf = (i) => (i % 1000) + 1;

function cookieJson(expiresMs) {
  return `{"originalMaxAge":${MAX_AGE},"expires":"${new Date(expiresMs).toISOString()}","httpOnly":true,"path":"/"}`;
}
/** Session i's JSON as express-session stores it (about 200 bytes: a user, a cart of two items, a counter). */
function json(i, now) {
  const exp = isExpired(i) ? now - 60_000 : now + MAX_AGE - LAST_TOUCHED;
  return `{"cookie":${cookieJson(exp)},"user":{"id":${userOf(i)},"role":"user"},"cart":[{"sku":"A-${i % 97}","qty":1},{"sku":"B-${i % 89}","qty":2}],"n":${i % 50}}`;
}
const expiresOf = (i, now) => (isExpired(i) ? now - 60_000 : now + MAX_AGE - LAST_TOUCHED);

/** The record of one extra session of the heavy user (per-user scenario). */
export function heavyRecord(now) {
  return JSON.parse(`{"cookie":${cookieJson(now + MAX_AGE)},"user":{"id":"heavy","role":"user"},"n":1}`);
}
export const HEAVY_USER = 'heavy';

async function pgClient() {
  const { default: pg } = await import('pg');
  const c = new pg.Client({ connectionString: pgUrl });
  await c.connect();
  return c;
}
async function mysqlConn() {
  const mysql = await import('mysql2/promise');
  return mysql.createConnection(mysqlUrl);
}
async function mongoCol() {
  const { MongoClient } = await import('mongodb');
  const client = await new MongoClient(mongoUrl).connect();
  return { client, col: client.db().collection(TABLE) };
}

/**
 * A client or pool the bench creates and hands to a store is the bench's to end (a store never closes what it
 * was given): `release(store)` closes the store, then ends what was handed to it.
 */
const handed = new WeakMap();
const handing = (store, end) => (handed.set(store, end), store);
export async function release(store) {
  if (typeof store.close === 'function') {
    // sess's close() returns a promise; some incumbents take a callback instead.
    await new Promise((done) => {
      try {
        const p = store.close(() => done());
        if (p?.then) p.then(done, done);
        else if (store.close.length === 0) done();
      } catch {
        done();
      }
    });
  }
  await handed.get(store)?.().catch(() => undefined);
}

export const scaleStores = {
  memory: {
    inProcess: true,
    sizes: [1_000, 100_000], // sess's MemoryStore keeps at most 100,000 (its `max`)
    async incumbent(expressSession) {
      return new expressSession.MemoryStore();
    },
    async sess() {
      const { MemoryStore } = await import('@sess/core');
      return new MemoryStore({ checkPeriod: 0 });
    },
    /** In the server process: fill its own store through the store's API. */
    async fillInProcess(store, n, now, impl) {
      for (let i = 0; i < n; i++) {
        const rec = JSON.parse(json(i, now));
        if (impl === 'sess') await store.set(sid(i), rec, { expires: new Date(expiresOf(i, now)) });
        else await new Promise((resolve, reject) => store.set(sid(i), rec, (err) => (err ? reject(err) : resolve())));
      }
    },
    incumbentPrune: null, // express-session's MemoryStore has no prune: expired sessions go when read
    async sessPrune(store) {
      return store.prune();
    },
  },
  redis: {
    storeKind: 'redis',
    sizes: [1_000, 100_000, 1_000_000],
    async clear() {
      const { Redis } = await import('ioredis');
      const r = new Redis(redisUrl);
      await r.flushdb();
      const used = Number((await r.info('memory')).match(/^used_memory:(\d+)/m)[1]);
      r.disconnect();
      return used;
    },
    async fill(n, now) {
      const { Redis } = await import('ioredis');
      const r = new Redis(redisUrl);
      const before = Number((await r.info('memory')).match(/^used_memory:(\d+)/m)[1]);
      let live = 0;
      for (let start = 0; start < n; start += 10_000) {
        const p = r.pipeline();
        for (let i = start; i < Math.min(n, start + 10_000); i++) {
          if (isExpired(i)) continue; // Redis drops an expired key itself: there is nothing to prune
          p.set('sess:' + sid(i), json(i, now), 'PX', expiresOf(i, now) - now);
          live++;
        }
        await p.exec();
      }
      const after = Number((await r.info('memory')).match(/^used_memory:(\d+)/m)[1]);
      r.disconnect();
      return { live, bytes: after - before, what: 'Redis used_memory' };
    },
    async incumbent() {
      const { RedisStore } = await import('connect-redis');
      const { createClient } = await import('redis');
      const client = createClient({ url: redisUrl });
      await client.connect();
      return handing(new RedisStore({ client }), () => client.quit());
    },
    async sess() {
      const { Redis } = await import('ioredis');
      const { RedisStore } = await import('@sess/store-redis');
      const client = new Redis(redisUrl);
      return handing(new RedisStore({ client }), () => client.quit());
    },
    incumbentPrune: null, // keys expire in Redis itself, for both
    sessPrune: null,
  },
  pg: {
    storeKind: 'pg',
    sizes: [1_000, 100_000, 1_000_000],
    async clear() {
      const { PgStore } = await import('@sess/store-pg');
      const s = new PgStore({ connectionString: pgUrl, tableName: TABLE, createTableIfMissing: true, pruneSessionInterval: false });
      await s.init();
      await s.close();
      const c = await pgClient();
      await c.query(`TRUNCATE ${TABLE}`);
      await c.query(`DROP TABLE IF EXISTS ${TABLE}_users`);
      await c.end();
    },
    async fill(n, now) {
      const c = await pgClient();
      // Built in SQL (seconds for a million rows), the same JSON as json() above.
      await c.query(
        `INSERT INTO ${TABLE} (sid, sess, expire)
         SELECT 'sc' || lpad(to_char_base36(i), 30, '0'),
                ('{"cookie":{"originalMaxAge":${MAX_AGE},"expires":"' || to_char(to_timestamp(e / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') ||
                 '","httpOnly":true,"path":"/"},"user":{"id":' || (i % 1000 + 1) || ',"role":"user"},"cart":[{"sku":"A-' || (i % 97) ||
                 '","qty":1},{"sku":"B-' || (i % 89) || '","qty":2}],"n":' || (i % 50) || '}')::json,
                to_timestamp(e / 1000.0)
         FROM (SELECT i, CASE WHEN i % 10 = 0 THEN $2::bigint - 60000 ELSE $2::bigint + ${MAX_AGE - LAST_TOUCHED} END AS e FROM generate_series(0, $1::int - 1) AS i) AS g`,
        [n, now],
      );
      await c.query(`VACUUM ANALYZE ${TABLE}`);
      const { rows } = await c.query(`SELECT pg_total_relation_size('${TABLE}') AS b`);
      await c.end();
      return { live: n - Math.ceil(n / 10), bytes: Number(rows[0].b), what: 'pg_total_relation_size (table, TOAST, indexes)' };
    },
    async setup() {
      const c = await pgClient();
      await c.query(`CREATE OR REPLACE FUNCTION to_char_base36(n bigint) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
        DECLARE s text := ''; d text := '0123456789abcdefghijklmnopqrstuvwxyz';
        BEGIN IF n = 0 THEN RETURN '0'; END IF;
          WHILE n > 0 LOOP s := substr(d, (n % 36)::int + 1, 1) || s; n := n / 36; END LOOP; RETURN s; END $$`);
      await c.end();
    },
    async incumbent(expressSession) {
      const { default: pg } = await import('pg');
      const { default: connectPgSimple } = await import('connect-pg-simple');
      const PgSession = connectPgSimple(expressSession);
      return new PgSession({ pool: new pg.Pool({ connectionString: pgUrl }), tableName: TABLE, pruneSessionInterval: false });
    },
    async sess() {
      const { default: pg } = await import('pg');
      const { PgStore } = await import('@sess/store-pg');
      const pool = new pg.Pool({ connectionString: pgUrl });
      const s = new PgStore({ pool, tableName: TABLE, pruneSessionInterval: false });
      await s.init();
      return handing(s, () => pool.end());
    },
    incumbentPrune: (store) => new Promise((resolve, reject) => store.pruneSessions((err) => (err ? reject(err) : resolve()))),
    sessPrune: (store) => store.prune(),
    /** What an app on connect-pg-simple does to find a user's sessions: it has no all(), so a JSON query. */
    async incumbentListUser() {
      const c = await pgClient();
      const { rows } = await c.query(`SELECT sid FROM ${TABLE} WHERE sess->'user'->>'id' = $1 AND expire >= now()`, [HEAVY_USER]);
      await c.end();
      return rows.map((r) => r.sid);
    },
  },
  mysql: {
    storeKind: 'mysql',
    sizes: [1_000, 100_000, 1_000_000],
    async clear() {
      const { MySQLStore } = await import('@sess/store-mysql');
      const s = new MySQLStore({ uri: mysqlUrl, schema: { tableName: TABLE }, pruneSessionInterval: false });
      await s.init();
      await s.close();
      const c = await mysqlConn();
      await c.query(`TRUNCATE TABLE ${TABLE}`);
      await c.query(`DROP TABLE IF EXISTS ${TABLE}_users`);
      await c.end();
    },
    async fill(n, now) {
      const c = await mysqlConn();
      const nowS = Math.round(now / 1000);
      // MariaDB's sequence engine (seq_0_to_N) builds the rows in the server: the same JSON as json() above.
      await c.query(
        `INSERT INTO ${TABLE} (session_id, expires, data)
         SELECT CONCAT('sc', LPAD(LOWER(CONV(seq, 10, 36)), 30, '0')), e DIV 1000,
                CONCAT('{"cookie":{"originalMaxAge":${MAX_AGE},"expires":"', DATE_FORMAT(CONVERT_TZ(FROM_UNIXTIME(e / 1000), @@session.time_zone, '+00:00'), '%Y-%m-%dT%H:%i:%s.%f'),
                       '","httpOnly":true,"path":"/"},"user":{"id":', seq % 1000 + 1, ',"role":"user"},"cart":[{"sku":"A-', seq % 97,
                       '","qty":1},{"sku":"B-', seq % 89, '","qty":2}],"n":', seq % 50, '}')
         FROM (SELECT seq, IF(seq % 10 = 0, ? - 60000, ? + ${MAX_AGE - LAST_TOUCHED}) AS e FROM seq_0_to_${n - 1}) AS g`,
        [now, now],
      );
      // DATE_FORMAT's %f has 6 digits: trim to milliseconds and close the ISO string as JSON.stringify writes it.
      await c.query(`UPDATE ${TABLE} SET data = REGEXP_REPLACE(data, '"expires":"([0-9T:.-]{23})[0-9]{3}"', '"expires":"\\\\1Z"')`);
      await c.query(`ANALYZE TABLE ${TABLE}`);
      const [rows] = await c.query(`SELECT data_length + index_length AS b FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?`, [TABLE]);
      await c.end();
      void nowS;
      return { live: n - Math.ceil(n / 10), bytes: Number(rows[0].b), what: 'InnoDB data_length + index_length' };
    },
    async incumbent(expressSession) {
      const { default: createMySQLSession } = await import('express-mysql-session');
      const mysql = await import('mysql2/promise');
      const MySQLSession = createMySQLSession(expressSession);
      const pool = mysql.createPool(mysqlUrl);
      const store = new MySQLSession({ schema: { tableName: TABLE }, clearExpired: false, createDatabaseTable: false }, pool);
      await store.onReady();
      return handing(store, () => pool.end());
    },
    async sess() {
      const mysql = await import('mysql2/promise');
      const { MySQLStore } = await import('@sess/store-mysql');
      const pool = mysql.createPool(mysqlUrl);
      const s = new MySQLStore({ pool, schema: { tableName: TABLE }, pruneSessionInterval: false });
      await s.init();
      return handing(s, () => pool.end());
    },
    incumbentPrune: (store) => store.clearExpiredSessions(),
    sessPrune: (store) => store.prune(),
  },
  mongo: {
    storeKind: 'mongo',
    // FerretDB (SQLite), the MongoDB stand-in of these machines, takes about 85 writes a second and reads by
    // scanning: at 100,000 documents one get took over 5 s (core's storeTimeout), for both sides. 10,000 is as
    // far as it goes; MongoDB itself would need measuring where there is one.
    sizes: [1_000, 10_000],
    userSessions: 1_000,
    async clear() {
      const { client, col } = await mongoCol();
      await col.drop().catch(() => undefined);
      await client.close();
    },
    async fill(n, now) {
      const { client, col } = await mongoCol();
      for (let start = 0; start < n; start += 5_000) {
        const docs = [];
        for (let i = start; i < Math.min(n, start + 5_000); i++) docs.push({ _id: sid(i), expires: new Date(expiresOf(i, now)), session: json(i, now) });
        await col.insertMany(docs, { ordered: false });
      }
      await col.createIndex({ expires: 1 });
      const stats = await client.db().command({ collStats: TABLE }).catch(() => null);
      await client.close();
      return { live: n - Math.ceil(n / 10), bytes: stats ? Number(stats.storageSize ?? 0) + Number(stats.totalIndexSize ?? 0) : null, what: 'collStats storageSize + totalIndexSize (FerretDB)' };
    },
    // Both stores are given the URL, so each owns its client and close() ends it (a given client is the
    // app's to close, and would keep the bench process alive).
    async incumbent() {
      const { default: ConnectMongo } = await import('connect-mongo');
      return ConnectMongo.create({ mongoUrl, collectionName: TABLE, autoRemove: 'disabled' });
    },
    async sess() {
      const { MongoStore } = await import('@sess/store-mongo');
      const s = new MongoStore({ mongoUrl, collectionName: TABLE, autoRemove: 'disabled' });
      await s.init();
      return s;
    },
    /**
     * What an app on connect-mongo does to find a user's sessions: its all() returns the sessions without
     * their ids, and the session is stored as a JSON string, so it reads the live documents and parses them.
     */
    async incumbentListUser() {
      const { client, col } = await mongoCol();
      const ids = [];
      for await (const doc of col.find({ expires: { $gt: new Date() } }, { projection: { session: 1 } })) {
        const s = typeof doc.session === 'string' ? JSON.parse(doc.session) : doc.session;
        if (s?.user?.id === HEAVY_USER) ids.push(doc._id);
      }
      await client.close();
      return ids;
    },
    // connect-mongo's autoRemove 'interval' pass, run once.
    incumbentPrune: async (store) => (await store.collectionP).deleteMany({ expires: { $lt: new Date() } }),
    sessPrune: (store) => store.prune(),
  },
  file: {
    sizes: [1_000, 100_000, 1_000_000],
    async clear() {
      rmSync(fileDir, { recursive: true, force: true });
      mkdirSync(fileDir, { recursive: true });
    },
    async fill(n, now) {
      // session-file-store's layout: <id>.json holding the session and its __lastAccess.
      for (let start = 0; start < n; start += 2_000) {
        const writes = [];
        for (let i = start; i < Math.min(n, start + 2_000); i++) {
          const last = isExpired(i) ? now - MAX_AGE - 60_000 : now - LAST_TOUCHED;
          writes.push(writeFile(path.join(fileDir, sid(i) + '.json'), json(i, now).slice(0, -1) + `,"__lastAccess":${last}}`));
        }
        await Promise.all(writes);
      }
      const bytes = Number(execFileSync('du', ['-s', '--block-size=1', fileDir], { encoding: 'utf8' }).split('\t')[0]);
      return { live: n - Math.ceil(n / 10), bytes, what: 'bytes on disk (du)' };
    },
    /**
     * The same sessions as fill() but written by sess's FileStore itself (its steady state once sessions have
     * been touched since a switch): its layout and its mtime, the expiry, which lets its reaper skip a live file
     * with one stat. The expired tenth is written through a store whose clock stands before their expiry.
     */
    async fillSess(n, now) {
      const { FileStore } = await import('@sess/store-file');
      const live = new FileStore({ dir: fileDir, reapInterval: -1, concurrency: 64 });
      const past = new FileStore({ dir: fileDir, reapInterval: -1, now: () => now - MAX_AGE });
      for (let start = 0; start < n; start += 1_000) {
        const writes = [];
        for (let i = start; i < Math.min(n, start + 1_000); i++) {
          const record = JSON.parse(json(i, now));
          writes.push((isExpired(i) ? past : live).set(sid(i), record, { expires: new Date(expiresOf(i, now)) }));
        }
        await Promise.all(writes);
      }
      await Promise.all([live.close(), past.close()]);
    },
    async incumbent(expressSession) {
      const { default: createFileStore } = await import('session-file-store');
      const FileStore = createFileStore(expressSession);
      return new FileStore({ path: fileDir, logFn: () => undefined, reapInterval: -1 });
    },
    async sess() {
      const { FileStore } = await import('@sess/store-file');
      return new FileStore({ dir: fileDir, reapInterval: -1 });
    },
    incumbentPrune: async (store) => {
      const { createRequire } = await import('node:module');
      const helpers = createRequire(import.meta.url)('session-file-store/lib/session-file-helpers.js');
      return new Promise((resolve, reject) => helpers.reap(store.options, (err) => (err ? reject(Array.isArray(err) ? err[0] : err) : resolve())));
    },
    sessPrune: (store) => store.prune(),
  },
};

export function writeJson(file, data) {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(data, null, 2) + '\n');
}
