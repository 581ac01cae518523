/**
 * Pieces every sess store needs, for store authors: decoding a stored record, the cookie's expiry, the
 * stored JSON, the per-user listing entry, a lock-polling loop and the jittered prune timer.
 */
import { setStoreExpires } from './contract.js';
import type { SessionRecord, UserSessionInfo } from './contract.js';
import { BadDataError, ConfigError, LockTimeoutError } from './errors.js';
import { unknownOptionText } from './suggest.js';

/** The key sess stores keep the per-user index's user key under, inside the stored JSON. */
export const USER_FIELD = '__sessUser';

/**
 * A stored value as a session record: a JSON string (or Buffer), or an already parsed object. A value that
 * is not JSON, or not an object with a `cookie` object, is a `BadDataError` naming the backend, never the id.
 */
export function decodeRecord(value: unknown, backend: string): SessionRecord {
  let raw: unknown = value;
  if (typeof raw === 'string' || Buffer.isBuffer(raw)) {
    try {
      raw = JSON.parse(String(raw));
    } catch (err) {
      throw new BadDataError(`a ${backend} session value is not valid JSON`, { cause: err });
    }
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw) || typeof (raw as SessionRecord).cookie !== 'object' || (raw as SessionRecord).cookie === null) {
    throw new BadDataError(`a ${backend} session value is not a session record`);
  }
  return raw as SessionRecord;
}

/** Remove and return the user key a store kept in the record (`__sessUser`), or null. */
export function takeUserKey(record: SessionRecord): string | null {
  const userKey = typeof record[USER_FIELD] === 'string' ? (record[USER_FIELD] as string) : null;
  delete record[USER_FIELD];
  return userKey;
}

/** True when the record's `cookie.expires` is at or before `now` (a browser-session cookie never is). */
export function cookieExpired(record: SessionRecord, now = Date.now()): boolean {
  const e = record.cookie.expires;
  if (e == null) return false;
  const t = new Date(e as string).getTime();
  return !Number.isNaN(t) && t <= now;
}

/**
 * How sess does what the incumbent stores' own options did, for the options every store refuses
 * (`refuseOptions`): core owns expiry and touching, so one setting covers every store.
 */
export const INCUMBENT_OPTION_HINTS = {
  ttl: 'core gives every write its expiry: the cookie\'s maxAge, or browserSessionTtl (ms) on session() for a cookie without one',
  disableTouch: 'set touchAfter (ms) on session() to touch an unchanged session at most once per interval',
  touchAfter: 'set touchAfter (in ms, not seconds) on session() instead',
  disableTTL: 'every sess session expires; use a long cookie.maxAge',
  serializer: 'sessions are stored as JSON, as the incumbent does by default, so every sess store and the incumbent can read them',
} as const;

/**
 * Refuse options a store's incumbent takes but sess does elsewhere (or not at all), so a configuration
 * copied from connect-redis, connect-pg-simple … fails at construction with the way to do it in sess,
 * instead of being silently ignored. `hints` maps each such option to that explanation.
 */
export function refuseOptions(store: string, options: object | undefined, hints: Record<string, string>, names?: KnownOptions): void {
  if (!options) return;
  for (const key of Object.keys(hints)) {
    if ((options as Record<string, unknown>)[key] !== undefined) throw new ConfigError(`${store} does not take the "${key}" option: ${hints[key]}`);
  }
  if (names) checkOptions(store, options, names);
}

/** The option names a store takes, for {@link checkOptions}. */
export interface KnownOptions {
  /** Every option name (a dotted `schema.tableName` names a nested one, for suggestions). */
  known: readonly string[];
  /** A sentence added to the error, say where the driver's other options go. */
  more?: string;
}

/**
 * Refuse option names a store does not know (a misspelled `tableName` or `prefix` would silently put two
 * applications in one table or key space): a `ConfigError` naming the closest known option.
 */
export function checkOptions(store: string, options: object | undefined, names: KnownOptions): void {
  if (!options) return;
  for (const key of Object.keys(options)) {
    if ((options as Record<string, unknown>)[key] === undefined || names.known.includes(key)) continue;
    throw new ConfigError(unknownOptionText(store, key, names.known) + (names.more ? ` (${names.more})` : ''));
  }
}

/**
 * The record as the store's own expiry sees it. connect-redis, connect-pg-simple, express-mysql-session and
 * connect-mongo all touch a session by moving only their expiry (TTL, `expire`/`expires` column or field),
 * so the stored `cookie.expires` of a session kept alive by touches goes stale while the session is live;
 * sess stores with an expiry-only touch do the same. A store reads its expiry (`storeExpiresMs`, ms since
 * the epoch) with the record and reports it as `cookie.expires` when it is later than the stored one by more
 * than `slackMs` (the backend's rounding), so core neither drops a live session nor re-touches it for
 * nothing. A browser-session cookie (no `expires`) keeps its cookie as it is; the store's expiry is reported
 * beside it (`STORE_EXPIRES`), so `touchAfter` and the touch floor apply to it too. Returns the same record.
 */
export function withStoreExpiry(record: SessionRecord, storeExpiresMs: number | null | undefined, slackMs = 1000): SessionRecord {
  const e = record.cookie.expires;
  if (storeExpiresMs == null || !Number.isFinite(storeExpiresMs)) return record;
  if (e == null) return setStoreExpires(record, storeExpiresMs);
  const t = new Date(e as string).getTime();
  if (Number.isNaN(t) || storeExpiresMs > t + slackMs) record.cookie.expires = new Date(storeExpiresMs).toISOString();
  return record;
}

/**
 * The JSON to store: `json` when core already serialised the record (cookie first), else the record
 * serialised with `cookie` first, as express-session stores it; `__sessUser` appended when `userKey` is given.
 */
export function recordJson(record: SessionRecord, json?: string, userKey: string | null = null): string {
  let body = json !== undefined && json.startsWith('{"cookie":') ? json : undefined;
  if (body === undefined) {
    const ordered: SessionRecord = { cookie: record.cookie };
    for (const k of Object.keys(record)) if (k !== 'cookie' && k !== USER_FIELD) ordered[k] = record[k];
    body = JSON.stringify(ordered);
  }
  return userKey === null ? body : body.slice(0, -1) + `,"${USER_FIELD}":${JSON.stringify(userKey)}}`;
}

/**
 * One entry of `listUser()`: creation time from sess's `__sess` bookkeeping, and the last time it was seen,
 * derived from the expiry (every write and touch sets it to "now + maxAge").
 */
export function userSessionInfo(id: string, record: SessionRecord, expiresAt: number | null): UserSessionInfo {
  const meta = record.__sess as { createdAt?: number } | undefined;
  const cookieExpiry = record.cookie.expires ? new Date(record.cookie.expires as string).getTime() : NaN;
  const expiry = Number.isNaN(cookieExpiry) ? expiresAt : cookieExpiry;
  const maxAge = record.cookie.originalMaxAge;
  return {
    id,
    createdAt: typeof meta?.createdAt === 'number' ? meta.createdAt : null,
    lastSeenAt: typeof maxAge === 'number' && expiry !== null ? expiry - maxAge : null,
    expiresAt: expiry,
    record,
  };
}

/**
 * Call `attempt` until it resolves true, backing off from 5 ms to 50 ms, for at most `waitMs`; then a
 * `LockTimeoutError`.
 */
export async function pollLock(attempt: () => Promise<boolean>, waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  let delay = 5;
  for (;;) {
    if (await attempt()) return;
    if (Date.now() >= deadline) throw new LockTimeoutError(waitMs);
    await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(1, deadline - Date.now()))));
    delay = Math.min(delay * 2, 50);
  }
}

/**
 * A periodic job that never keeps the process alive: each run waits 50% to 150% of `intervalMs` (so
 * instances spread out), failures go to `onError` and the job goes on.
 */
export class PruneTimer {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly intervalMs: number,
    private readonly run: () => Promise<unknown>,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Schedule the next run (no-op when one is scheduled or the timer is stopped). */
  start(): this {
    if (this.stopped || this.timer) return this;
    const delay = Math.ceil(this.intervalMs / 2 + this.intervalMs * Math.random());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.run()
        .catch(this.onError)
        .finally(() => this.start());
    }, delay);
    this.timer.unref();
    return this;
  }

  /** True while a run is scheduled. */
  get scheduled(): boolean {
    return this.timer !== null;
  }

  /** The scheduled timer, if any (for tests: it is unref'd). */
  get handle(): NodeJS.Timeout | null {
    return this.timer;
  }

  /** Stop for good. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

/** One key's entry in a {@link TurnBatch}: its latest value, and every caller waiting on it. */
export interface TurnBatchEntry<V, R> {
  value: V;
  waiters: Array<{ resolve: (result: R) => void; reject: (err: unknown) => void }>;
}

/**
 * The calls a store receives within one turn of the event loop, by key, handed to `flush` together in
 * `setImmediate`: what a SQL store needs to send a turn's reads, or its writes, as one statement on one
 * connection instead of one per request on as many pool connections. A second call for a key joins the first
 * (`add(key, value, 'join')`, for reads) or replaces its value and moves it last, so the entries keep the order
 * of the latest calls (`'replace'`, for writes: the later write wins, as two statements in that order would).
 * Every call is asked before the flush sends anything, so each sees every write that completed before it.
 */
export class TurnBatch<V, R> {
  private pending: Map<string, TurnBatchEntry<V, R>> | null = null;

  constructor(private readonly flush: (entries: Map<string, TurnBatchEntry<V, R>>) => void) {}

  add(key: string, value: V, mode: 'join' | 'replace'): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      let batch = this.pending;
      if (batch === null) {
        const b = (batch = this.pending = new Map());
        setImmediate(() => {
          this.pending = null;
          this.flush(b);
        });
      }
      const prev = batch.get(key);
      const waiter = { resolve, reject };
      if (prev === undefined) batch.set(key, { value, waiters: [waiter] });
      else if (mode === 'join') prev.waiters.push(waiter);
      else {
        batch.delete(key);
        batch.set(key, { value, waiters: [...prev.waiters, waiter] });
      }
    });
  }

  /**
   * A batch of reads: a turn with one key asks `one(key)`, a turn with several asks `many(keys)` once (a map of
   * the found keys); every caller of a key gets its result (undefined: not found), and a failure fails them all.
   */
  static reads<R>(one: (key: string) => Promise<R | undefined>, many: (keys: string[]) => Promise<Map<string, R>>): TurnBatch<null, R | undefined> {
    return new TurnBatch<null, R | undefined>((batch) => {
      const keys = [...batch.keys()];
      const found = keys.length === 1 ? one(keys[0]!).then((r) => new Map(r === undefined ? [] : [[keys[0]!, r]])) : many(keys);
      found.then(
        (byKey) => {
          for (const [key, { waiters }] of batch) for (const w of waiters) w.resolve(byKey.get(key));
        },
        (err: unknown) => {
          for (const { waiters } of batch.values()) for (const w of waiters) w.reject(err);
        },
      );
    });
  }

  /**
   * A batch of writes: a turn with one key writes it with `one`, a turn with several with `many` once; if that
   * fails, each entry is written with `one`, so a value the backend refuses fails only its own callers.
   */
  static writes<V>(one: (key: string, value: V) => Promise<unknown>, many: (entries: Array<[string, V]>) => Promise<unknown>): TurnBatch<V, void> {
    return new TurnBatch<V, void>((batch) => {
      const entries = [...batch];
      const alone = ([key, e]: [string, TurnBatchEntry<V, void>]) => TurnBatch.settle(e, one(key, e.value).then(() => undefined));
      if (entries.length === 1) return alone(entries[0]!);
      many(entries.map(([key, e]) => [key, e.value])).then(
        () => {
          for (const [, e] of entries) for (const w of e.waiters) w.resolve();
        },
        () => entries.forEach(alone),
      );
    });
  }

  /** Settle every caller of `entry` with `p`'s outcome. */
  static settle<V, R>(entry: TurnBatchEntry<V, R>, p: Promise<R>): void {
    p.then(
      (r) => {
        for (const w of entry.waiters) w.resolve(r);
      },
      (err: unknown) => {
        for (const w of entry.waiters) w.reject(err);
      },
    );
  }
}
