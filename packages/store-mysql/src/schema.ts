/**
 * The MySQL / MariaDB layout, shared with express-mysql-session:
 *
 *   `sessions` (`session_id` varchar(128) PRIMARY KEY, `expires` int unsigned (epoch seconds),
 *               `data` mediumtext), utf8mb4 with a binary collation, plus an index on `expires`
 *
 * The per-user index lives in a table of its own (`sessions_by_user`), so the shared table keeps
 * express-mysql-session's shape; the user key is also kept in the JSON (`__sessUser`), and an index row
 * counts only while the session row is live and names the same user.
 */
import { ConfigError } from '@sess/core';

/** Column names, configurable as in express-mysql-session. */
export interface ColumnNames {
  session_id: string;
  expires: string;
  data: string;
}

/** Quote an identifier for MySQL: wrapped in backticks, inner backticks doubled, NUL refused, 64 chars at most. */
export function quoteIdent(name: string, what: string): string {
  if (typeof name !== 'string' || name.length === 0) throw new ConfigError(`MySQLStore ${what} must be a non-empty string`);
  if (name.includes('\0')) throw new ConfigError(`MySQLStore ${what} must not contain a NUL character`);
  if (name.length > 64) throw new ConfigError(`MySQLStore ${what} must be at most 64 characters (MySQL's identifier limit)`);
  return '`' + name.replace(/`/g, '``') + '`';
}

/** Rows one prune statement removes at most. */
export const PRUNE_CHUNK = 1000;

/** Every statement the store runs, built once from the quoted names. */
export function statements(table: string, users: string, c: { id: string; expires: string; data: string }) {
  return {
    create: `CREATE TABLE IF NOT EXISTS ${table} (${c.id} varchar(128) COLLATE utf8mb4_bin NOT NULL, ${c.expires} int(11) unsigned NOT NULL, ${c.data} mediumtext COLLATE utf8mb4_bin, PRIMARY KEY (${c.id}), KEY ${quoteIdent('expires', 'index')} (${c.expires})) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    createUsers: `CREATE TABLE IF NOT EXISTS ${users} (${quoteIdent('session_id', 'column')} varchar(128) COLLATE utf8mb4_bin NOT NULL, ${quoteIdent('user_key', 'column')} varchar(255) COLLATE utf8mb4_bin NOT NULL, PRIMARY KEY (${quoteIdent('session_id', 'column')}), KEY ${quoteIdent('user_key', 'index')} (${quoteIdent('user_key', 'column')})) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    columnSize: `SELECT CHARACTER_OCTET_LENGTH AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?`,
    get: `SELECT ${c.data} AS data, ${c.expires} AS expires FROM ${table} WHERE ${c.id} = ? AND ${c.expires} >= ?`,
    upsert: `INSERT INTO ${table} (${c.id}, ${c.expires}, ${c.data}) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE ${c.expires} = VALUES(${c.expires}), ${c.data} = VALUES(${c.data})`,
    // The reads, and the plain writes, of one event-loop turn in one statement each (see MySQLStore's TurnBatch).
    getMany: (n: number) => `SELECT ${c.id} AS sid, ${c.data} AS data, ${c.expires} AS expires FROM ${table} WHERE ${c.id} IN (${Array(n).fill('?').join(', ')}) AND ${c.expires} >= ?`,
    upsertMany: (n: number) =>
      `INSERT INTO ${table} (${c.id}, ${c.expires}, ${c.data}) VALUES ${Array(n).fill('(?, ?, ?)').join(', ')} ON DUPLICATE KEY UPDATE ${c.expires} = VALUES(${c.expires}), ${c.data} = VALUES(${c.data})`,
    destroy: `DELETE FROM ${table} WHERE ${c.id} = ?`,
    destroyMany: (n: number) => `DELETE FROM ${table} WHERE ${c.id} IN (${Array(n).fill('?').join(', ')})`,
    // Expiry only, as express-mysql-session's touch (the stored JSON is left alone; get reports this expiry).
    touch: `UPDATE ${table} SET ${c.expires} = ? WHERE ${c.id} = ? AND ${c.expires} >= ?`,
    // Compare-and-set: the write lands only if the stored JSON is still what was read.
    cas: `UPDATE ${table} SET ${c.expires} = ?, ${c.data} = ? WHERE ${c.id} = ? AND ${c.data} = ?`,
    all: `SELECT ${c.id} AS sid, ${c.data} AS data, ${c.expires} AS expires FROM ${table} WHERE ${c.expires} >= ?`,
    // Keyset pagination by id (the LIMIT, a validated integer, is appended by the caller).
    scan: `SELECT ${c.id} AS sid, ${c.data} AS data, ${c.expires} AS expires FROM ${table} WHERE ${c.expires} >= ? AND ${c.id} > ? ORDER BY ${c.id}`,
    length: `SELECT COUNT(*) AS n FROM ${table} WHERE ${c.expires} > ?`,
    clear: `DELETE FROM ${table}`,
    clearUsers: `DELETE FROM ${users}`,
    indexSet: `INSERT INTO ${users} (session_id, user_key) VALUES (?, ?) ON DUPLICATE KEY UPDATE user_key = VALUES(user_key)`,
    indexUnset: `DELETE FROM ${users} WHERE session_id = ?`,
    indexUnsetMany: (n: number) => `DELETE FROM ${users} WHERE session_id IN (${Array(n).fill('?').join(', ')})`,
    listUser: `SELECT t.${c.id} AS sid, t.${c.data} AS data, t.${c.expires} AS expires FROM ${users} AS u JOIN ${table} AS t ON t.${c.id} = u.session_id WHERE u.user_key = ? AND t.${c.expires} >= ? ORDER BY t.${c.id}`,
    // A bounded DELETE, run until it removes fewer than the bound: short statements, each holding its locks
    // briefly, so the requests served meanwhile keep their latency. ORDER BY makes the LIMIT deterministic
    // (safe for statement-based replication) and walks the expires index.
    prune: `DELETE FROM ${table} WHERE ${c.expires} < ? ORDER BY ${c.expires} LIMIT ${PRUNE_CHUNK}`,
    pruneUsers: `DELETE u FROM ${users} AS u LEFT JOIN ${table} AS t ON t.${c.id} = u.session_id WHERE t.${c.id} IS NULL`,
    usersExist: `SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`,
    getLock: 'SELECT GET_LOCK(?, 0) AS ok',
    releaseLock: 'SELECT RELEASE_LOCK(?) AS ok',
  };
}

export type Statements = ReturnType<typeof statements>;
