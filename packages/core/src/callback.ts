/**
 * express-session's calling conventions for sess stores: node-style callbacks on every store method
 * (`store.get(sid, cb)`, as socket.io handshakes, admin pages and tests written for express-session call
 * it), and calling a method an app replaced on a store instance with a callback-style function.
 */
import type { SessionRecord, WriteContext } from './contract.js';
import { recordExpiry } from './contract.js';
import { BadDataError, InvalidSessionIdError } from './errors.js';

/** Node-style callback, as express-session's methods take them. */
export type Callback<T = void> = (err?: unknown, value?: T) => void;

/**
 * Run `promise` and, when `cb` is given, report to it instead of returning the promise (so a rejection
 * never goes unhandled); without `cb`, return the promise.
 */
export function settle<T, R>(promise: Promise<T>, cb: Callback<T> | undefined, self: R): R | Promise<T> {
  if (typeof cb !== 'function') return promise;
  promise.then(
    (v) => cb(undefined, v),
    (e) => cb(e),
  );
  return self;
}

/**
 * What core's own call of a store method is waiting on (see {@link callEitherWay}): settled once, by the
 * store's own method when the call reaches it (through any wrapper an app put around it), else by the
 * wrapper's callback or returned promise. Shared across copies of core through `Symbol.for` keys.
 */
interface CoreCall {
  /** The WriteContext of a `set`/`touch`. */
  readonly ctx: WriteContext | undefined;
  /** Whether the call reached a sess store's own method (which then settles it with its own promise). */
  reached: boolean;
  /** Settle the call by `p`: the store's own method's outcome. */
  follow(p: Promise<unknown>): void;
}

/** Marks core's callback: its value is the {@link CoreCall}. */
const kCoreCall = Symbol.for('sess.coreCall');
/** Marks the methods {@link acceptCallbacks} installs (a store's own methods, not an app's wrapper). */
const kStoreMethod = Symbol.for('sess.storeMethod');

/**
 * The pending core call of each record core is writing through a wrapped method, so the store's own
 * `set`/`touch` finds its WriteContext even when a wrapper hands on only `(sid, session)` or wraps the
 * callback. Keyed by the record object (core's own, one per write); shared across copies of core.
 */
const pendingWrites: WeakMap<object, CoreCall> = ((globalThis as Record<symbol, unknown>)[Symbol.for('sess.pendingWrites')] ??= new WeakMap()) as WeakMap<object, CoreCall>;

function isContext(value: unknown): value is WriteContext {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && (value as WriteContext).expires instanceof Date;
}

/** The core call a callback belongs to, if it is core's. */
function coreCallOf(cb: unknown): CoreCall | undefined {
  return typeof cb === 'function' ? ((cb as unknown as Record<symbol, CoreCall | undefined>)[kCoreCall]) : undefined;
}

/**
 * Whether `fn` is a sess store's own method as {@link acceptCallbacks} installed it, so core may call it
 * directly with a WriteContext. Anything else in its place (an app's wrapper, `jest.spyOn`, a bound copy, a
 * Proxy's trap) is called through {@link callEitherWay}.
 */
export function isStoreMethod(fn: unknown): boolean {
  return typeof fn === 'function' && (fn as unknown as Record<symbol, unknown>)[kStoreMethod] === true;
}

/**
 * Call `target[method](...args, cb)` for core, whatever stands in the method's place: a sess store's own
 * method, an app's wrapper that hands its arguments on to it (spread or explicit, with or without the
 * callback, returning its result or dropping it, sync or async), or a replacement of its own (callback or
 * promise style). The call settles once:
 * - when it reaches a sess store's own method, by that method's outcome (a wrapper's early return or its
 *   dropped promise cannot settle it first); a wrapper's own throw or rejection still fails it;
 * - otherwise by whichever comes first of the callback, a returned promise, or a throw (a promise that
 *   resolves with nothing, from a function that names a callback parameter, waits for the callback).
 * With `ctx`, the callback carries the context's fields (`expires`, `userKey`, `json`), so a promise-style
 * replacement `set(sid, record, ctx)` reads the context from it, and the store's own `set`/`touch` finds the
 * context however a wrapper hands the record on.
 */
export function callEitherWay<T>(target: object, method: string, args: unknown[], ctx?: WriteContext): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const record = ctx !== undefined && typeof args[1] === 'object' && args[1] !== null ? (args[1] as object) : undefined;
    const finish = (err?: unknown, value?: unknown) => {
      if (done) return;
      done = true;
      if (record && pendingWrites.get(record) === call) pendingWrites.delete(record);
      if (err) reject(err);
      else resolve(value as T);
    };
    const call: CoreCall = {
      ctx,
      reached: false,
      follow(p) {
        this.reached = true;
        p.then(
          (v) => finish(undefined, v),
          (e: unknown) => finish(e ?? new Error(`${method} rejected`)),
        );
      },
    };
    const cb = (err?: unknown, value?: unknown) => finish(err, value);
    Object.defineProperty(cb, kCoreCall, { value: call });
    if (ctx) Object.assign(cb, { expires: ctx.expires, userKey: ctx.userKey, json: ctx.json });
    if (record) pendingWrites.set(record, call);
    const fn = (target as Record<string, (...a: unknown[]) => unknown>)[method]!;
    // A function that names a callback parameter answers through it, as express-session calls it (which
    // reads nothing else): `undefined` from its promise, before the callback, is not its answer. Not for a
    // write with a context, whose promise-style replacement `set(sid, record, ctx)` resolves with nothing.
    const answersByCallback = ctx === undefined && fn.length > args.length;
    let ret: unknown;
    try {
      ret = fn.call(target, ...args, cb);
    } catch (e) {
      finish(e ?? new Error(`${method} threw`));
      return;
    }
    if (ret && typeof (ret as Promise<unknown>).then === 'function') {
      (ret as Promise<unknown>).then(
        // A wrapper that reached the store's own method resolves as it likes (early, or with nothing):
        // the store's outcome decides.
        (v) => {
          if (!call.reached && !(v === undefined && answersByCallback)) finish(undefined, v);
        },
        (e) => finish(e ?? new Error(`${method} rejected`)),
      );
    }
  });
}

/**
 * The last argument a call was really given: wrappers written `function (a, b, c, d) { return f.call(this,
 * a, b, c, d) }` hand trailing `undefined`s on, which mean "not given". Takes `arguments` (not rest
 * parameters: no array per store call on core's path).
 */
function given(args: IArguments): number {
  let n = args.length;
  while (n > 0 && args[n - 1] === undefined) n--;
  return n;
}

/** Mark `fn` as a store's own method (see {@link isStoreMethod}). */
function own<F extends (...a: never[]) => unknown>(fn: F): F {
  Object.defineProperty(fn, kStoreMethod, { value: true });
  return fn;
}

/** Options of {@link acceptCallbacks}. */
export interface AcceptCallbacksOptions {
  /**
   * Store lifetime (ms) of a session written without a WriteContext (express-session's `set(sid, sess)`)
   * whose cookie has no expiry. Default one day, as core's `browserSessionTtl`.
   */
  browserSessionTtl?: number;
}

/**
 * The callback forms {@link acceptCallbacks} adds, as a type (for a store that is typed structurally). A store
 * class declares the ones it can as overloads of its methods; `set`/`touch` keep their promise form in
 * TypeScript, since a callback cannot share the WriteContext parameter's type.
 */
export interface StoreCallbacks {
  get(sid: string, cb: Callback<SessionRecord | undefined>): void;
  set(sid: string, session: object, cb: Callback): void;
  touch(sid: string, session: object, cb: Callback): void;
  destroy(sid: string, cb: Callback): void;
  all(cb: Callback<Record<string, SessionRecord>>): void;
  ids(cb: Callback<string[]>): void;
  length(cb: Callback<number>): void;
  clear(cb: Callback): void;
  close(cb: Callback): void;
}

const SHAPES: Record<string, string> = {
  get: 'get(sid) returning a promise, or get(sid, callback)',
  set: 'set(sid, session, ctx?) returning a promise, or set(sid, session, callback)',
  touch: 'touch(sid, session, ctx?) returning a promise, or touch(sid, session, callback)',
  destroy: 'destroy(sid) returning a promise, or destroy(sid, callback)',
};

function shapeError(store: string, method: string, what: string): TypeError {
  const shape = SHAPES[method] ?? `${method}() returning a promise, or ${method}(callback)`;
  return new TypeError(`${store}.${method}: ${what}; it takes ${shape}`);
}

/** The typed rejection for a session id that is no string: bad input, not a bad call. */
function badId(store: string, method: string, sid: unknown): Promise<never> {
  return Promise.reject(new InvalidSessionIdError(`${store}.${method}: the session id must be a string, got ${sid === null ? 'null' : typeof sid}`));
}

/** The class name of the store a wrapper was called on (a subclass's own, for its errors). */
function nameOf(self: object): string {
  return (self as { constructor?: { name?: string } }).constructor?.name || 'Store';
}

/** Hand a settled promise to a node-style callback, outside the promise chain (a throwing callback is not swallowed). */
function report<T>(p: Promise<T>, cb: Callback<unknown>, map: (v: T) => unknown = (v) => v): void {
  p.then(
    (v) => process.nextTick(cb, null, map(v)),
    (e: unknown) => process.nextTick(cb, e),
  );
}

/**
 * A session as express-session hands it to `set`/`touch` (a Session, Cookie, Dates) as the stored JSON's
 * object; undefined for one without a cookie object (bad data: see {@link badSession}).
 */
function plainRecord(sess: unknown): SessionRecord | undefined {
  if (typeof sess !== 'object' || sess === null || typeof (sess as SessionRecord).cookie !== 'object' || (sess as SessionRecord).cookie === null) return undefined;
  return JSON.parse(JSON.stringify(sess)) as SessionRecord;
}

/** The typed rejection for a session that is not one (no cookie object): bad input, nothing stored. */
function badSession(store: string, method: string): Promise<never> {
  return Promise.reject(new BadDataError(`${store}.${method}: the session must be an object with a cookie object (as req.session is); nothing was stored`));
}

/**
 * Give a sess store class express-session's calling conventions on top of its promise API, on the same
 * methods: `get(sid, cb)`, `set(sid, sess, cb)`, `touch(sid, sess, cb)`, `destroy(sid, cb)`, `all(cb)`,
 * `ids(cb)`, `length(cb)`, `clear(cb)`, `close(cb)`, with the same results either way (a miss calls back with
 * no session, as express-session's MemoryStore; the promise resolves `null`). `set`/`touch` without a
 * WriteContext (express-session's arguments) take the session object as express-session passes it and
 * derive the expiry from its cookie. Arguments of no supported shape throw a TypeError naming the shapes.
 * Core's own calls (a WriteContext, no callback) go straight to the methods. Returns the class.
 */
export function acceptCallbacks<C extends abstract new (...args: never[]) => object>(Class: C, options: AcceptCallbacksOptions = {}): C {
  const ttl = options.browserSessionTtl ?? 86_400_000;
  const proto = Class.prototype as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const has = (m: string) => Object.hasOwn(proto, m) && typeof proto[m] === 'function';

  for (const m of ['get', 'destroy'] as const) {
    if (!has(m)) continue;
    const impl = proto[m]!;
    proto[m] = own(function (this: object, sid: unknown, cb?: unknown) {
      // eslint-disable-next-line prefer-rest-params -- see given()
      if ((cb !== undefined && typeof cb !== 'function') || given(arguments) > 2) throw shapeError(nameOf(this), m, 'unexpected arguments');
      const p = typeof sid === 'string' ? impl.call(this, sid) : badId(nameOf(this), m, sid);
      if (cb === undefined) return p;
      const call = coreCallOf(cb);
      if (call) {
        // Core's call, through a wrapper: this promise settles it, whatever the wrapper does with it.
        call.follow(p);
        return p;
      }
      report(p, cb as Callback<unknown>, (v) => v ?? undefined);
      return undefined;
    }) as (typeof proto)[string];
  }

  for (const m of ['set', 'touch'] as const) {
    if (!has(m)) continue;
    const impl = proto[m]!;
    proto[m] = own(function (this: object, sid: unknown, sess: unknown, ctx?: unknown, cb?: unknown) {
      // eslint-disable-next-line prefer-rest-params -- see given()
      const n = given(arguments);
      // Core's own call: a WriteContext and no callback.
      if (n === 3 && typeof ctx === 'object' && isContext(ctx) && typeof sid === 'string') return impl.call(this, sid, sess, ctx);
      if (typeof ctx === 'function' && cb === undefined) {
        cb = ctx;
        ctx = undefined;
      }
      if ((ctx !== undefined && !isContext(ctx)) || (cb !== undefined && typeof cb !== 'function') || n > 4) {
        throw shapeError(nameOf(this), m, 'unexpected arguments');
      }
      // Core's call through a wrapper: by its callback, or by the record when the wrapper kept the callback
      // to itself or wrapped it.
      const call = coreCallOf(cb) ?? (typeof sess === 'object' && sess !== null ? pendingWrites.get(sess) : undefined);
      if (ctx === undefined && call?.ctx) ctx = call.ctx;
      let record: SessionRecord | undefined;
      let context: WriteContext | undefined;
      if (isContext(ctx)) {
        record = sess as SessionRecord;
        context = { expires: ctx.expires, userKey: ctx.userKey, json: ctx.json };
      } else {
        record = plainRecord(sess);
        if (record) context = { expires: recordExpiry(record, ttl) };
      }
      const p =
        typeof sid !== 'string' ? badId(nameOf(this), m, sid) : record === undefined ? badSession(nameOf(this), m) : impl.call(this, sid, record, context);
      if (call) {
        call.follow(p);
        // A wrapper's own callback (timing it, say) is still called back.
        if (cb !== undefined && coreCallOf(cb) !== call) report(p, cb as Callback<unknown>, () => undefined);
        return p;
      }
      if (cb === undefined) return p;
      report(p, cb as Callback<unknown>, () => undefined);
      return undefined;
    }) as (typeof proto)[string];
  }

  for (const m of ['all', 'ids', 'length', 'clear', 'close'] as const) {
    if (!has(m)) continue;
    const impl = proto[m]!;
    proto[m] = own(function (this: object, cb?: unknown) {
      // eslint-disable-next-line prefer-rest-params -- see given()
      const n = given(arguments);
      if (cb === undefined && n === 0) return impl.call(this);
      if (typeof cb !== 'function' || n > 1) throw shapeError(nameOf(this), m, 'unexpected arguments');
      const p = impl.call(this);
      const call = coreCallOf(cb);
      if (call) {
        call.follow(p);
        return p;
      }
      report(p, cb as Callback<unknown>, m === 'clear' || m === 'close' ? () => undefined : undefined);
      return undefined;
    }) as (typeof proto)[string];
  }
  return Class;
}
