import { EventEmitter } from 'node:events';
import type { SessionLock, SessionPatch, SessionRecord, SessionStore, UserSessionInfo, WriteContext } from './contract.js';
import { BadDataError, SessError, StoreTimeoutError, UnsupportedError, toStoreError } from './errors.js';
import { hashedKey, idTag } from './ids.js';
import { log } from './log.js';
import { CallbackStoreAdapter } from './store.js';

/** Names of the events the middleware emits (see docs/events.md). */
export type SessEventName = 'create' | 'load' | 'miss' | 'save' | 'touch' | 'destroy' | 'rotate' | 'storeError';

/** Payload of every event. Ids appear only as a short hash (`idTag`). */
export interface SessEvent {
  /** The event name. */
  type: SessEventName;
  /** Short SHA-256 tag of the session id, for correlation (never the id). */
  idTag?: string;
  /** Store operation behind the event, if any. */
  operation?: string;
  /** How long the store operation took, in ms. */
  latencyMs?: number;
  /** The typed error, for `storeError`. */
  error?: SessError;
}

/**
 * Every store call of the middleware goes through here: the per-operation deadline, error typing
 * (StoreError / StoreTimeoutError, ids redacted), events with latency, and `hashIds` key mapping.
 */
export class StoreGateway {
  /**
   * Whether core checks `cookie.expires` on read. Not for express-session stores: several of them
   * (connect-redis, connect-pg-simple) extend their own TTL on touch without rewriting the stored
   * cookie, so its `expires` goes stale while the session is alive; they expire sessions themselves.
   */
  readonly checksCookieExpiry: boolean;
  /** Whether the store's touch stores the cookie too (false: only the expiry, see `touchCookie`). */
  readonly touchStoresCookie: boolean;

  constructor(
    readonly store: SessionStore,
    readonly events: EventEmitter,
    private readonly timeoutMs: number,
    private readonly hashKey: string | Buffer | undefined,
  ) {
    this.checksCookieExpiry = !(store instanceof CallbackStoreAdapter);
    this.touchStoresCookie = store.capabilities.touchCookie !== false;
  }

  /** The key the store sees for `sid`. */
  key(sid: string): string {
    return this.hashKey === undefined ? sid : hashedKey(sid, this.hashKey);
  }

  /** Emit `type` if anyone listens; the id tag and the rest are only computed then. */
  emit(type: SessEventName, sid?: string, extra?: Omit<SessEvent, 'type' | 'idTag'>): void {
    if (this.events.listenerCount(type) === 0) return;
    this.events.emit(type, { type, idTag: sid === undefined ? undefined : idTag(sid), ...extra });
  }

  private run<T>(operation: string, sid: string | undefined, fn: () => Promise<T>, event?: SessEventName, timeoutMs = this.timeoutMs): Promise<T> {
    const started = performance.now();
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = timeoutMs > 0 ? setTimeout(() => fail(new StoreTimeoutError(operation, timeoutMs)), timeoutMs) : undefined;
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        const typed = toStoreError(operation, err, sid);
        if (log.enabled) log('store %s failed for %s: %s', operation, sid ? idTag(sid) : '-', typed.code);
        this.emit('storeError', sid, { operation, latencyMs: performance.now() - started, error: typed });
        reject(typed);
      };
      let op: Promise<T>;
      try {
        op = fn();
      } catch (err) {
        fail(err);
        return;
      }
      Promise.resolve(op).then((value) => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        if (event) this.emit(event, sid, { operation, latencyMs: performance.now() - started });
        resolve(value);
      }, fail);
    });
  }

  /** Load a record; a corrupt record (BadDataError from the store, or the wrong shape) is a miss. */
  async get(sid: string): Promise<SessionRecord | null> {
    let record: unknown;
    try {
      record = await this.run('get', sid, () => this.store.get(this.key(sid)));
    } catch (err) {
      if (SessError.isInstance(err) && err.code === 'SESS_BAD_DATA') return null;
      if (SessError.isInstance(err) && err.code === 'SESS_STORE' && (err.cause as { code?: unknown } | undefined)?.code === 'SESS_BAD_DATA') return null;
      throw err;
    }
    if (record == null) return null;
    if (typeof record !== 'object' || typeof (record as SessionRecord).cookie !== 'object' || (record as SessionRecord).cookie === null) {
      if (log.enabled) log('store returned a record of the wrong shape for %s: treated as a miss', idTag(sid));
      this.emit('storeError', sid, { operation: 'get', error: new BadDataError('store returned a session record without a cookie object') });
      return null;
    }
    return record as SessionRecord;
  }

  set(sid: string, record: SessionRecord, ctx: WriteContext): Promise<void> {
    return this.run('set', sid, () => this.store.set(this.key(sid), record, ctx), 'save');
  }

  destroy(sid: string): Promise<void> {
    return this.run('destroy', sid, () => this.store.destroy(this.key(sid)), 'destroy');
  }

  get canTouch(): boolean {
    return typeof this.store.touch === 'function';
  }

  touch(sid: string, record: SessionRecord, ctx: WriteContext): Promise<void> {
    return this.run('touch', sid, () => this.store.touch!(this.key(sid), record, ctx), 'touch');
  }

  get canPatch(): boolean {
    return typeof this.store.patch === 'function' && this.store.capabilities.atomicPatch;
  }

  patch(sid: string, patch: SessionPatch, ctx: WriteContext): Promise<boolean> {
    return this.run('patch', sid, () => this.store.patch!(this.key(sid), patch, ctx), 'save');
  }

  get canLock(): boolean {
    return typeof this.store.lock === 'function' && this.store.capabilities.lock;
  }

  lock(sid: string, opts: { ttlMs: number; waitMs: number }): Promise<SessionLock> {
    // The wait is bounded by the lock's own waitMs; the deadline covers a store that never answers.
    const deadline = this.timeoutMs > 0 ? this.timeoutMs + opts.waitMs : 0;
    return this.run('lock', sid, () => this.store.lock!(this.key(sid), opts), undefined, deadline);
  }

  private userIndex(): void {
    if (typeof this.store.listUser !== 'function' || typeof this.store.destroyUser !== 'function' || !this.store.capabilities.userIndex) {
      throw new UnsupportedError('this store has no per-user index (capabilities.userIndex): use a sess store that declares it');
    }
  }

  listUser(userKey: string): Promise<UserSessionInfo[]> {
    this.userIndex();
    return this.run('listUser', undefined, () => this.store.listUser!(userKey));
  }

  /** Destroy a user's sessions but `except` (session ids, or store keys when `keyed`). */
  destroyUser(userKey: string, except: string[], keyed = false): Promise<number> {
    this.userIndex();
    const keys = keyed ? except : except.map((s) => this.key(s));
    return this.run('destroyUser', undefined, () => this.store.destroyUser!(userKey, keys), 'destroy');
  }
}
