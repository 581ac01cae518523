import { createHash } from 'node:crypto';
import mysql from 'mysql2/promise';
import {
  BadDataError,
  ConfigError,
  INCUMBENT_OPTION_HINTS,
  InvalidSessionIdError,
  PruneTimer,
  SessionTooLargeError,
  USER_FIELD,
  cookieExpired,
  withStoreExpiry,
  TurnBatch,
  decodeRecord,
  pollLock,
  refuseOptions,
  checkOptions,
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
import { PRUNE_CHUNK, quoteIdent, statements, type ColumnNames, type Statements } from './schema.js';

/** Options of {@link MySQLStore}. */
export interface MySQLStoreOptions {
  /** A mysql2 promise pool (`mysql2/promise` `createPool`); a callback pool is used through `.promise()`. Never ended by the store. */
  pool?: mysql.Pool | { promise(): mysql.Pool };
  /** A `mysql://` URI, when the store should create (and own) its pool. */
  uri?: string;
  /** Options for the pool this store creates from `uri` or the connection options (`connectionLimit`, `ssl`, ...). */
  poolOptions?: Omit<mysql.PoolOptions, 'uri'>;
  /** Connection options, as express-mysql-session takes them: the store creates (and owns) a pool from them. */
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  socketPath?: string;
  ssl?: mysql.PoolOptions['ssl'];
  connectionLimit?: number;
  /** express-mysql-session's switch for the prune job: `false` is `pruneSessionInterval: false`. */
  clearExpired?: boolean;
  /** express-mysql-session's prune interval, in ms (`pruneSessionInterval` is in seconds). */
  checkExpirationInterval?: number;
  /** express-mysql-session's option, accepted when it says what the store does: it ends only a pool it created. */
  endConnectionOnClose?: boolean;
  /** Table and column names, as in express-mysql-session. Default `sessions` (`session_id`, `expires`, `data`). */
  schema?: { tableName?: string; columnNames?: Partial<ColumnNames> };
  /** Table of the per-user index. Default `<tableName>_by_user`. */
  userTableName?: string;
  /** Create the tables when missing; every operation waits for it. Default true (as express-mysql-session). */
  createDatabaseTable?: boolean;
  /**
   * Seconds between runs of the job that deletes expired rows (each run waits 50% to 150% of this, on a
   * timer that never keeps the process alive). Default 900; `false` disables it.
   */
  pruneSessionInterval?: number | false;
  /** Where the prune job reports a failed run. Default `console.error`. Never given a session id. */
  errorLog?: (message: string, err: unknown) => void;
}

const ID = /^[A-Za-z0-9_-]{1,128}$/;
const CONNECTION_OPTIONS = ['host', 'port', 'user', 'password', 'database', 'socketPath', 'ssl', 'connectionLimit'] as const;
const DEFAULT_PRUNE_SECONDS = 900;
const MEDIUMTEXT_BYTES = 16_777_215;
/** Sessions removed per statement by destroyUser. */
const USER_CHUNK = 500;
const CAS_RETRIES = 50;

const nowSeconds = () => Math.round(Date.now() / 1000);
const toSeconds = (d: Date) => Math.ceil(d.getTime() / 1000);

interface Parsed {
  record: SessionRecord;
  userKey: string | null;
}

interface MySQLError {
  code?: string;
  errno?: number;
  message?: string;
}

type Row = mysql.RowDataPacket;

/** The callback pool inside a mysql2 promise pool. */
interface CallbackPool {
  execute(sql: string, values: unknown[], cb: (err: unknown, result: unknown) => void): void;
}

/**
 * MySQL / MariaDB session store on mysql2, in the table layout express-mysql-session uses
 * (`session_id`, `expires` epoch seconds, `data` JSON text), so users can switch either way without
 * logging anyone out.
 */
export class MySQLStore implements SessionStore {
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
  readonly pool: mysql.Pool;
  /** The quoted table name. */
  readonly table: string;
  /** The quoted name of the per-user index table. */
  readonly userTable: string;
  private readonly tableName: string;
  private readonly userTableName: string;
  private readonly dataColumn: string;
  private readonly owned: boolean;
  private readonly sql: Statements;
  private readonly createTable: boolean;
  private ready: Promise<void> | null = null;
  /** Bytes the data column holds (read from the server once the table exists). */
  private maxBytes = MEDIUMTEXT_BYTES;
  private usersReady: Promise<void> | null = null;
  private readonly pruneJob: PruneTimer | null;
  private readonly errorLog: (message: string, err: unknown) => void;

  constructor(options: MySQLStoreOptions = {}) {
    refuseOptions('MySQLStore', options, {
      expiration: INCUMBENT_OPTION_HINTS.ttl,
      disableTouch: INCUMBENT_OPTION_HINTS.disableTouch,
    }, { known: ['pool', 'uri', 'poolOptions', ...CONNECTION_OPTIONS, 'clearExpired', 'checkExpirationInterval', 'endConnectionOnClose', 'schema', 'schema.tableName', 'schema.columnNames', 'userTableName', 'createDatabaseTable', 'pruneSessionInterval', 'errorLog'], more: 'other mysql2 pool settings go in poolOptions' });
    const connection: Record<string, unknown> = {};
    for (const k of CONNECTION_OPTIONS) if (options[k] !== undefined) connection[k] = options[k];
    const byConnection = Object.keys(connection).length > 0;
    if ([options.pool !== undefined, options.uri !== undefined, byConnection].filter(Boolean).length > 1) {
      throw new ConfigError('MySQLStore takes one of pool, uri or connection options (host, user, …), not several');
    }
    const owns = options.pool === undefined;
    if (options.endConnectionOnClose !== undefined && options.endConnectionOnClose !== owns) {
      throw new ConfigError(owns ? 'MySQLStore always ends the pool it created on close(): drop endConnectionOnClose' : 'MySQLStore never ends a pool it was given: end it yourself after close()');
    }
    checkOptions('MySQLStore schema', options.schema, { known: ['tableName', 'columnNames'] });
    checkOptions('MySQLStore schema.columnNames', options.schema?.columnNames, { known: ['session_id', 'expires', 'data'] });
    this.tableName = options.schema?.tableName ?? 'sessions';
    this.userTableName = options.userTableName ?? `${this.tableName}_by_user`;
    const cols: ColumnNames = { session_id: 'session_id', expires: 'expires', data: 'data', ...options.schema?.columnNames };
    for (const k of Object.keys(cols)) {
      if (!['session_id', 'expires', 'data'].includes(k)) throw new ConfigError(`MySQLStore schema.columnNames: unknown column "${k}" (only session_id, expires and data are configurable)`);
    }
    this.table = quoteIdent(this.tableName, 'schema.tableName');
    this.userTable = quoteIdent(this.userTableName, 'userTableName');
    this.dataColumn = cols.data;
    this.sql = statements(this.table, this.userTable, {
      id: quoteIdent(cols.session_id, 'schema.columnNames.session_id'),
      expires: quoteIdent(cols.expires, 'schema.columnNames.expires'),
      data: quoteIdent(cols.data, 'schema.columnNames.data'),
    });
    if (options.pool) {
      const given = options.pool as mysql.Pool & { promise?: () => mysql.Pool };
      // A callback pool (mysql2's createPool) has .promise(); a promise pool's query returns a promise.
      this.pool = typeof given.promise === 'function' ? given.promise() : given;
      this.owned = false;
    } else if (byConnection) {
      this.pool = mysql.createPool({ connectTimeout: 5000, ...options.poolOptions, ...connection, charset: 'UTF8MB4_BIN' });
      this.owned = true;
    } else {
      const uri = options.uri ?? 'mysql://root@127.0.0.1:3306/test';
      if (typeof uri !== 'string' || !/^mysql:\/\//.test(uri)) throw new ConfigError('MySQLStore uri must be mysql://: new MySQLStore({ uri: "mysql://user@127.0.0.1:3306/db" })');
      this.pool = mysql.createPool({ connectTimeout: 5000, ...options.poolOptions, uri, charset: 'UTF8MB4_BIN' });
      this.owned = true;
    }
    this.createTable = options.createDatabaseTable !== false;
    this.errorLog = options.errorLog ?? ((message, err) => console.error(message, err));
    if (options.checkExpirationInterval !== undefined && options.pruneSessionInterval !== undefined) {
      throw new ConfigError('MySQLStore takes pruneSessionInterval (seconds) or checkExpirationInterval (ms), not both');
    }
    if (options.checkExpirationInterval !== undefined && !(typeof options.checkExpirationInterval === 'number' && options.checkExpirationInterval > 0)) {
      throw new ConfigError('MySQLStore checkExpirationInterval must be a number of ms > 0');
    }
    const prune =
      options.clearExpired === false
        ? false
        : (options.pruneSessionInterval ?? (options.checkExpirationInterval !== undefined ? options.checkExpirationInterval / 1000 : DEFAULT_PRUNE_SECONDS));
    if (prune !== false && (typeof prune !== 'number' || !(prune > 0))) {
      throw new ConfigError('MySQLStore pruneSessionInterval must be a number of seconds > 0, or false');
    }
    this.pruneJob = prune === false ? null : new PruneTimer(prune * 1000, () => this.prune(), (err) => this.errorLog('MySQLStore: pruning expired sessions failed', err)).start();
  }

  /** Delete expired rows (and index rows of sessions that are gone) now. The prune job calls this. */
  async prune(): Promise<number> {
    const now = nowSeconds();
    let deleted = 0;
    // PRUNE_CHUNK rows a statement until one removes fewer: one DELETE of 10,000 rows among 100,000 held
    // its locks long enough to double the p99 of the requests served meanwhile.
    for (;;) {
      const n = (await this.run<mysql.ResultSetHeader>(this.sql.prune, [now])).affectedRows ?? 0;
      deleted += n;
      if (n < PRUNE_CHUNK) break;
    }
    if (await this.hasUserTable()) await this.run(this.sql.pruneUsers, []);
    return deleted;
  }

  /** Resolves once the table exists (created now unless `createDatabaseTable` is false). Operations wait for it by themselves. */
  init(): Promise<void> {
    if (!this.ready) {
      this.ready = this.setUp().catch((err) => {
        this.ready = null; // try again on the next operation
        throw this.typed(err);
      });
    }
    return this.ready;
  }

  private initialised = false;

  private async setUp(): Promise<void> {
    if (this.createTable) await this.pool.query(this.sql.create);
    const [rows] = await this.pool.query<Row[]>(this.sql.columnSize, [this.tableName, this.dataColumn]);
    const n = Number(rows[0]?.n);
    if (Number.isFinite(n) && n > 0) this.maxBytes = n;
    this.initialised = true;
  }

  private userTableSeen = false;

  private async hasUserTable(): Promise<boolean> {
    if (this.userTableSeen) return true;
    const [rows] = await this.pool.query<Row[]>(this.sql.usersExist, [this.userTableName]);
    this.userTableSeen = Number(rows[0]?.n) > 0;
    return this.userTableSeen;
  }

  /** The index table, created on first use of the per-user index. */
  private ensureUsers(): Promise<void> {
    if (!this.usersReady) {
      this.usersReady = (this.createTable ? this.pool.query(this.sql.createUsers).then(() => void (this.userTableSeen = true)) : Promise.resolve()).catch((err) => {
        this.usersReady = null;
        throw this.typed(err);
      });
    }
    return this.usersReady;
  }

  /** Run a statement (a server-side prepared statement, cached per connection), with refusals typed. */
  private async run<T extends Row[] | mysql.ResultSetHeader>(text: string, values: unknown[]): Promise<T> {
    if (!this.initialised) await this.init();
    // The promise pool's own wrapper captures a stack trace for every query; the callback pool under it
    // does not, and the error is typed here anyway.
    const raw = (this.pool as unknown as { pool?: CallbackPool }).pool;
    if (raw && typeof raw.execute === 'function') {
      return new Promise<T>((resolve, reject) => {
        raw.execute(text, values, (err, result) => (err ? reject(this.typed(err)) : resolve(result as T)));
      });
    }
    try {
      const [result] = await this.pool.execute<T>(text, values as never);
      return result;
    } catch (err) {
      throw this.typed(err);
    }
  }

  private typed(err: unknown): unknown {
    const e = err as MySQLError;
    if (typeof e?.code !== 'string') return err;
    if (e.code === 'ER_NO_SUCH_TABLE') {
      return new ConfigError(`MySQLStore: table ${this.table} or ${this.userTable} does not exist: create them with the SQL in the README, or leave createDatabaseTable on`, { cause: err });
    }
    if (e.code === 'ER_DATA_TOO_LONG' || e.code === 'ER_NET_PACKET_TOO_LARGE' || e.code === 'ER_TOO_BIG_FIELDLENGTH') {
      return new BadDataError(`MySQL refused the session data as too large (${e.code}); the stored session is unchanged`, { cause: err, code: 'SESS_TOO_LARGE' });
    }
    if (e.code === 'ER_TRUNCATED_WRONG_VALUE_FOR_FIELD' || e.code === 'ER_INVALID_CHARACTER_STRING' || e.code === 'ER_CANNOT_CONVERT_STRING') {
      return new BadDataError(`MySQL refused the session data (${e.code}); the stored session is unchanged`, { cause: err });
    }
    return err;
  }

  private check(sid: string): string {
    if (typeof sid !== 'string' || !ID.test(sid)) throw new InvalidSessionIdError();
    return sid;
  }

  /**
   * A stored value as a record and its user key. With the row's `expires` (seconds) the record reports that
   * expiry as its cookie's when it is later: touch moves only `expires`, here and in express-mysql-session.
   */
  private parse(value: unknown, expires?: unknown): Parsed {
    const record = decodeRecord(value, 'MySQL');
    const userKey = takeUserKey(record);
    if (expires != null) withStoreExpiry(record, Number(expires) * 1000);
    return { record, userKey };
  }

  /** The JSON to store (cookie first), with the user key when the index is used; refused when over the column's size. */
  private encode(record: SessionRecord, userKey: string | null, json?: string): string {
    const body = recordJson(record, json, userKey);
    // A value over the column would be refused (strict mode) or, worse, truncated (non-strict): never send it.
    const bytes = body.length * 3 > this.maxBytes ? Buffer.byteLength(body) : body.length;
    if (bytes > this.maxBytes) throw new SessionTooLargeError(bytes, this.maxBytes);
    return body;
  }

  /**
   * The turn's reads as one statement (`IN (…)`; TurnBatch): the pool would send each on its own connection, and
   * every statement costs a socket write and a server thread's wake-up. Each caller parses its own record.
   */
  private readonly reads = TurnBatch.reads<Row>(
    async (sid) => (await this.run<Row[]>(this.sql.get, [sid, nowSeconds()]))[0],
    async (ids) => new Map((await this.run<Row[]>(this.sql.getMany(ids.length), [...ids, nowSeconds()])).map((r) => [String(r.sid), r])),
  );

  /**
   * The turn's plain writes as one multi-row upsert (TurnBatch: the later write of an id wins; if it fails, each
   * row is written on its own, so one session's bad value fails only its own write).
   */
  private readonly writes = TurnBatch.writes<{ value: string; expires: number }>(
    (sid, w) => this.run(this.sql.upsert, [sid, w.expires, w.value]),
    (rows) => this.run(this.sql.upsertMany(rows.length), rows.flatMap(([sid, w]) => [sid, w.expires, w.value])),
  );

  get(sid: string): Promise<SessionRecord | null>;
  /** express-session's callback form (added by acceptCallbacks). */
  get(sid: string, cb: Callback<SessionRecord | undefined>): void;
  async get(sid: string): Promise<SessionRecord | null> {
    const row = await this.reads.add(this.check(sid), null, 'join');
    if (row === undefined) return null;
    const { record } = this.parse(row.data, row.expires);
    return cookieExpired(record) ? null : record;
  }

  async set(sid: string, record: SessionRecord, ctx: WriteContext): Promise<void> {
    this.check(sid);
    await this.init();
    const userKey = ctx.userKey ?? null;
    const value = this.encode(record, userKey, ctx.json); // throws (BigInt, cycles, size) before any write
    if (ctx.expires.getTime() <= Date.now()) {
      await this.destroy(sid);
      return;
    }
    if (ctx.userKey === undefined) await this.writes.add(sid, { value, expires: toSeconds(ctx.expires) }, 'replace');
    else {
      await this.run(this.sql.upsert, [sid, toSeconds(ctx.expires), value]);
      await this.index(sid, ctx.userKey);
    }
  }

  private async index(sid: string, userKey: string | null): Promise<void> {
    if (userKey === null && !(await this.hasUserTable())) return;
    await this.ensureUsers();
    if (userKey === null) await this.run(this.sql.indexUnset, [sid]);
    else await this.run(this.sql.indexSet, [sid, userKey]);
  }

  destroy(sid: string): Promise<void>;
  /** express-session's callback form (added by acceptCallbacks). */
  destroy(sid: string, cb: Callback): void;
  async destroy(sid: string): Promise<void> {
    await this.run(this.sql.destroy, [this.check(sid)]);
  }

  /** Compare-and-set loop: read, compute, write only if the stored JSON is unchanged. */
  private async update(sid: string, next: (cur: Parsed) => { value: string; expires: number }): Promise<Parsed | null> {
    for (let attempt = 0; attempt < CAS_RETRIES; attempt++) {
      const rows = await this.run<Row[]>(this.sql.get, [sid, nowSeconds()]);
      if (rows.length === 0) return null;
      const stored = String(rows[0]!.data);
      const parsed = this.parse(stored, rows[0]!.expires);
      if (cookieExpired(parsed.record)) return null;
      const out = next(parsed);
      const res = await this.run<mysql.ResultSetHeader>(this.sql.cas, [out.expires, out.value, sid, stored]);
      if (res.affectedRows > 0) return parsed;
      await new Promise((r) => setTimeout(r, Math.random() * 2 * (attempt + 1)));
    }
    throw new BadDataError(`session changed ${CAS_RETRIES} times while being updated: too much contention on one session`);
  }

  /**
   * Move `expires` only, as express-mysql-session does; the stored JSON is left as it is and `get` reports
   * the new expiry (`capabilities.touchCookie` is false, so core saves instead when the cookie itself
   * changed). Never recreates a missing or expired row.
   */
  async touch(sid: string, _record: SessionRecord, ctx: WriteContext): Promise<void> {
    this.check(sid);
    if (ctx.expires.getTime() <= Date.now()) {
      await this.destroy(sid);
      return;
    }
    await this.run(this.sql.touch, [toSeconds(ctx.expires), sid, nowSeconds()]);
  }

  /** Apply a patch atomically: a compare-and-set UPDATE on the stored JSON, retried on conflict. */
  async patch(sid: string, p: SessionPatch, ctx: WriteContext): Promise<boolean> {
    this.check(sid);
    if (ctx.expires.getTime() <= Date.now()) {
      const res = await this.run<mysql.ResultSetHeader>(this.sql.destroy, [sid]);
      return res.affectedRows > 0;
    }
    const expires = toSeconds(ctx.expires);
    let userKey: string | null = null;
    const prev = await this.update(sid, (cur) => {
      const next: SessionRecord = { cookie: p.cookie };
      for (const k of Object.keys(cur.record)) if (k !== 'cookie') next[k] = cur.record[k];
      for (const k of p.unset) delete next[k];
      for (const k of Object.keys(p.set)) if (k !== USER_FIELD) next[k] = p.set[k];
      userKey = ctx.userKey === undefined ? cur.userKey : ctx.userKey;
      return { value: this.encode(next, userKey), expires };
    });
    if (!prev) return false;
    if (ctx.userKey !== undefined && ctx.userKey !== prev.userKey) await this.index(sid, userKey);
    return true;
  }

  /**
   * `GET_LOCK` on a pool connection held for the lock's lifetime (so it also ends if this process
   * dies). Each held lock occupies one pool connection; size the pool for your concurrency.
   */
  async lock(sid: string, opts: { ttlMs: number; waitMs: number }): Promise<SessionLock> {
    this.check(sid);
    await this.init();
    // GET_LOCK names are server-wide and at most 64 characters.
    const name = 'sess:' + createHash('sha256').update(`${this.tableName}\0${sid}`).digest('base64url').slice(0, 40);
    let conn: mysql.PoolConnection;
    try {
      conn = await this.pool.getConnection();
    } catch (err) {
      throw this.typed(err);
    }
    try {
      await pollLock(async () => Number((await conn.query<Row[]>(this.sql.getLock, [name]))[0][0]?.ok) === 1, opts.waitMs);
    } catch (err) {
      conn.release();
      throw this.typed(err);
    }
    let released = false;
    const release = async () => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      try {
        await conn.query(this.sql.releaseLock, [name]);
        conn.release();
      } catch {
        conn.destroy(); // a broken connection: its locks went with it
      }
    };
    const timer = setTimeout(() => void release(), Math.max(1, Math.round(opts.ttlMs)));
    timer.unref();
    return { release };
  }

  async listUser(userKey: string): Promise<UserSessionInfo[]> {
    if (!(await this.hasUserTable())) return [];
    const rows = await this.run<Row[]>(this.sql.listUser, [userKey, nowSeconds()]);
    const out: UserSessionInfo[] = [];
    for (const row of rows) {
      let parsed: Parsed;
      try {
        parsed = this.parse(row.data, row.expires);
      } catch {
        continue;
      }
      // The JSON names the user too: an index row left by an interrupted write never lists a stranger's session.
      if (parsed.userKey !== userKey || cookieExpired(parsed.record)) continue;
      out.push(userSessionInfo(String(row.sid), parsed.record, Number(row.expires) * 1000));
    }
    return out;
  }

  async destroyUser(userKey: string, except: string[] = []): Promise<number> {
    const keep = new Set(except);
    const ids = (await this.listUser(userKey)).map((s) => s.id).filter((id) => !keep.has(id));
    // USER_CHUNK at a time, two statements each (the sessions, their index rows), not two per session.
    for (let i = 0; i < ids.length; i += USER_CHUNK) {
      const chunk = ids.slice(i, i + USER_CHUNK);
      await Promise.all([this.run(this.sql.destroyMany(chunk.length), chunk), this.run(this.sql.indexUnsetMany(chunk.length), chunk)]);
    }
    return ids.length;
  }

  all(): Promise<Record<string, SessionRecord>>;
  /** express-session's callback form (added by acceptCallbacks). */
  all(cb: Callback<Record<string, SessionRecord>>): void;
  async all(): Promise<Record<string, SessionRecord>> {
    const rows = await this.run<Row[]>(this.sql.all, [nowSeconds()]);
    const out: Record<string, SessionRecord> = {};
    for (const row of rows) {
      try {
        const { record } = this.parse(row.data, row.expires);
        if (!cookieExpired(record)) out[String(row.sid)] = record;
      } catch {
        // not a session value: left out
      }
    }
    return out;
  }

  /** Every live session, in pages of `batchSize` rows by id (constant memory). */
  async *scan(opts: { batchSize?: number } = {}): AsyncIterable<StoredSession> {
    const limit = Math.max(1, Math.floor(opts.batchSize ?? 1000));
    const text = `${this.sql.scan} LIMIT ${limit}`;
    let after = '';
    for (;;) {
      const rows = await this.run<Row[]>(text, [nowSeconds(), after]);
      for (const row of rows) {
        let parsed: Parsed;
        try {
          parsed = this.parse(row.data, row.expires);
        } catch {
          continue; // not a session value
        }
        if (!cookieExpired(parsed.record)) yield { id: String(row.sid), record: parsed.record, expires: Number(row.expires) * 1000, userKey: parsed.userKey };
      }
      if (rows.length < limit) return;
      after = String(rows[rows.length - 1]!.sid);
    }
  }

  async ids(): Promise<string[]> {
    return Object.keys(await this.all());
  }

  /** Rows whose `expires` (whole seconds) is still ahead: exact once a second has passed. */
  length(): Promise<number>;
  /** express-session's callback form (added by acceptCallbacks). */
  length(cb: Callback<number>): void;
  async length(): Promise<number> {
    const rows = await this.run<Row[]>(this.sql.length, [Math.floor(Date.now() / 1000)]);
    return Number(rows[0]?.n ?? 0);
  }

  /** Remove every session of this table (and its index rows). */
  clear(): Promise<void>;
  /** express-session's callback form (added by acceptCallbacks). */
  clear(cb: Callback): void;
  async clear(): Promise<void> {
    await this.run(this.sql.clear, []);
    if (await this.hasUserTable()) await this.run(this.sql.clearUsers, []);
  }

  /** Stop the prune job, and end the pool if this store created it. */
  async close(): Promise<void> {
    this.pruneJob?.stop();
    if (this.owned) await this.pool.end().catch(() => undefined);
  }
}

acceptCallbacks(MySQLStore);

export { quoteIdent } from './schema.js';
export type { ColumnNames } from './schema.js';
