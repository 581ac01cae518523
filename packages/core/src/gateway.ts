import { tracingChannel } from 'node:diagnostics_channel';
import { EventEmitter } from 'node:events';
import type { SessionLock, SessionPatch, SessionRecord, SessionStore, UserSessionInfo, WriteContext } from './contract.js';
import { BadDataError, SessError, StoreTimeoutError, UnsupportedError, toStoreError } from './errors.js';
import { hashedKey, idTag } from './ids.js';
import { log } from './log.js';
import { CallbackStoreAdapter } from './store.js';
import { callEitherWay, isStoreMethod } from './callback.js';

/** Names of the events the middleware emits (see the core README's Events). */
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
 * The context of a `sess:store` tracing channel event: one store operation core performs. A stable API (see
 * docs/observability.md): fields are only ever added.
 */
export interface StoreOperationContext {
  /** `get`, `set`, `touch`, `destroy`, `patch`, `lock`, `unlock`, `listUser` or `destroyUser`. */
  operation: string;
  /** The store's class name (`RedisStore`, `MemoryStore`; an express-session store's own class through the adapter). */
  store: string;
  /** Short SHA-256 tag of the session id, for correlation (never the id); absent for per-user operations. */
  idTag?: string;
  /** The operation's result, on `asyncEnd` (a loaded record is not included: only whether there was one). */
  result?: unknown;
  /** The typed error (SessError), on `error`. */
  error?: SessError;
}

/**
 * `sess:store`, a `node:diagnostics_channel` TracingChannel: `start` (in the caller's async context, with
 * `runStores`, so a span made active there is the operation's parent), `end` (its synchronous part), then
 * `asyncStart`/`asyncEnd` when it settles, `error` before them on failure. With no subscriber the cost is one
 * `hasSubscribers` check per operation.
 */
export const storeChannel = tracingChannel<string, StoreOperationContext>('sess:store');

/** What a store operation calls back with: a typed error, or the value. */
export type Done<T> = (err: SessError | undefined, value?: T) => void;

/**
 * The deadlines of store operations that share one timeout: one timer for all of them instead of a timer
 * per operation (two per request). Operations start in order, so they fall due in order: a linked list
 * (no Map or Set churn per operation), the timer armed for the oldest pending one and re-armed for the
 * next when it fires. Unref'd: a deadline never keeps the process alive (the store's own connection
 * does, while an operation is really pending).
 */
class Deadlines {
  first: Operation<unknown> | null = null;
  last: Operation<unknown> | null = null;
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly ms: number) {}

  add(op: Operation<unknown>): void {
    op.due = op.started + this.ms;
    op.owner = this;
    op.prev = this.last;
    if (this.last) this.last.next = op;
    else this.first = op;
    this.last = op;
    if (this.timer === undefined) this.arm(this.ms);
  }

  unlink(op: Operation<unknown>): void {
    if (op.prev) op.prev.next = op.next;
    else if (this.first === op) this.first = op.next;
    else return; // not in the list
    if (op.next) op.next.prev = op.prev;
    else this.last = op.prev;
    op.prev = op.next = null;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.sweep(), ms);
    this.timer.unref();
  }

  private sweep(): void {
    this.timer = undefined;
    const now = performance.now();
    for (let op = this.first; op; op = this.first) {
      if (op.due > now) {
        this.arm(Math.max(1, Math.ceil(op.due - now)));
        return;
      }
      this.unlink(op);
      op.fail(new StoreTimeoutError(op.operation, this.ms));
    }
  }
}

const byTimeout = new Map<number, Deadlines>();

function deadlines(ms: number): Deadlines {
  let d = byTimeout.get(ms);
  if (!d) {
    d = new Deadlines(ms);
    if (byTimeout.size < 64) byTimeout.set(ms, d);
  }
  return d;
}

/** One store operation in flight: it settles once, with the store's answer or at its deadline. */
class Operation<T> {
  readonly started = performance.now();
  settled = false;
  due = 0;
  owner: Deadlines | null = null;
  prev: Operation<unknown> | null = null;
  next: Operation<unknown> | null = null;

  /** The tracing context, when `sess:store` has subscribers. */
  trace: StoreOperationContext | undefined;

  constructor(
    private readonly gw: StoreGateway,
    readonly operation: string,
    private readonly sid: string | undefined,
    private readonly event: SessEventName | undefined,
    private readonly done: Done<T>,
  ) {}

  /** Follow the store's promise (or call `fn` and follow what it returns). */
  watch(fn: () => Promise<T>): void {
    let p: Promise<T>;
    try {
      p = fn();
    } catch (err) {
      // As a rejection would be: never back into the caller before it returns.
      queueMicrotask(() => this.fail(err));
      return;
    }
    Promise.resolve(p).then(
      (value) => this.ok(value),
      (err: unknown) => this.fail(err),
    );
  }

  ok(value: T): void {
    if (this.settled) return;
    this.settled = true;
    if (this.owner) this.owner.unlink(this as Operation<unknown>);
    this.gw.succeeded(this.operation, this.sid, this.event, this.started);
    if (this.trace) traceSettled(this.trace, value, undefined);
    this.done(undefined, value);
  }

  fail(err: unknown): void {
    if (this.settled) return;
    this.settled = true;
    if (this.owner) this.owner.unlink(this as Operation<unknown>);
    const typed = this.gw.failed(this.operation, this.sid, this.started, err);
    if (this.trace) traceSettled(this.trace, undefined, typed);
    this.done(typed);
  }
}

/** What a trace says of a result: a record is reduced to whether there was one (its data is the app's). */
function traceResult(value: unknown): unknown {
  if (value === null || value === undefined || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.length;
  return 'cookie' in (value as object) ? true : undefined;
}

/** Publish a traced operation's settlement: `error` (on failure), then `asyncStart` and `asyncEnd`. */
function traceSettled(ctx: StoreOperationContext, value: unknown, err: SessError | undefined): void {
  if (err) {
    ctx.error = err;
    storeChannel.error.publish(ctx);
  } else ctx.result = traceResult(value);
  storeChannel.asyncStart.publish(ctx);
  storeChannel.asyncEnd.publish(ctx);
}

/** The promise of a callback-style operation. */
function promised<T>(start: (done: Done<T>) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => start((err, value) => (err ? reject(err) : resolve(value as T))));
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
  /**
   * A sess store's expiry resolution, when coarser than a millisecond: a touch that would move the expiry
   * by less is not sent (the store keeps whole seconds, say, and a page's burst of requests would each
   * rewrite the same row or key for nothing). 0 for express-session stores, touched on every request as
   * express-session does.
   */
  readonly touchFloor: number;
  /** The store's class name, for traces (the wrapped store's, for an express-session store). */
  readonly storeName: string;
  /** Whether the store is an express-session store behind the callback-store adapter. */
  private readonly adapted: boolean;
  /** Whether the store's class marks its own methods (`acceptCallbacks`: every sess store does). */
  private readonly marksMethods: boolean;

  constructor(
    readonly store: SessionStore,
    readonly events: EventEmitter,
    private readonly timeoutMs: number,
    private readonly hashKey: string | Buffer | undefined,
  ) {
    this.adapted = store instanceof CallbackStoreAdapter;
    this.checksCookieExpiry = !this.adapted;
    const proto = Object.getPrototypeOf(store) as Record<string, unknown> | null;
    this.marksMethods = proto !== null && ['get', 'set', 'touch', 'destroy'].some((m) => isStoreMethod(proto[m]));
    this.touchStoresCookie = store.capabilities.touchCookie !== false;
    const resolution = store.capabilities.expiryResolution;
    this.touchFloor = this.checksCookieExpiry && typeof resolution === 'number' && resolution > 1 ? resolution : 0;
    const named = (store instanceof CallbackStoreAdapter ? store.inner : store) as { constructor?: { name?: string } };
    this.storeName = named.constructor?.name || 'Store';
  }

  /** The context of a traced operation on `sid`. */
  private traceContext(operation: string, sid: string | undefined): StoreOperationContext {
    return sid === undefined ? { operation, store: this.storeName } : { operation, store: this.storeName, idTag: idTag(sid) };
  }

  /**
   * Whether something other than the store's own method stands in `method`'s place: an app's wrapper
   * (counting calls for metrics, a test's `jest.spyOn`, a failure injected the callback way: `store.set =
   * function (sid, sess, cb) {…}`), on the instance, on the prototype or behind a Proxy. Such a method is
   * called both ways (see `callEitherWay`): when it hands its arguments on to the store's own method, that
   * method settles the operation with the WriteContext intact; a replacement of its own settles it by its
   * callback or its promise. For a store that does not mark its own methods (a third party's promise
   * store), only a method replaced on the instance counts. Not for the callback-store adapter, whose own
   * methods are its API.
   */
  private replaced(method: 'get' | 'set' | 'touch' | 'destroy'): boolean {
    if (this.adapted || isStoreMethod((this.store as unknown as Record<string, unknown>)[method])) return false;
    return this.marksMethods || Object.hasOwn(this.store, method);
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

  /** Start `operation`: `fn` calls the store; `done` gets the typed outcome, always asynchronously. */
  private call<T>(operation: string, sid: string | undefined, event: SessEventName | undefined, fn: () => Promise<T>, done: Done<T>, timeoutMs = this.timeoutMs): void {
    const op = new Operation<T>(this, operation, sid, event, done);
    if (timeoutMs > 0) deadlines(timeoutMs).add(op as Operation<unknown>);
    if (!storeChannel.hasSubscribers) {
      op.watch(fn);
      return;
    }
    const ctx = (op.trace = this.traceContext(operation, sid));
    storeChannel.start.runStores(ctx, () => op.watch(fn));
    storeChannel.end.publish(ctx);
  }

  private run<T>(operation: string, sid: string | undefined, fn: () => Promise<T>, event?: SessEventName, timeoutMs = this.timeoutMs): Promise<T> {
    return promised<T>((done) => this.call(operation, sid, event, fn, done, timeoutMs));
  }

  /**
   * Run `operation` on the store's synchronous ops: `done` is called before this returns, with the
   * same typing and events as an asynchronous operation.
   */
  private callSync<T>(operation: string, sid: string, event: SessEventName | undefined, fn: () => T, done: Done<T>): void {
    const started = performance.now();
    const ctx = storeChannel.hasSubscribers ? this.traceContext(operation, sid) : undefined;
    let value: T | undefined;
    let typed: SessError | undefined;
    try {
      value = ctx ? storeChannel.start.runStores(ctx, fn) : fn();
    } catch (err) {
      typed = this.failed(operation, sid, started, err);
    }
    if (typed === undefined) this.succeeded(operation, sid, event, started);
    if (ctx) {
      storeChannel.end.publish(ctx);
      traceSettled(ctx, value, typed);
    }
    done(typed, value);
  }

  /** Report a store operation that succeeded (its event, with the latency). */
  succeeded(operation: string, sid: string | undefined, event: SessEventName | undefined, started: number): void {
    if (event) this.emit(event, sid, { operation, latencyMs: performance.now() - started });
  }

  /** Type and report a store operation's failure (log, `storeError` event); the typed error. */
  failed(operation: string, sid: string | undefined, started: number, err: unknown): SessError {
    const typed = toStoreError(operation, err, sid);
    if (log.enabled) log('store %s failed for %s: %s', operation, sid ? idTag(sid) : '-', typed.code);
    this.emit('storeError', sid, { operation, latencyMs: performance.now() - started, error: typed });
    return typed;
  }

  /**
   * Load a record; a corrupt record (BadDataError from the store, or the wrong shape) is a miss. On a
   * store with synchronous ops, `done` is called before this returns.
   */
  getThen(sid: string, done: Done<SessionRecord | null>): void {
    const got: Done<unknown> = (err, record) => this.got(sid, err, record, done);
    const sync = this.store.sync;
    if (sync !== undefined) this.callSync('get', sid, undefined, () => sync.get(this.key(sid)), got);
    else if (this.replaced('get')) this.call<unknown>('get', sid, undefined, () => callEitherWay(this.store, 'get', [this.key(sid)]), got);
    else this.call<unknown>('get', sid, undefined, () => this.store.get(this.key(sid)), got);
  }

  private got(sid: string, err: SessError | undefined, record: unknown, done: Done<SessionRecord | null>): void {
    if (err) {
      if (err.code === 'SESS_BAD_DATA') return done(undefined, null);
      const cause = (err.cause as { code?: unknown } | undefined)?.code;
      if (err.code === 'SESS_STORE' && cause === 'SESS_BAD_DATA') return done(undefined, null);
      // express-session reads ENOENT as "no such session" (session-file-store's miss; apps replacing get do too).
      if (err.code === 'SESS_STORE' && cause === 'ENOENT') return done(undefined, null);
      return done(err);
    }
    if (record == null) return done(undefined, null);
    if (typeof record !== 'object' || typeof (record as SessionRecord).cookie !== 'object' || (record as SessionRecord).cookie === null) {
      if (log.enabled) log('store returned a record of the wrong shape for %s: treated as a miss', idTag(sid));
      this.emit('storeError', sid, { operation: 'get', error: new BadDataError('store returned a session record without a cookie object') });
      return done(undefined, null);
    }
    done(undefined, record as SessionRecord);
  }

  get(sid: string): Promise<SessionRecord | null> {
    return promised((done) => this.getThen(sid, done));
  }

  /** Write a record; on a store with synchronous ops, `done` is called before this returns. */
  setThen(sid: string, record: SessionRecord, ctx: WriteContext, done: Done<void>): void {
    const sync = this.store.sync;
    if (sync !== undefined) this.callSync('set', sid, 'save', () => sync.set(this.key(sid), record, ctx), done);
    else if (this.replaced('set')) this.call('set', sid, 'save', () => callEitherWay<void>(this.store, 'set', [this.key(sid), record], ctx), done);
    else this.call('set', sid, 'save', () => this.store.set(this.key(sid), record, ctx), done);
  }

  set(sid: string, record: SessionRecord, ctx: WriteContext): Promise<void> {
    return promised((done) => this.setThen(sid, record, ctx, done));
  }

  destroy(sid: string): Promise<void> {
    return promised((done) => this.destroyThen(sid, done));
  }

  /** Destroy a record; on a store with synchronous ops, `done` is called before this returns. */
  destroyThen(sid: string, done: Done<void>): void {
    const sync = this.store.sync;
    if (sync !== undefined) this.callSync('destroy', sid, 'destroy', () => sync.destroy(this.key(sid)), done);
    else if (this.replaced('destroy')) this.call('destroy', sid, 'destroy', () => callEitherWay<void>(this.store, 'destroy', [this.key(sid)]), done);
    else this.call('destroy', sid, 'destroy', () => this.store.destroy(this.key(sid)), done);
  }

  get canTouch(): boolean {
    return typeof this.store.touch === 'function';
  }

  /** Touch a record; on a store with synchronous ops, `done` is called before this returns. */
  touchThen(sid: string, record: SessionRecord, ctx: WriteContext, done: Done<void>): void {
    const sync = this.store.sync;
    if (sync?.touch !== undefined) this.callSync('touch', sid, 'touch', () => sync.touch!(this.key(sid), record, ctx), done);
    else if (this.replaced('touch')) this.call('touch', sid, 'touch', () => callEitherWay<void>(this.store, 'touch', [this.key(sid), record], ctx), done);
    else this.call('touch', sid, 'touch', () => this.store.touch!(this.key(sid), record, ctx), done);
  }

  get canPatch(): boolean {
    return typeof this.store.patch === 'function' && this.store.capabilities.atomicPatch;
  }

  patchThen(sid: string, patch: SessionPatch, ctx: WriteContext, done: Done<boolean>): void {
    this.call('patch', sid, 'save', () => this.store.patch!(this.key(sid), patch, ctx), done);
  }

  get canLock(): boolean {
    return typeof this.store.lock === 'function' && this.store.capabilities.lock;
  }

  lock(sid: string, opts: { ttlMs: number; waitMs: number }): Promise<SessionLock> {
    // The wait is bounded by the lock's own waitMs; the deadline covers a store that never answers.
    const deadline = this.timeoutMs > 0 ? this.timeoutMs + opts.waitMs : 0;
    return this.run('lock', sid, () => this.store.lock!(this.key(sid), opts), undefined, deadline).then((held) => ({
      // Released through the gateway too: typed errors, the deadline and the trace of an `unlock`.
      release: () => this.run('unlock', sid, () => held.release()),
    }));
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
