/**
 * The PostgreSQL layout, shared with connect-pg-simple:
 *
 *   "session" ("sid" varchar PRIMARY KEY, "sess" json, "expire" timestamp(6)), index on "expire"
 *
 * `expire` is written as `to_timestamp(<epoch seconds, rounded up>)` and compared with
 * `expire >= to_timestamp(<now in epoch seconds, rounded up>)`, exactly as connect-pg-simple does: both
 * convert through the connection's TimeZone the same way, so both agree under any server TimeZone.
 *
 * The per-user index lives in a table of its own, so the shared table keeps connect-pg-simple's shape:
 *
 *   "session_by_user" ("sid" varchar PRIMARY KEY, "user_key" text), index on "user_key"
 *
 * An index row counts only while its session row is live (queries join the two); rows left by sessions
 * that ended elsewhere are removed by the prune job.
 */
import { ConfigError } from '@sess/core';

/** Quote an identifier for PostgreSQL: wrapped in double quotes, inner quotes doubled, NUL refused. */
export function quoteIdent(name: string, what: string): string {
  if (typeof name !== 'string' || name.length === 0) throw new ConfigError(`PgStore ${what} must be a non-empty string`);
  if (name.includes('\0')) throw new ConfigError(`PgStore ${what} must not contain a NUL character`);
  return '"' + name.replace(/"/g, '""') + '"';
}

/** Every statement the store runs, built once from the quoted names. */
export function statements(table: string, users: string, pkey: string, expireIndex: string, usersIndex: string) {
  const now = 'to_timestamp($NOW)';
  // The expiry in ms since the epoch, read back the way it was written (through the session's TimeZone).
  const expireMs = 'extract(epoch from expire::timestamptz) * 1000 AS expire_ms';
  return {
    exists: 'SELECT to_regclass($1::text) AS t, to_regclass($2::text) AS u',
    create: [
      `CREATE TABLE IF NOT EXISTS ${table} ("sid" varchar NOT NULL COLLATE "default", "sess" json NOT NULL, "expire" timestamp(6) NOT NULL, CONSTRAINT ${pkey} PRIMARY KEY ("sid") NOT DEFERRABLE INITIALLY IMMEDIATE)`,
      `CREATE INDEX IF NOT EXISTS ${expireIndex} ON ${table} ("expire")`,
      `CREATE TABLE IF NOT EXISTS ${users} ("sid" varchar NOT NULL PRIMARY KEY, "user_key" text NOT NULL)`,
      `CREATE INDEX IF NOT EXISTS ${usersIndex} ON ${users} ("user_key")`,
    ],
    // sess as text: each caller of a turn's read parses its own record (no copy of a shared one).
    get: `SELECT sess::text AS sess, ${expireMs} FROM ${table} WHERE sid = $1 AND expire >= ${now.replace('$NOW', '$2')}`,
    // The reads of one event-loop turn in one statement (see PgStore.get).
    getMany: `SELECT sid, sess::text AS sess, ${expireMs} FROM ${table} WHERE sid = ANY($1::varchar[]) AND expire >= ${now.replace('$NOW', '$2')}`,
    upsert: `INSERT INTO ${table} (sess, expire, sid) VALUES ($1, to_timestamp($2), $3) ON CONFLICT (sid) DO UPDATE SET sess = EXCLUDED.sess, expire = EXCLUDED.expire`,
    // The plain writes of one event-loop turn in one statement (one row per id: the last write of an id wins).
    upsertMany: `INSERT INTO ${table} (sess, expire, sid) SELECT w.sess::json, to_timestamp(w.expire), w.sid FROM unnest($1::text[], $2::float8[], $3::varchar[]) AS w(sess, expire, sid) ON CONFLICT (sid) DO UPDATE SET sess = EXCLUDED.sess, expire = EXCLUDED.expire`,
    upsertIndexed: `WITH s AS (INSERT INTO ${table} (sess, expire, sid) VALUES ($1, to_timestamp($2), $3) ON CONFLICT (sid) DO UPDATE SET sess = EXCLUDED.sess, expire = EXCLUDED.expire RETURNING sid) INSERT INTO ${users} (sid, user_key) SELECT sid, $4 FROM s ON CONFLICT (sid) DO UPDATE SET user_key = EXCLUDED.user_key`,
    upsertUnindexed: `WITH s AS (INSERT INTO ${table} (sess, expire, sid) VALUES ($1, to_timestamp($2), $3) ON CONFLICT (sid) DO UPDATE SET sess = EXCLUDED.sess, expire = EXCLUDED.expire RETURNING sid) DELETE FROM ${users} WHERE sid IN (SELECT sid FROM s)`,
    destroy: `DELETE FROM ${table} WHERE sid = $1`,
    destroyIndexed: `WITH u AS (DELETE FROM ${users} WHERE sid = $1) DELETE FROM ${table} WHERE sid = $1`,
    // Expiry only, as connect-pg-simple's touch (the stored JSON is left alone; get reports this expiry).
    touch: `UPDATE ${table} SET expire = to_timestamp($2) WHERE sid = $1 AND expire >= to_timestamp($3)`,
    patch: patchStatements(table, users),
    all: `SELECT sid, sess, ${expireMs} FROM ${table} WHERE expire >= to_timestamp($1)`,
    // Keyset pagination by sid: constant memory, and no row yielded twice while others are written.
    scan: `SELECT sid, sess, ${expireMs}, NULL AS user_key FROM ${table} WHERE sid > $2 AND expire >= to_timestamp($1) ORDER BY sid LIMIT $3`,
    scanIndexed: `SELECT t.sid, t.sess, extract(epoch from t.expire::timestamptz) * 1000 AS expire_ms, u.user_key FROM ${table} AS t LEFT JOIN ${users} AS u ON u.sid = t.sid WHERE t.sid > $2 AND t.expire >= to_timestamp($1) ORDER BY t.sid LIMIT $3`,
    length: `SELECT count(*)::int AS n FROM ${table} WHERE expire > to_timestamp($1)`,
    clear: `DELETE FROM ${table}`,
    clearUsers: `DELETE FROM ${users}`,
    listUser: `SELECT t.sid, t.sess, extract(epoch from t.expire::timestamptz) * 1000 AS expire_ms FROM ${users} AS u JOIN ${table} AS t ON t.sid = u.sid WHERE u.user_key = $1 AND t.expire >= to_timestamp($2) ORDER BY t.sid`,
    destroyUser: `WITH d AS (DELETE FROM ${table} WHERE sid IN (SELECT sid FROM ${users} WHERE user_key = $1) AND sid <> ALL($2::text[]) RETURNING sid), u AS (DELETE FROM ${users} WHERE sid IN (SELECT sid FROM d)) SELECT count(*)::int AS n FROM d`,
    prune: `DELETE FROM ${table} WHERE expire < to_timestamp($1)`,
    pruneUsers: `DELETE FROM ${users} AS u WHERE NOT EXISTS (SELECT 1 FROM ${table} AS t WHERE t.sid = u.sid)`,
    tryLock: 'SELECT pg_try_advisory_lock($1::int, $2::int) AS ok',
    unlock: 'SELECT pg_advisory_unlock($1::int, $2::int) AS ok',
  };
}

/**
 * The atomic patch, one statement: existing keys in their stored order (replaced in place when set,
 * dropped when unset), then new keys in the patch's order. $2 holds the cookie and every key to set; the
 * user index row is kept, set ($6) or removed in the same statement.
 */
function patchStatements(table: string, users: string) {
  const update = `UPDATE ${table} AS t SET expire = to_timestamp($4), sess = (SELECT json_object_agg(x.k, x.v ORDER BY x.o1, x.o2) FROM (SELECT e.key AS k, COALESCE(p.value, e.value) AS v, 0 AS o1, e.ord AS o2 FROM json_each(t.sess) WITH ORDINALITY AS e(key, value, ord) LEFT JOIN json_each($2::json) AS p ON p.key = e.key WHERE e.key <> ALL($3::text[]) UNION ALL SELECT p.key, p.value, 1, p.ord FROM json_each($2::json) WITH ORDINALITY AS p(key, value, ord) WHERE NOT EXISTS (SELECT 1 FROM json_each(t.sess) AS e2 WHERE e2.key = p.key)) AS x) WHERE t.sid = $1 AND t.expire >= to_timestamp($5) RETURNING t.sid`;
  return {
    keep: `WITH s AS (${update}) SELECT count(*)::int AS n FROM s`,
    set: `WITH s AS (${update}), u AS (INSERT INTO ${users} (sid, user_key) SELECT sid, $6 FROM s ON CONFLICT (sid) DO UPDATE SET user_key = EXCLUDED.user_key) SELECT count(*)::int AS n FROM s`,
    unset: `WITH s AS (${update}), u AS (DELETE FROM ${users} WHERE sid IN (SELECT sid FROM s)) SELECT count(*)::int AS n FROM s`,
  };
}

export type Statements = ReturnType<typeof statements>;
