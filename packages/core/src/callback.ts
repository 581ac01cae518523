/**
 * express-session's calling conventions for sess stores: node-style callbacks on every store method
 * (`store.get(sid, cb)`, as socket.io handshakes, admin pages and tests written for express-session call
 * it), and calling a method an app replaced on a store instance with a callback-style function.
 */
import type { SessionRecord, WriteContext } from './contract.js';
import { recordExpiry } from './contract.js';
import { InvalidSessionIdError } from './errors.js';

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

/** Marks a callback that also carries a WriteContext (see {@link callEitherWay}). */
const kContext = Symbol.for('sess.writeContextCallback');

type ContextCallback = Callback<unknown> & WriteContext & { [kContext]: true };

function isContext(value: unknown): value is WriteContext {
  return typeof value === 'object' && value !== null && (value as WriteContext).expires instanceof Date;
}

/**
 * Call `target[method](...args, cb)` and settle on whichever comes first: the callback, a returned promise,
 * or a throw. With `ctx`, the callback carries the context's fields (`expires`, `userKey`, `json`), so one
 * call fits both conventions: a callback-style `set(sid, sess, cb)` calls it back, a promise-style
 * `set(sid, record, ctx)` reads the context from it and returns a promise.
 */
export function callEitherWay<T>(target: object, method: string, args: unknown[], ctx?: WriteContext): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const cb = (err?: unknown, value?: unknown) => {
      if (done) return;
      done = true;
      if (err) reject(err);
      else resolve(value as T);
    };
    if (ctx) Object.assign(cb, { expires: ctx.expires, userKey: ctx.userKey, json: ctx.json, [kContext]: true });
    let ret: unknown;
    try {
      ret = (target as Record<string, (...a: unknown[]) => unknown>)[method]!.call(target, ...args, cb);
    } catch (e) {
      cb(e ?? new Error(`${method} threw`));
      return;
    }
    if (ret && typeof (ret as Promise<unknown>).then === 'function') {
      (ret as Promise<unknown>).then(
        (v) => cb(undefined, v),
        (e) => cb(e ?? new Error(`${method} rejected`)),
      );
    }
  });
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

/** A session as express-session hands it to `set`/`touch` (a Session, Cookie, Dates) as the stored JSON's object. */
function plainRecord(store: string, method: string, sess: unknown): SessionRecord {
  if (typeof sess !== 'object' || sess === null || typeof (sess as SessionRecord).cookie !== 'object' || (sess as SessionRecord).cookie === null) {
    throw shapeError(store, method, 'the session must be an object with a cookie object');
  }
  return JSON.parse(JSON.stringify(sess)) as SessionRecord;
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
  const own = (m: string) => Object.hasOwn(proto, m) && typeof proto[m] === 'function';

  for (const m of ['get', 'destroy'] as const) {
    if (!own(m)) continue;
    const impl = proto[m]!;
    proto[m] = function (this: object, sid: unknown, cb?: unknown) {
      if ((cb !== undefined && typeof cb !== 'function') || arguments.length > 2) throw shapeError(nameOf(this), m, 'unexpected arguments');
      const p = typeof sid === 'string' ? impl.call(this, sid) : badId(nameOf(this), m, sid);
      if (cb === undefined) return p;
      report(p, cb as Callback<unknown>, (v) => v ?? undefined);
      return undefined;
    } as (typeof proto)[string];
  }

  for (const m of ['set', 'touch'] as const) {
    if (!own(m)) continue;
    const impl = proto[m]!;
    proto[m] = function (this: object, sid: unknown, sess: unknown, ctx?: unknown, cb?: unknown) {
      // Core's own call: a WriteContext and no callback.
      if (cb === undefined && isContext(ctx) && typeof sid === 'string' && arguments.length <= 4) return impl.call(this, sid, sess, ctx);
      if (typeof ctx === 'function' && cb === undefined) {
        cb = ctx;
        ctx = (ctx as Partial<ContextCallback>)[kContext] ? ctx : undefined;
      }
      if ((ctx !== undefined && !isContext(ctx)) || (cb !== undefined && typeof cb !== 'function') || arguments.length > 4) {
        throw shapeError(nameOf(this), m, 'unexpected arguments');
      }
      let record: SessionRecord;
      let context: WriteContext;
      if (isContext(ctx)) {
        record = sess as SessionRecord;
        context = { expires: ctx.expires, userKey: ctx.userKey, json: ctx.json };
      } else {
        record = plainRecord(nameOf(this), m, sess);
        context = { expires: recordExpiry(record, ttl) };
      }
      const p = typeof sid === 'string' ? impl.call(this, sid, record, context) : badId(nameOf(this), m, sid);
      if (cb === undefined) return p;
      report(p, cb as Callback<unknown>, () => undefined);
      return undefined;
    } as (typeof proto)[string];
  }

  for (const m of ['all', 'ids', 'length', 'clear', 'close'] as const) {
    if (!own(m)) continue;
    const impl = proto[m]!;
    proto[m] = function (this: object, cb?: unknown) {
      if (cb === undefined && arguments.length <= 1) return impl.call(this);
      if (typeof cb !== 'function' || arguments.length > 1) throw shapeError(nameOf(this), m, 'unexpected arguments');
      report(impl.call(this), cb as Callback<unknown>, m === 'clear' || m === 'close' ? () => undefined : undefined);
      return undefined;
    } as (typeof proto)[string];
  }
  return Class;
}
