import { createHash } from 'node:crypto';
import pg from 'pg';
import {
  BadDataError,
  ConfigError,
  InvalidSessionIdError,
  INCUMBENT_OPTION_HINTS,
  PruneTimer,
  USER_FIELD,
  cookieExpired,
  withStoreExpiry,
  TurnBatch,
  decodeRecord,
  pollLock,
  refuseOptions,
  recordJson,
  takeUserKey,
  userSessionInfo,
  type SessionLock,
  type SessionPatch,
  type SessionRecord,
  type SessionStore,
  type StoredSession,
  type StoreCapabilities,
  type UserSessionInfo,
  type WriteContext, acceptCallbacks
} from '@sess/core';
import type { Callback } from '@sess/core';
import { quoteIdent, statements, type Statements } from './schema.js';

/** Options of {@link PgStore}. */
export interface PgStoreOptions {
  /** A `pg` Pool. The store never ends a pool it was given. */
  pool?: pg.Pool;
  /** A connection string, when the store should create (and own) its pool. */
  connectionString?: string;
  /** connect-pg-simple's name for `connectionString`, accepted as is. */
  conString?: string;
  /** Options for the pool this store creates from `connectionString` (max, ssl, ...). */
  poolOptions?: Omit<pg.PoolConfig, 'connectionString'>;
  /** Schema of the table. Default: the connection's search_path (usually `public`). */
  schemaName?: string;
  /** Table name. Default `session` (connect-pg-simple's). */
  tableName?: string;
  /** Table of the per-user index. Default `<tableName>_by_user`. */
  userTableName?: string;
  /** Create the tables (and the schema) on first use when missing; every operation waits for it. Default false. */
  createTableIfMissing?: boolean;
  /**
   * Seconds between runs of the job that deletes expired rows (each run waits 50% to 150% of this, so
   * instances spread out; the timer never keeps the process alive). Default 900; `false` disables it.
   */
  pruneSessionInterval?: number | false;
  /** Where the prune job reports a failed run. Default `console.error`. Never given a session id. */
  errorLog?: (message: string, err: unknown) => void;
}

const ID = /^[A-Za-z0-9_-]{1,255}$/;
const DEFAULT_PRUNE_SECONDS = 900;

const nowSeconds = () => Math.ceil(Date.now() / 1000);
const toSeconds = (d: Date) => Math.ceil(d.getTime() / 1000);

/** A row `get` reads. */
interface ReadRow {
  sess: unknown;
  expire_ms: string | number;
}

interface PgError {
  code?: string;
  message?: string;
}

/**
 * PostgreSQL session store on node-postgres, in the table layout connect-pg-simple uses (`sid`, `sess`
 * json, `expire` timestamp(6)), so users can switch either way without logging anyone out.
 */
export class PgStore implements SessionStore {
  readonly capabilities: StoreCapabilities = Object.freeze({
    touch: true,
    touchCookie: false,
    enumerate: true,
    clear: true,
    shared: true,
    expiryResolution: 1000,
    atomicPatch: true,
    lock: true,
    userIndex: true,
  });

  /** The pool every query goes through. */
  readonly pool: pg.Pool;
  /** The quoted, schema-qualified table name. */
  readonly table: string;
  /** The quoted, schema-qualified name of the per-user index table. */
  readonly userTable: string;
  private readonly owned: boolean;
  private readonly sql: Statements;
  private readonly schemaName: string | undefined;
  private readonly createTable: boolean;
  private ready: Promise<void> | null = null;
  private readonly pruneJob: PruneTimer | null;
  private readonly errorLog: (message: string, err: unknown) => void;

  constructor(options: PgStoreOptions = {}) {
    refuseOptions('PgStore', options, {
      ttl: INCUMBENT_OPTION_HINTS.ttl,
      disableTouch: INCUMBENT_OPTION_HINTS.disableTouch,
      conObject: 'pass new pg.Pool(conObject) as pool',
      pgPromise: 'pass its pg Pool (db.$pool) as pool',
      pruneSessionRandomizedInterval: 'the prune job always waits 50% to 150% of pruneSessionInterval',
    }, { known: ['pool', 'connectionString', 'conString', 'poolOptions', 'schemaName', 'tableName', 'userTableName', 'createTableIfMissing', 'pruneSessionInterval', 'errorLog'], more: 'other pg Pool settings go in poolOptions' });
    if (options.connectionString !== undefined && options.conString !== undefined) throw new ConfigError('PgStore takes connectionString or conString (the same option), not both');
    const connectionString = options.connectionString ?? options.conString;
    if (options.pool && connectionString !== undefined) throw new ConfigError('PgStore takes a pool or a connectionString, not both');
    const tableName = options.tableName ?? 'session';
    const userTableName = options.userTableName ?? `${tableName}_by_user`;
    this.schemaName = options.schemaName;
    const schema = options.schemaName === undefined ? '' : quoteIdent(options.schemaName, 'schemaName') + '.';
    this.table = schema + quoteIdent(tableName, 'tableName');
    this.userTable = schema + quoteIdent(userTableName, 'userTableName');
    // connect-pg-simple's names for the default table ("session_pkey", "IDX_session_expire").
    this.sql = statements(
      this.table,
      this.userTable,
      quoteIdent(`${tableName}_pkey`, 'tableName'),
      quoteIdent(`IDX_${tableName}_expire`, 'tableName'),
      quoteIdent(`IDX_${userTableName}_user_key`, 'userTableName'),
    );
    if (options.pool) {
      this.pool = options.pool;
      this.owned = false;
    } else {
      const url = connectionString ?? 'postgres://127.0.0.1:5432/postgres';
      if (typeof url !== 'string') throw new ConfigError('PgStore connectionString must be a string');
      this.pool = new pg.Pool({ connectionTimeoutMillis: 5000, ...options.poolOptions, connectionString: url });
      // An idle client losing its connection must not crash the process; the pool replaces it.
      this.pool.on('error', (err) => this.errorLog('PgStore: an idle PostgreSQL connection failed', err));
      this.owned = true;
    }
    this.createTable = options.createTableIfMissing === true;
    this.errorLog = options.errorLog ?? ((message, err) => console.error(message, err));
    const prune = options.pruneSessionInterval ?? DEFAULT_PRUNE_SECONDS;
    if (prune !== false && (typeof prune !== 'number' || !(prune > 0))) {
      throw new ConfigError('PgStore pruneSessionInterval must be a number of seconds > 0, or false');
    }
    this.pruneJob = prune === false ? null : new PruneTimer(prune * 1000, () => this.prune(), (err) => this.errorLog('PgStore: pruning expired sessions failed', err)).start();
  }

  /** Delete expired rows (and index rows of sessions that are gone) now. The prune job calls this. */
  async prune(): Promise<number> {
    const deleted = await this.query(this.sql.prune, [nowSeconds()]);
    const { rows } = await this.pool.query<{ u: string | null }>('SELECT to_regclass($1::text) AS u', [this.userTable]);
    if (rows[0]?.u) await this.query(this.sql.pruneUsers, []);
    return deleted.rowCount ?? 0;
  }

  /** Resolves once the tables exist (created now when `createTableIfMissing` is on). Operations wait for it by themselves. */
  init(): Promise<void> {
    return this.ensure();
  }

  /** Create the tables once, when asked to; every operation waits for it. */
  private ensure(): Promise<void> {
    if (!this.createTable) return Promise.resolve();
    if (!this.ready) {
      this.ready = this.createTables().catch((err) => {
        this.ready = null; // try again on the next operation
        throw err;
      });
    }
    return this.ready;
  }

  private async createTables(): Promise<void> {
    const { rows } = await this.pool.query<{ t: string | null; u: string | null }>(this.sql.exists, [this.table, this.userTable]);
    if (rows[0]?.t && rows[0]?.u) return;
    const client = await this.pool.connect();
    const keys = lockKeys('create', this.table);
    let locked = false;
    try {
      // One creator at a time across processes: CREATE ... IF NOT EXISTS races on the catalog otherwise. A
      // session-level lock, so the check below runs in a transaction of its own, started after the lock: one
      // started before it would not see the tables another process created meanwhile (stale catalog cache),
      // and creating again would take the tables' locks for the indexes and deadlock with that process's writes.
      await client.query('SELECT pg_advisory_lock($1::int, $2::int)', keys);
      locked = true;
      const again = await client.query<{ t: string | null; u: string | null }>(this.sql.exists, [this.table, this.userTable]);
      if (again.rows[0]?.t && again.rows[0]?.u) return;
      await client.query('BEGIN');
      try {
        if (this.schemaName !== undefined) await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(this.schemaName, 'schemaName')}`);
        for (const statement of this.sql.create) await client.query(statement);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    } finally {
      if (locked) await client.query('SELECT pg_advisory_unlock($1::int, $2::int)', keys).catch(() => undefined);
      client.release();
    }
  }

  /** Run a statement, with PostgreSQL's refusals turned into typed errors. */
  private async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    await this.ensure();
    try {
      // A named statement: each connection parses and plans it once, not on every request.
      return await this.pool.query<R>({ name: statementName(text), text, values });
    } catch (err) {
      throw this.typed(err);
    }
  }

  private typed(err: unknown): unknown {
    const e = err as PgError;
    if (typeof e?.code !== 'string') return err;
    if (e.code === '42P01') {
      return new ConfigError(
        `PgStore: table ${this.table} or ${this.userTable} does not exist: create them with the SQL in the README, or pass createTableIfMissing: true`,
        { cause: err },
      );
    }
    if (e.code.startsWith('22')) {
      // Data exceptions: PostgreSQL refused the value (e.g. an escape it cannot convert). Nothing was written.
      return new BadDataError(`PostgreSQL refused the session data (SQLSTATE ${e.code}: ${e.message ?? 'data exception'}); the stored session is unchanged`, { cause: err });
    }
    return err;
  }

  private check(sid: string): string {
    if (typeof sid !== 'string' || !ID.test(sid)) throw new InvalidSessionIdError();
    return sid;
  }

  /**
   * A stored `sess` value as a record (string or already parsed), without the index field, with the row's
   * `expire` as its cookie expiry when that is later (a touch moves only `expire`, here and in connect-pg-simple).
   */
  private decode(value: unknown, expireMs: string | number): SessionRecord {
    const record = decodeRecord(value, 'PostgreSQL');
    takeUserKey(record);
    return withStoreExpiry(record, Number(expireMs));
  }

  /**
   * The turn's reads as one statement (`sid = ANY($1)`; TurnBatch): a pool would send each on its own
   * connection. The JSON comes as text, so two requests of one session in a turn each parse their own record.
   */
  private readonly reads = TurnBatch.reads<ReadRow>(
    async (sid) => (await this.query<ReadRow>(this.sql.get, [sid, nowSeconds()])).rows[0],
    async (ids) => new Map((await this.query<ReadRow & { sid: string }>(this.sql.getMany, [ids, nowSeconds()])).rows.map((r) => [r.sid, r])),
  );

  /**
   * The turn's plain writes as one statement (a multi-row upsert from `unnest`; TurnBatch: the later write of an
   * id wins; if the statement fails, each row is written on its own, so only the rows PostgreSQL refuses fail).
   */
  private readonly writes = TurnBatch.writes<{ value: string; expire: number }>(
    (sid, w) => this.query(this.sql.upsert, [w.value, w.expire, sid]),
    (rows) => this.query(this.sql.upsertMany, [rows.map(([, w]) => w.value), rows.map(([, w]) => w.expire), rows.map(([sid]) => sid)]),
  );

  get(sid: string): Promise<SessionRecord | null>;
  /** express-session's callback form (added by acceptCallbacks). */
  get(sid: string, cb: Callback<SessionRecord | undefined>): void;
  async get(sid: string): Promise<SessionRecord | null> {
    const row = await this.reads.add(this.check(sid), null, 'join');
    if (row === undefined) return null;
    const record = this.decode(row.sess, row.expire_ms);
    return cookieExpired(record) ? null : record;
  }

  async set(sid: string, record: SessionRecord, ctx: WriteContext): Promise<void> {
    this.check(sid);
    const value = recordJson(record, ctx.json); // throws (BigInt, cycles) before any write
    if (ctx.expires.getTime() <= Date.now()) {
      await this.query(ctx.userKey === undefined ? this.sql.destroy : this.sql.destroyIndexed, [sid]);
      return;
    }
    const expire = toSeconds(ctx.expires);
    if (ctx.userKey === undefined) await this.writes.add(sid, { value, expire }, 'replace');
    else if (ctx.userKey === null) await this.query(this.sql.upsertUnindexed, [value, expire, sid]);
    else await this.query(this.sql.upsertIndexed, [value, expire, sid, ctx.userKey]);
  }

  destroy(sid: string): Promise<void>;
  /** express-session's callback form (added by acceptCallbacks). */
  destroy(sid: string, cb: Callback): void;
  async destroy(sid: string): Promise<void> {
    await this.query(this.sql.destroy, [this.check(sid)]);
  }

  /**
   * Move `expire` only, as connect-pg-simple does; the stored JSON is left as it is and `get` reports the
   * new expiry (`capabilities.touchCookie` is false, so core saves instead when the cookie itself changed).
   * Never recreates a missing or expired row.
   */
  async touch(sid: string, _record: SessionRecord, ctx: WriteContext): Promise<void> {
    this.check(sid);
    if (ctx.expires.getTime() <= Date.now()) {
      await this.destroy(sid);
      return;
    }
    await this.query(this.sql.touch, [sid, toSeconds(ctx.expires), nowSeconds()]);
  }

  /** Apply a patch in one UPDATE on the stored JSON; false (and nothing written) when the session is gone. */
  async patch(sid: string, p: SessionPatch, ctx: WriteContext): Promise<boolean> {
    this.check(sid);
    if (ctx.expires.getTime() <= Date.now()) {
      const { rowCount } = await this.query(this.sql.destroy, [sid]);
      return (rowCount ?? 0) > 0;
    }
    const set: Record<string, unknown> = { cookie: p.cookie };
    for (const k of Object.keys(p.set)) if (k !== 'cookie' && k !== USER_FIELD) set[k] = p.set[k];
    const unset = p.unset.filter((k) => k !== 'cookie' && !(k in set));
    const values: unknown[] = [sid, JSON.stringify(set), unset, toSeconds(ctx.expires), nowSeconds()];
    let text: string;
    if (ctx.userKey === undefined) text = this.sql.patch.keep;
    else if (ctx.userKey === null) text = this.sql.patch.unset;
    else {
      text = this.sql.patch.set;
      values.push(ctx.userKey);
    }
    const { rows } = await this.query<{ n: number }>(text, values);
    return (rows[0]?.n ?? 0) > 0;
  }

  /**
   * A PostgreSQL advisory lock on a connection held for the lock's lifetime (so it also ends if this
   * process dies). Each held lock occupies one pool connection; size the pool for your concurrency.
   */
  async lock(sid: string, opts: { ttlMs: number; waitMs: number }): Promise<SessionLock> {
    this.check(sid);
    await this.ensure();
    const keys = lockKeys('lock', `${this.table}\0${sid}`);
    const client = await this.pool.connect();
    try {
      await pollLock(async () => (await client.query<{ ok: boolean }>(this.sql.tryLock, keys)).rows[0]?.ok === true, opts.waitMs);
    } catch (err) {
      client.release();
      throw this.typed(err);
    }
    let released = false;
    const release = async () => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      try {
        await client.query(this.sql.unlock, keys);
        client.release();
      } catch (err) {
        client.release(err instanceof Error ? err : true); // a broken connection: its locks went with it
      }
    };
    const timer = setTimeout(() => void release(), Math.max(1, Math.round(opts.ttlMs)));
    timer.unref();
    return { release };
  }

  async listUser(userKey: string): Promise<UserSessionInfo[]> {
    const { rows } = await this.query<{ sid: string; sess: unknown; expire_ms: string | number }>(this.sql.listUser, [userKey, nowSeconds()]);
    const out: UserSessionInfo[] = [];
    for (const row of rows) {
      let record: SessionRecord;
      try {
        record = this.decode(row.sess, row.expire_ms);
      } catch {
        continue;
      }
      if (!cookieExpired(record)) out.push(userSessionInfo(row.sid, record, Number(row.expire_ms)));
    }
    return out;
  }

  async destroyUser(userKey: string, except: string[] = []): Promise<number> {
    const { rows } = await this.query<{ n: number }>(this.sql.destroyUser, [userKey, except]);
    return rows[0]?.n ?? 0;
  }

  all(): Promise<Record<string, SessionRecord>>;
  /** express-session's callback form (added by acceptCallbacks). */
  all(cb: Callback<Record<string, SessionRecord>>): void;
  async all(): Promise<Record<string, SessionRecord>> {
    const { rows } = await this.query<{ sid: string; sess: unknown; expire_ms: string | number }>(this.sql.all, [nowSeconds()]);
    const out: Record<string, SessionRecord> = {};
    for (const row of rows) {
      try {
        const record = this.decode(row.sess, row.expire_ms);
        if (!cookieExpired(record)) out[row.sid] = record;
      } catch {
        // not a session value: left out
      }
    }
    return out;
  }

  /** Every live session, in pages of `batchSize` rows by sid (constant memory). */
  async *scan(opts: { batchSize?: number } = {}): AsyncIterable<StoredSession> {
    const limit = opts.batchSize ?? 1000;
    let after = '';
    // The per-user index lives in its own table (connect-pg-simple's session table stays as it is).
    const { rows: has } = await this.pool.query<{ u: string | null }>('SELECT to_regclass($1::text) AS u', [this.userTable]);
    const text = has[0]?.u ? this.sql.scanIndexed : this.sql.scan;
    for (;;) {
      const { rows } = await this.query<{ sid: string; sess: unknown; expire_ms: string | number; user_key: string | null }>(text, [nowSeconds(), after, limit]);
      for (const row of rows) {
        let record: SessionRecord;
        let userKey: string | null;
        try {
          record = decodeRecord(row.sess, 'PostgreSQL');
          userKey = takeUserKey(record) ?? row.user_key;
          withStoreExpiry(record, Number(row.expire_ms));
        } catch {
          continue; // not a session value
        }
        if (!cookieExpired(record)) yield { id: row.sid, record, expires: Number(row.expire_ms), userKey };
      }
      if (rows.length < limit) return;
      after = rows[rows.length - 1]!.sid;
    }
  }

  async ids(): Promise<string[]> {
    return Object.keys(await this.all());
  }

  /** Rows whose `expire` (whole seconds, rounded up) is still ahead: exact once a second has passed. */
  length(): Promise<number>;
  /** express-session's callback form (added by acceptCallbacks). */
  length(cb: Callback<number>): void;
  async length(): Promise<number> {
    const { rows } = await this.query<{ n: number }>(this.sql.length, [Date.now() / 1000]);
    return rows[0]?.n ?? 0;
  }

  /** Remove every session of this table (and its index rows). */
  clear(): Promise<void>;
  /** express-session's callback form (added by acceptCallbacks). */
  clear(cb: Callback): void;
  async clear(): Promise<void> {
    await this.query(this.sql.clear, []);
    const { rows } = await this.pool.query<{ u: string | null }>('SELECT to_regclass($1::text) AS u', [this.userTable]);
    if (rows[0]?.u) await this.query(this.sql.clearUsers, []);
  }

  /** Stop the prune job, and end the pool if this store created it. */
  async close(): Promise<void> {
    this.pruneJob?.stop();
    if (this.owned && !(this.pool as pg.Pool & { ending?: boolean }).ending) await this.pool.end();
  }
}

acceptCallbacks(PgStore);

const names = new Map<string, string>();
function statementName(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = 'sess_' + createHash('sha256').update(text).digest('hex').slice(0, 24);
    names.set(text, name);
  }
  return name;
}

/** Two int4 keys for pg_advisory_*lock from a name (namespaced by what the lock is for). */
function lockKeys(kind: string, name: string): [number, number] {
  const h = createHash('sha256').update(`sess:${kind}:${name}`).digest();
  return [h.readInt32BE(0), h.readInt32BE(4)];
}

export { quoteIdent } from './schema.js';
