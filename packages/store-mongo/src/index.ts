import { randomBytes } from 'node:crypto';
import { MongoClient, MongoServerError, type Collection, type Db, type Document, type Filter } from 'mongodb';
import {
  BadDataError,
  ConfigError,
  INCUMBENT_OPTION_HINTS,
  InvalidSessionIdError,
  PruneTimer,
  decodeRecord,
  pollLock,
  refuseOptions,
  recordJson,
  userSessionInfo,
  withStoreExpiry,
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

/** Options of {@link MongoStore}. */
export interface MongoStoreOptions {
  /** A connected or unconnected `MongoClient`. The store never closes a client it was given. */
  client?: MongoClient;
  /** A `mongodb://` or `mongodb+srv://` URL, when the store should create (and own) its client. */
  url?: string;
  /** connect-mongo's name for `url`, accepted as is. */
  mongoUrl?: string;
  /** Options for the client this store creates from `url`. */
  clientOptions?: ConstructorParameters<typeof MongoClient>[1];
  /** connect-mongo's name for `clientOptions`, accepted as is. */
  mongoOptions?: ConstructorParameters<typeof MongoClient>[1];
  /** Database name. Default: the URL's database, else the driver's default (`test`). */
  dbName?: string;
  /** Collection name. Default `sessions` (connect-mongo's). */
  collectionName?: string;
  /**
   * `true` (default, connect-mongo's default): `session` holds the record's JSON string. `false`: an
   * embedded document (keys with `.` or a leading `$` are then refused with a typed error).
   */
  stringify?: boolean;
  /**
   * How expired documents are removed: `'native'` (default) a TTL index on `expires`, with a fallback to
   * the interval job when the server refuses TTL indexes (FerretDB v1 does); `'interval'` an acknowledged
   * `deleteMany` every `autoRemoveInterval` minutes on an unref'd timer; `'disabled'` nothing (reads still
   * never return an expired session).
   */
  autoRemove?: 'native' | 'interval' | 'disabled';
  /** Minutes between runs of the interval job (each waits 50% to 150% of it). Default 10. */
  autoRemoveInterval?: number;
  /** Where the store reports a fallback or a failed prune run. Default `console.error`. Never given a session id. */
  errorLog?: (message: string, err?: unknown) => void;
}

const ID = /^[A-Za-z0-9_-]{1,255}$/;
const STORED_AS = 'the session is stored as a JSON string or an embedded document (stringify)';

/** A document of the connect-mongo layout, with sess's optional fields. */
interface SessionDoc {
  _id: string;
  session: string | Record<string, unknown>;
  expires?: Date;
  /** The cookie of sess's last touch and the expiry it set: valid only while `expires` still equals it. */
  sessTouch?: { cookie: Record<string, unknown>; expires: Date };
  /** The user key of the per-user index. */
  sessUser?: string;
}

interface LockDoc {
  _id: string;
  token: string;
  expiresAt: Date;
}

/**
 * MongoDB session store on the official driver, in the layout connect-mongo uses (`sessions` collection,
 * `{ _id: sid, session, expires }`), so users can switch either way without logging anyone out.
 */
export class MongoStore implements SessionStore {
  readonly capabilities: StoreCapabilities = Object.freeze({
    touch: true,
    enumerate: true,
    clear: true,
    shared: true,
    expiryResolution: 1,
    atomicPatch: true,
    lock: true,
    userIndex: true,
  });

  /** The driver client. */
  readonly client: MongoClient;
  /** The collection name. */
  readonly collectionName: string;
  private readonly owned: boolean;
  private readonly dbName: string | undefined;
  private readonly stringify: boolean;
  private readonly autoRemove: 'native' | 'interval' | 'disabled';
  private readonly intervalMs: number;
  private readonly errorLog: (message: string, err?: unknown) => void;
  private ready: Promise<void> | null = null;
  private db!: Db;
  private col!: Collection<SessionDoc>;
  private locks!: Collection<LockDoc>;
  private readonly pruneJob: PruneTimer;
  /** Per-operation options: acknowledged writes always (never w:0, even when the client's default is). */
  private writeOpts: { writeConcern?: { w: number } } = {};
  /** The server's updates are not atomic per document (FerretDB v1). */
  private wholeDocumentUpdates = false;

  constructor(options: MongoStoreOptions = {}) {
    refuseOptions('MongoStore', options, {
      ttl: INCUMBENT_OPTION_HINTS.ttl,
      touchAfter: INCUMBENT_OPTION_HINTS.touchAfter,
      crypto: 'sessions are stored as the incumbent stores them unencrypted; keep secrets out of the session or encrypt the database',
      transformId: 'documents are keyed by the session id, as connect-mongo does by default; hashIds on session() keys them by a keyed hash',
      serialize: STORED_AS,
      unserialize: STORED_AS,
      writeOperationOptions: 'writes are always acknowledged (w: 1 or the client\'s stronger write concern)',
      timestamps: 'not supported: listUser() reports when each session was created and last seen',
      clientPromise: 'pass the MongoClient itself as client (await the promise first)',
    }, { known: ['client', 'url', 'mongoUrl', 'clientOptions', 'mongoOptions', 'dbName', 'collectionName', 'stringify', 'autoRemove', 'autoRemoveInterval', 'errorLog'], more: 'MongoClient settings go in clientOptions' });
    if (options.url !== undefined && options.mongoUrl !== undefined) throw new ConfigError('MongoStore takes url or mongoUrl (the same option), not both');
    if (options.clientOptions !== undefined && options.mongoOptions !== undefined) throw new ConfigError('MongoStore takes clientOptions or mongoOptions (the same option), not both');
    const givenUrl = options.url ?? options.mongoUrl;
    const clientOptions = options.clientOptions ?? options.mongoOptions;
    if (options.client && givenUrl !== undefined) throw new ConfigError('MongoStore takes a client or a url, not both');
    if (options.client) {
      this.client = options.client;
      this.owned = false;
    } else {
      const url = givenUrl ?? 'mongodb://127.0.0.1:27017/test';
      if (typeof url !== 'string' || !/^mongodb(\+srv)?:\/\//.test(url)) throw new ConfigError('MongoStore url must be mongodb:// or mongodb+srv://: new MongoStore({ url: "mongodb://127.0.0.1:27017/app" })');
      this.client = new MongoClient(url, { serverSelectionTimeoutMS: 5000, ...clientOptions });
      this.owned = true;
    }
    this.dbName = options.dbName;
    this.collectionName = options.collectionName ?? 'sessions';
    if (typeof this.collectionName !== 'string' || this.collectionName.length === 0 || this.collectionName.includes('$') || this.collectionName.includes('\0')) {
      throw new ConfigError('MongoStore collectionName must be a non-empty string without "$" or NUL');
    }
    this.stringify = options.stringify !== false;
    this.autoRemove = options.autoRemove ?? 'native';
    if (!['native', 'interval', 'disabled'].includes(this.autoRemove)) throw new ConfigError("MongoStore autoRemove must be 'native', 'interval' or 'disabled'");
    const minutes = options.autoRemoveInterval ?? 10;
    if (typeof minutes !== 'number' || !(minutes > 0)) throw new ConfigError('MongoStore autoRemoveInterval must be a number of minutes > 0');
    this.intervalMs = minutes * 60_000;
    this.errorLog = options.errorLog ?? ((message, err) => (err === undefined ? console.error(message) : console.error(message, err)));
    this.pruneJob = new PruneTimer(this.intervalMs, () => this.prune(), (err) => this.errorLog('MongoStore: removing expired sessions failed', err));
  }

  /** Resolves once the collection and its indexes are set up. Operations wait for it by themselves. */
  init(): Promise<void> {
    if (!this.ready) {
      this.ready = this.setUp().catch((err) => {
        this.ready = null; // try again on the next operation
        throw err;
      });
    }
    return this.ready;
  }

  private async setUp(): Promise<void> {
    // Connect explicitly (idempotent once connected): a failed implicit first connect would leave the
    // client closed for good, while a failed connect() is simply tried again by the next operation.
    await this.client.connect();
    this.db = this.client.db(this.dbName);
    // Never unacknowledged writes, even when the client's default is w:0 (FerretDB answers them, which
    // desynchronises the driver's connection; on MongoDB they would hide failed writes).
    if (this.db.writeConcern?.w === 0) this.db = this.client.db(this.dbName, { writeConcern: { w: 1 } });
    this.col = this.db.collection<SessionDoc>(this.collectionName);
    this.locks = this.db.collection<LockDoc>(`${this.collectionName}_locks`);
    if (this.col.writeConcern?.w === 0) this.writeOpts = { writeConcern: { w: 1 } };
    // FerretDB v1 applies an update as read-modify-write of the whole document, so two concurrent updates
    // of one document can lose one another's fields; patch then serialises on a lock document.
    const info = await this.db.admin().command({ buildInfo: 1 }).catch(() => null);
    this.wholeDocumentUpdates = info !== null && typeof info === 'object' && 'ferretdbVersion' in info;
    if (this.autoRemove === 'native') {
      try {
        await this.col.createIndex({ expires: 1 }, { expireAfterSeconds: 0 });
      } catch (err) {
        if (!refused(err)) throw err;
        this.errorLog(`MongoStore: the server refused a TTL index on ${this.collectionName}.expires (${describe(err)}); expired sessions are removed by an interval job instead`);
        this.pruneJob.start();
      }
    } else if (this.autoRemove === 'interval') {
      this.pruneJob.start();
    }
    try {
      await this.col.createIndex({ sessUser: 1 }, { sparse: true });
    } catch (err) {
      if (!refused(err)) throw err;
      await this.col.createIndex({ sessUser: 1 });
    }
  }

  /** Delete expired documents now (acknowledged). The interval job calls this. */
  async prune(): Promise<number> {
    await this.init();
    const r = await this.col.deleteMany({ expires: { $lt: new Date() } }, this.writeOpts);
    await this.locks.deleteMany({ expiresAt: { $lt: new Date() } }, this.writeOpts);
    return r.deletedCount ?? 0;
  }

  private check(sid: unknown): string {
    // Refused before any query: never a non-string or an operator-shaped object ({"$ne": null}).
    if (typeof sid !== 'string' || !ID.test(sid)) throw new InvalidSessionIdError();
    return sid;
  }

  private live(): Filter<SessionDoc> {
    return { $or: [{ expires: { $exists: false } }, { expires: { $gt: new Date() } }] };
  }

  /**
   * A document's record: string or embedded `session`, with sess's last-touch cookie when still current.
   * connect-mongo's touch moves only `expires`, so a session it kept alive can hold a cookie that expired
   * long ago: the document's `expires` is then reported as the cookie's.
   */
  private decode(doc: SessionDoc): SessionRecord {
    const record = decodeRecord(doc.session, 'MongoDB');
    const t = doc.sessTouch;
    if (t && doc.expires instanceof Date && t.expires instanceof Date && t.expires.getTime() === doc.expires.getTime()) record.cookie = t.cookie as unknown as SessionRecord['cookie'];
    if (record.cookie.expires instanceof Date) record.cookie.expires = record.cookie.expires.toISOString();
    if (doc.expires instanceof Date) withStoreExpiry(record, doc.expires.getTime());
    return record;
  }

  private expired(record: SessionRecord, doc: SessionDoc): boolean {
    if (doc.expires instanceof Date && doc.expires.getTime() <= Date.now()) return true;
    const e = record.cookie.expires;
    if (e == null) return false;
    const t = new Date(e as string).getTime();
    return !Number.isNaN(t) && t <= Date.now();
  }

  /** The `session` value to store: a JSON string (cookie first), or an embedded document with safe keys. */
  private encode(record: SessionRecord, json?: string): string | Record<string, unknown> {
    if (this.stringify) return recordJson(record, json);
    // The embedded layout: what JSON would store, as a document; field names MongoDB treats as paths or operators refused.
    const doc = JSON.parse(JSON.stringify({ ...record, cookie: record.cookie })) as Record<string, unknown>;
    assertSafeKeys(doc);
    return doc;
  }

  get(sid: string): Promise<SessionRecord | null>;
  /** express-session's callback form (added by acceptCallbacks). */
  get(sid: string, cb: Callback<SessionRecord | undefined>): void;
  async get(sid: string): Promise<SessionRecord | null> {
    this.check(sid);
    await this.init();
    const doc = await this.col.findOne({ _id: sid, ...this.live() });
    if (!doc) return null;
    const record = this.decode(doc);
    return this.expired(record, doc) ? null : record;
  }

  async set(sid: string, record: SessionRecord, ctx: WriteContext): Promise<void> {
    this.check(sid);
    const session = this.encode(record, ctx.json); // throws (BigInt, cycles, unsafe keys) before any write
    await this.init();
    if (ctx.expires.getTime() <= Date.now()) {
      await this.col.deleteOne({ _id: sid }, this.writeOpts);
      return;
    }
    const $set: Partial<SessionDoc> = { session, expires: ctx.expires };
    const $unset: Record<string, ''> = { sessTouch: '' };
    if (typeof ctx.userKey === 'string') $set.sessUser = ctx.userKey;
    else if (ctx.userKey === null) $unset.sessUser = '';
    await this.col.updateOne({ _id: sid }, { $set, $unset }, { upsert: true, ...this.writeOpts });
  }

  destroy(sid: string): Promise<void>;
  /** express-session's callback form (added by acceptCallbacks). */
  destroy(sid: string, cb: Callback): void;
  async destroy(sid: string): Promise<void> {
    this.check(sid);
    await this.init();
    await this.col.deleteOne({ _id: sid }, this.writeOpts);
  }

  /**
   * Refresh the expiry in one update of a live document: `expires`, and the cookie (beside the data, in
   * `sessTouch`, valid while `expires` is unchanged). The data is never rewritten; a missing or expired
   * document is not recreated, and no error is raised for it.
   */
  async touch(sid: string, record: SessionRecord, ctx: WriteContext): Promise<void> {
    this.check(sid);
    await this.init();
    if (ctx.expires.getTime() <= Date.now()) {
      await this.col.deleteOne({ _id: sid }, this.writeOpts);
      return;
    }
    const cookie = JSON.parse(JSON.stringify(record.cookie)) as Record<string, unknown>;
    await this.col.updateOne({ _id: sid, expires: { $gt: new Date() } }, { $set: { expires: ctx.expires, sessTouch: { cookie, expires: ctx.expires } } }, this.writeOpts);
  }

  /**
   * Apply a patch atomically. Embedded layout: one update with `$set`/`$unset` of the patched keys. String
   * layout: a compare-and-set update (`session` still what was read), retried on conflict.
   */
  async patch(sid: string, p: SessionPatch, ctx: WriteContext): Promise<boolean> {
    this.check(sid);
    await this.init();
    if (!this.wholeDocumentUpdates) return this.patchOnce(sid, p, ctx);
    // A lock of its own ("patch:<sid>"), so a request that holds the session's lock can still patch.
    const lock = await this.takeLock(`patch:${sid}`, 10_000, 10_000);
    try {
      return await this.patchOnce(sid, p, ctx);
    } finally {
      await lock.release();
    }
  }

  private async patchOnce(sid: string, p: SessionPatch, ctx: WriteContext): Promise<boolean> {
    if (ctx.expires.getTime() <= Date.now()) {
      const r = await this.col.deleteOne({ _id: sid }, this.writeOpts);
      return r.deletedCount > 0;
    }
    const userSet: Partial<SessionDoc> = typeof ctx.userKey === 'string' ? { sessUser: ctx.userKey } : {};
    const userUnset: Record<string, ''> = ctx.userKey === null ? { sessUser: '' } : {};
    if (!this.stringify) {
      const set: Record<string, unknown> = { 'session.cookie': JSON.parse(JSON.stringify(p.cookie)), expires: ctx.expires, ...userSet };
      const values = JSON.parse(JSON.stringify(p.set)) as Record<string, unknown>;
      assertSafeKeys(values);
      for (const k of Object.keys(values)) set[`session.${k}`] = values[k];
      const unset: Record<string, ''> = { sessTouch: '', ...userUnset };
      for (const k of p.unset) if (!(k in values) && k !== 'cookie') unset[`session.${assertSafeKey(k)}`] = '';
      const r = await this.col.updateOne({ _id: sid, ...this.live() }, { $set: set, $unset: unset }, this.writeOpts);
      return r.matchedCount > 0;
    }
    for (let attempt = 0; attempt < 50; attempt++) {
      const doc = await this.col.findOne({ _id: sid, ...this.live() });
      if (!doc) return false;
      const cur = this.decode(doc);
      if (this.expired(cur, doc)) return false;
      const next: SessionRecord = { cookie: p.cookie };
      for (const k of Object.keys(cur)) if (k !== 'cookie') next[k] = cur[k];
      for (const k of p.unset) delete next[k];
      for (const k of Object.keys(p.set)) next[k] = p.set[k];
      const r = await this.col.updateOne(
        { _id: sid, session: doc.session },
        { $set: { session: this.encode(next), expires: ctx.expires, ...userSet }, $unset: { sessTouch: '', ...userUnset } },
        this.writeOpts,
      );
      if (r.matchedCount > 0) return true;
      await new Promise((res) => setTimeout(res, Math.random() * 2 * (attempt + 1)));
    }
    throw new BadDataError('session changed 50 times while being updated: too much contention on one session');
  }

  /** A lock document (`<collection>_locks`, `_id` = sid) with an owner token and an expiry. */
  async lock(sid: string, opts: { ttlMs: number; waitMs: number }): Promise<SessionLock> {
    this.check(sid);
    await this.init();
    return this.takeLock(sid, opts.ttlMs, opts.waitMs);
  }

  private async takeLock(key: string, ttlMs: number, waitMs: number): Promise<SessionLock> {
    const token = randomBytes(16).toString('hex');
    await pollLock(async () => {
      try {
        await this.locks.insertOne({ _id: key, token, expiresAt: new Date(Date.now() + Math.max(1, ttlMs)) }, this.writeOpts);
        return true;
      } catch (err) {
        if (!(err instanceof MongoServerError && err.code === 11000)) throw err;
      }
      // Held: take it over only if its holder's time is up (the next attempt inserts).
      await this.locks.deleteOne({ _id: key, expiresAt: { $lte: new Date() } }, this.writeOpts);
      return false;
    }, waitMs);
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        await this.locks.deleteOne({ _id: key, token }, this.writeOpts);
      },
    };
  }

  async listUser(userKey: string): Promise<UserSessionInfo[]> {
    await this.init();
    const docs = await this.col.find({ sessUser: String(userKey), ...this.live() }).sort({ _id: 1 }).toArray();
    const out: UserSessionInfo[] = [];
    for (const doc of docs) {
      let record: SessionRecord;
      try {
        record = this.decode(doc);
      } catch {
        continue;
      }
      if (this.expired(record, doc)) continue;
      out.push(userSessionInfo(doc._id, record, doc.expires instanceof Date ? doc.expires.getTime() : null));
    }
    return out;
  }

  async destroyUser(userKey: string, except: string[] = []): Promise<number> {
    await this.init();
    const r = await this.col.deleteMany({ sessUser: String(userKey), _id: { $nin: except.map(String) } }, this.writeOpts);
    return r.deletedCount;
  }

  all(): Promise<Record<string, SessionRecord>>;
  /** express-session's callback form (added by acceptCallbacks). */
  all(cb: Callback<Record<string, SessionRecord>>): void;
  async all(): Promise<Record<string, SessionRecord>> {
    await this.init();
    const out: Record<string, SessionRecord> = {};
    for (const doc of await this.col.find(this.live()).toArray()) {
      try {
        const record = this.decode(doc);
        if (!this.expired(record, doc)) out[doc._id] = record;
      } catch {
        // not a session value: left out
      }
    }
    return out;
  }

  /** Every live session, through a cursor read in batches of `batchSize` documents (constant memory). */
  async *scan(opts: { batchSize?: number } = {}): AsyncIterable<StoredSession> {
    await this.init();
    const cursor = this.col.find(this.live(), { batchSize: opts.batchSize ?? 1000 });
    try {
      for await (const doc of cursor) {
        let record: SessionRecord;
        try {
          record = this.decode(doc);
        } catch {
          continue; // not a session value
        }
        if (this.expired(record, doc)) continue;
        yield { id: doc._id, record, expires: doc.expires instanceof Date ? doc.expires.getTime() : null, userKey: doc.sessUser ?? null };
      }
    } finally {
      await cursor.close();
    }
  }

  async ids(): Promise<string[]> {
    await this.init();
    const docs = await this.col.find(this.live(), { projection: { _id: 1 } }).toArray();
    return docs.map((d) => d._id);
  }

  length(): Promise<number>;
  /** express-session's callback form (added by acceptCallbacks). */
  length(cb: Callback<number>): void;
  async length(): Promise<number> {
    await this.init();
    return this.col.countDocuments(this.live());
  }

  /** Remove every session of this collection (and its locks); nothing else in the database. */
  clear(): Promise<void>;
  /** express-session's callback form (added by acceptCallbacks). */
  clear(cb: Callback): void;
  async clear(): Promise<void> {
    await this.init();
    await this.col.deleteMany({}, this.writeOpts);
    await this.locks.deleteMany({}, this.writeOpts);
  }

  /** Stop the interval job, and close the client if this store created it. */
  async close(): Promise<void> {
    this.pruneJob.stop();
    if (this.owned) await this.client.close();
  }
}

acceptCallbacks(MongoStore);

/** The server refused the index (not implemented, bad options): FerretDB v1 answers code 238 for TTL indexes. */
function refused(err: unknown): boolean {
  return err instanceof MongoServerError && [2, 67, 85, 86, 115, 238].includes(Number(err.code));
}

function describe(err: unknown): string {
  return err instanceof MongoServerError ? `code ${String(err.code)}` : (err as Error)?.name ?? 'error';
}

function assertSafeKey(k: string): string {
  if (k.includes('.') || k.startsWith('$') || k.includes('\0')) {
    throw new BadDataError('session keys with "." or a leading "$" cannot be stored in the embedded (stringify: false) layout; use the default string layout');
  }
  return k;
}

/** Every key of an embedded session document, at any depth, must be a plain field name. */
function assertSafeKeys(value: unknown): void {
  if (Array.isArray(value)) {
    for (const v of value) assertSafeKeys(v);
    return;
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Document)) {
      assertSafeKey(k);
      assertSafeKeys(v);
    }
  }
}
