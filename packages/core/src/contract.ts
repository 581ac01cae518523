import type { CookieData } from './cookie.js';

/**
 * The record a store keeps for a session: the same JSON express-session stores, a `cookie` object
 * (`originalMaxAge`, ISO `expires`, attributes) followed by the application's keys.
 */
export interface SessionRecord {
  cookie: CookieData;
  [key: string]: unknown;
}

/**
 * Where a store reports its own expiry (ms since the epoch) of a record whose cookie has no `expires` (a
 * browser-session cookie, express-session's default): `record[STORE_EXPIRES] = ms` on the record `get()`
 * returns. The stored JSON does not say when such a session expires (the store's TTL or expiry column does),
 * so without it core cannot tell how recently the session was touched, and `touchAfter` and the touch floor
 * could not apply: every unchanged request would touch. A symbol: never serialised, never a session key.
 * `Symbol.for`, so two copies of core agree. `withStoreExpiry()` sets it.
 */
export const STORE_EXPIRES: unique symbol = Symbol.for('sess.storeExpires') as never;

/**
 * @internal Core's JSON of a write's `record.cookie`, beside `ctx.json` (which starts with it), under a symbol of
 * the write context: an in-process store that keeps the cookie's place in the JSON (MemoryStore) reads it instead
 * of serialising the cookie again, when `of` is the very cookie object it was handed.
 */
export const COOKIE_JSON: unique symbol = Symbol('sess.cookieJson') as never;
export type WithCookieJson = WriteContext & { [COOKIE_JSON]?: { of: unknown; json: string } };

/** The store's expiry of a browser-session record, when the store reported one (`STORE_EXPIRES`). */
export function storeExpiresOf(record: SessionRecord): number | undefined {
  const v = (record as unknown as Record<symbol, unknown>)[STORE_EXPIRES];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Report `ms` as the store's expiry of `record` (see `STORE_EXPIRES`); returns the record. */
export function setStoreExpires(record: SessionRecord, ms: number): SessionRecord {
  (record as unknown as Record<symbol, unknown>)[STORE_EXPIRES] = ms;
  return record;
}

/** What core tells a store with every write. */
export interface WriteContext {
  /**
   * Absolute expiry of the record. Every sess store expires the record at this time (core also checks
   * expiry on read). Derived from `cookie.expires`, or from core's `browserSessionTtl` for a
   * browser-session cookie.
   */
  expires: Date;
  /** The user key (`userKey` option) for the per-user index, or `null` when the session has no user. */
  userKey?: string | null;
  /**
   * `JSON.stringify(record)`, as core already serialised it. A store that keeps JSON may write this
   * instead of serialising the record again. Absent when the caller did not serialise. Never use it
   * in `patch()`: it is the requesting side's whole record, not the merged one.
   */
  json?: string;
}

/** One live session as `scan()` yields it. */
export interface StoredSession {
  /** The session id (never log it). */
  id: string;
  /** The record, as `get()` returns it. */
  record: SessionRecord;
  /** The store's own expiry (ms since the epoch), which a copy must keep; `null` if the store keeps none. */
  expires: number | null;
  /** The user key the per-user index holds it under, if any. */
  userKey?: string | null;
}

/** A patch of a session's top-level keys, applied atomically by stores with `atomicPatch`. */
export interface SessionPatch {
  /** Keys to set, with their new values. */
  set: Record<string, unknown>;
  /** Keys to remove. */
  unset: string[];
  /** The cookie object to store. */
  cookie: CookieData;
}

/** One of a user's sessions, as listed by the per-user index. */
export interface UserSessionInfo {
  /** The session id as the store knows it (a hash when `hashIds` is on). */
  id: string;
  /** When the session was created (ms since epoch), if known. */
  createdAt: number | null;
  /** When the session was last written or touched (ms since epoch), if known. */
  lastSeenAt: number | null;
  /** When the session expires (ms since epoch). */
  expiresAt: number | null;
  /** The stored record. */
  record: SessionRecord;
}

/** A held per-session lock. */
export interface SessionLock {
  /** Release the lock. Idempotent; releases only if this holder still owns it. */
  release(): Promise<void>;
}

/**
 * What a store implements. The conformance suite reads this declaration: a capability declared but
 * not implemented (or implemented but not declared) fails a case.
 */
export interface StoreCapabilities {
  /** `touch()` refreshes expiry without rewriting data. */
  touch: boolean;
  /**
   * Whether `touch()` also stores the cookie it is given (default `true`). `false` for a store whose touch,
   * like its incumbent's, moves only its own expiry and reports it on read as `cookie.expires` (see
   * `withStoreExpiry`); core then writes the cookie instead of touching when a cookie attribute other than
   * its expiry changed (`req.session.cookie.maxAge = …`), so that change is not lost: an atomic patch of the
   * cookie alone where the store has one (never bringing back a session destroyed meanwhile), else a save.
   */
  touchCookie?: boolean;
  /** `ids()`, `all()` and `length()` list live sessions. */
  enumerate: boolean;
  /** `clear()` removes every session of this store's namespace (and nothing else). */
  clear: boolean;
  /** Data is shared across processes (two instances on one namespace see each other's writes). */
  shared: boolean;
  /** Expiry resolution in milliseconds (1000 for stores that keep seconds). */
  expiryResolution: number;
  /** `patch()` applies a SessionPatch atomically. */
  atomicPatch: boolean;
  /** `lock()` takes a per-session lock held across processes. */
  lock: boolean;
  /** `listUser()` / `destroyUser()` implement the per-user index. */
  userIndex: boolean;
}

/**
 * An in-process store's operations, answered synchronously: what the promise-based methods would resolve,
 * returned instead (and what they would reject with, thrown). Optional (`SessionStore.sync`): core then
 * calls these, so a request on such a store never waits for a promise; there is no deadline, as nothing
 * is awaited.
 */
export interface SyncStoreOps {
  get(sid: string): SessionRecord | null;
  set(sid: string, record: SessionRecord, ctx: WriteContext): void;
  destroy(sid: string): void;
  touch?(sid: string, record: SessionRecord, ctx: WriteContext): void;
}

/**
 * The promise-based store contract of sess (docs/store-contract.md). Required: `get`, `set`,
 * `destroy`, `capabilities`. Everything else is optional and declared in `capabilities`.
 */
export interface SessionStore {
  /** What this store implements. */
  readonly capabilities: StoreCapabilities;
  /** The record, or `null` for a missing or expired id. Never rejects for a missing id. */
  get(sid: string): Promise<SessionRecord | null>;
  /** Write the whole record, expiring at `ctx.expires`. An expiry in the past deletes instead. */
  set(sid: string, record: SessionRecord, ctx: WriteContext): Promise<void>;
  /** Remove the record. Idempotent. */
  destroy(sid: string): Promise<void>;
  /**
   * Refresh the expiry without rewriting data, and store `record.cookie` unless `capabilities.touchCookie`
   * is false; never recreates a missing record.
   */
  touch?(sid: string, record: SessionRecord, ctx: WriteContext): Promise<void>;
  /** Ids of live sessions. */
  ids?(): Promise<string[]>;
  /** Live sessions by id. */
  all?(): Promise<Record<string, SessionRecord>>;
  /** Number of live sessions. */
  length?(): Promise<number>;
  /** Remove every session of this store's namespace. */
  clear?(): Promise<void>;
  /**
   * Every live session, one at a time, read in batches of about `batchSize` (constant memory however many
   * there are): what `sess export`, `sess migrate` and `MigratingStore` read. Each with the store's own
   * expiry. Sessions written while a scan runs may or may not be yielded; none is yielded twice.
   */
  scan?(opts?: { batchSize?: number }): AsyncIterable<StoredSession>;
  /** Delete expired sessions now (stores whose backend does not expire them itself). Resolves how many, if known. */
  prune?(): Promise<number | void> | number | void;
  /** Release every handle the store opened (not those it was given). */
  close?(): Promise<void>;
  /**
   * Apply `patch` atomically on top of the stored record. Resolves `false` (and writes nothing) when
   * the record no longer exists, so a destroyed session is never brought back.
   */
  patch?(sid: string, patch: SessionPatch, ctx: WriteContext): Promise<boolean>;
  /** Acquire the per-session lock, waiting up to `waitMs`; the lock expires by itself after `ttlMs`. */
  lock?(sid: string, opts: { ttlMs: number; waitMs: number }): Promise<SessionLock>;
  /** Live sessions indexed under `userKey`. */
  listUser?(userKey: string): Promise<UserSessionInfo[]>;
  /** Destroy the sessions indexed under `userKey`, except the ids in `except`. Resolves how many went. */
  destroyUser?(userKey: string, except?: string[]): Promise<number>;
  /**
   * For a store whose data lives in this process: the same operations, answered synchronously (see
   * {@link SyncStoreOps}). Read on every operation, so a store can withdraw it (say, when a method was
   * replaced on the instance).
   */
  readonly sync?: SyncStoreOps | undefined;
}

/** Capabilities of a store that declares nothing beyond the required methods. */
export const NO_CAPABILITIES: StoreCapabilities = Object.freeze({
  touch: false,
  enumerate: false,
  clear: false,
  shared: false,
  expiryResolution: 1,
  atomicPatch: false,
  lock: false,
  userIndex: false,
});

/** True for an object that implements the sess store contract (as opposed to a callback store). */
export function isSessionStore(value: unknown): value is SessionStore {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as SessionStore).capabilities === 'object' &&
    (value as SessionStore).capabilities !== null &&
    typeof (value as SessionStore).get === 'function' &&
    typeof (value as SessionStore).set === 'function' &&
    typeof (value as SessionStore).destroy === 'function'
  );
}

/** Expiry of a record: its cookie's `expires`, else `fallbackMs` from now. */
export function recordExpiry(record: { cookie?: { expires?: unknown } } | null | undefined, fallbackMs: number, now = Date.now()): Date {
  const e = record?.cookie?.expires;
  if (e instanceof Date) return e;
  if (typeof e === 'string' || typeof e === 'number') {
    const d = new Date(e);
    if (!Number.isNaN(d.getTime())) return d;
  }
  return new Date(now + fallbackMs);
}
