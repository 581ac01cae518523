import { EventEmitter } from 'node:events';
import type { Request } from 'express';
import { Cookie } from './cookie.js';
import { Session, bindController, sessionController } from './session.js';
import type { SessionRecord, SessionStore, StoreCapabilities, WriteContext } from './contract.js';
import { NO_CAPABILITIES, isSessionStore, recordExpiry } from './contract.js';
import { UnsupportedError } from './errors.js';
import { es5Constructor } from './es5.js';
import { callEitherWay } from './callback.js';

type CompatRequest = Request & { sessionID?: string; session?: Session; sessionStore?: unknown };

/**
 * express-session's `Store` base class, for stores written against express-session: subclass it and
 * implement callback-style `get`, `set`, `destroy` (and optionally `touch`, `all`, `length`, `clear`).
 * `session.Store` is this class, so `require('connect-pg-simple')(session)` and friends work unchanged.
 * Subclass it any way express-session's is: `class extends Store`, or ES5 style with `Store.call(this, opts)`
 * and `util.inherits(MyStore, Store)` (session-file-store, connect-redis 6 and older, …).
 */
class StoreClass extends EventEmitter {
  /** Set by the middleware: give `req` a new, empty session under a new id. */
  declare generate?: (req: Request) => void;

  constructor(_options?: unknown) {
    super();
  }

  /** Destroy `req`'s session and give it a new, empty one (express-session semantics). */
  regenerate(req: CompatRequest, fn: (err?: unknown) => void): void {
    const self = this as unknown as { destroy(sid: string, cb: (err?: unknown) => void): void };
    self.destroy(req.sessionID as string, (err) => {
      if (typeof this.generate !== 'function') {
        fn(err ?? new Error('store.generate is set by the session middleware; use req.session.regenerate()'));
        return;
      }
      this.generate(req);
      fn(err);
    });
  }

  /** Load the session `sid` as a Session object (without a request of its own). */
  load(sid: string, fn: (err?: unknown, sess?: Session) => void): void {
    const self = this as unknown as { get(sid: string, cb: (err: unknown, sess?: SessionRecord | null) => void): void };
    self.get(sid, (err, sess) => {
      if (err) return fn(err);
      if (!sess) return fn();
      const req = { sessionID: sid, sessionStore: this } as unknown as CompatRequest;
      fn(undefined, this.createSession(req, sess));
    });
  }

  /** Build `req.session` from a stored record. */
  createSession(req: CompatRequest, sess: SessionRecord): Session {
    const record = { ...sess, cookie: Cookie.fromData(sess.cookie as unknown as Record<string, unknown>) };
    const previous = req.session;
    const created = new Session(req, record);
    // The request's session methods keep going through the middleware (save, regenerate ...).
    if (previous instanceof Session) bindController(created, sessionController(previous));
    req.session = created;
    return created;
  }
}

/** See {@link StoreClass}: the class, with a constructor that ES5-style subclasses can call. */
export const Store = es5Constructor('Store', StoreClass, (self) => {
  EventEmitter.call(self);
});
export type Store = StoreClass;

/** The methods of an express-session style (callback) store. */
export interface CallbackStore {
  get(sid: string, cb: (err: unknown, sess?: unknown) => void): unknown;
  set(sid: string, sess: unknown, cb?: (err?: unknown) => void): unknown;
  destroy(sid: string, cb?: (err?: unknown) => void): unknown;
  touch?(sid: string, sess: unknown, cb?: (err?: unknown) => void): unknown;
  all?(cb: (err: unknown, all?: unknown) => void): unknown;
  length?(cb: (err: unknown, n?: number) => void): unknown;
  clear?(cb?: (err?: unknown) => void): unknown;
  close?(cb?: (err?: unknown) => void): unknown;
  on?(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** Give a callback store what it expects of express-session: a record whose cookie is a Cookie. */
function asSessionObject(record: SessionRecord): SessionRecord {
  if (record.cookie instanceof Cookie) return record;
  return { ...record, cookie: Cookie.fromData(record.cookie as unknown as Record<string, unknown>) as unknown as SessionRecord['cookie'] };
}

/** Options of {@link fromCallbackStore}. */
export interface CallbackStoreOptions {
  /** Declare that the store shares data across processes (true for database-backed stores). */
  shared?: boolean;
  /** Expiry resolution of the store in ms (1000 for stores that keep seconds). Default 1000. */
  expiryResolution?: number;
}

/**
 * Adapt an express-session style callback store (connect-redis, connect-pg-simple,
 * express-mysql-session, connect-mongo, session-file-store, memorystore, …) to the sess contract.
 */
export class CallbackStoreAdapter implements SessionStore {
  readonly capabilities: StoreCapabilities;
  readonly touch?: SessionStore['touch'];
  readonly ids?: SessionStore['ids'];
  readonly all?: SessionStore['all'];
  readonly length?: SessionStore['length'];
  readonly clear?: SessionStore['clear'];
  readonly close?: SessionStore['close'];

  constructor(
    readonly inner: CallbackStore,
    options: CallbackStoreOptions = {},
  ) {
    const has = (m: string) => typeof (inner as unknown as Record<string, unknown>)[m] === 'function';
    this.capabilities = Object.freeze({
      ...NO_CAPABILITIES,
      touch: has('touch'),
      enumerate: has('all'),
      clear: has('clear'),
      shared: options.shared ?? false,
      expiryResolution: options.expiryResolution ?? 1000,
    });
    if (has('touch')) this.touch = (sid, record) => callEitherWay<void>(inner, 'touch', [sid, asSessionObject(record)]).then(() => undefined);
    if (has('all')) {
      this.all = async () => {
        const out: Record<string, SessionRecord> = {};
        for (const [id, rec] of await this.entries()) out[id] = rec;
        return out;
      };
      this.ids = async () => (await this.entries()).map(([id]) => id);
      this.length = has('length')
        ? async () => Number(await callEitherWay<number>(inner, 'length', []))
        : async () => (await this.entries()).length;
    }
    if (has('clear')) this.clear = () => callEitherWay<void>(inner, 'clear', []).then(() => undefined);
    if (has('close')) this.close = () => callEitherWay<void>(inner, 'close', []).then(() => undefined);
  }

  async get(sid: string): Promise<SessionRecord | null> {
    try {
      const sess = await callEitherWay<SessionRecord | null | undefined>(this.inner, 'get', [sid]);
      return sess ?? null;
    } catch (err) {
      // express-session treats ENOENT (session-file-store's miss) as "no session".
      if ((err as { code?: unknown } | null)?.code === 'ENOENT') return null;
      throw err;
    }
  }

  async set(sid: string, record: SessionRecord, _ctx: WriteContext): Promise<void> {
    await callEitherWay<void>(this.inner, 'set', [sid, asSessionObject(record)]);
  }

  async destroy(sid: string): Promise<void> {
    await callEitherWay<void>(this.inner, 'destroy', [sid]);
  }

  private async entries(): Promise<Array<[string, SessionRecord]>> {
    const all = await callEitherWay<unknown>(this.inner, 'all', []);
    if (all == null) return [];
    if (Array.isArray(all)) {
      return all.map((rec: SessionRecord & { id?: unknown; _id?: unknown; sid?: unknown }) => {
        const id = rec.id ?? rec.sid ?? rec._id;
        if (typeof id !== 'string') throw new UnsupportedError('this store\'s all() lists sessions without their ids');
        return [id, rec];
      });
    }
    if (typeof all === 'object') {
      return Object.entries(all as Record<string, unknown>).map(([id, rec]) => [
        id,
        (typeof rec === 'string' ? JSON.parse(rec) : rec) as SessionRecord,
      ]);
    }
    throw new UnsupportedError('this store\'s all() returned neither an array nor an object');
  }
}

/** Adapt a callback store to the sess contract (a sess store is returned as it is). */
export function fromCallbackStore(store: CallbackStore | SessionStore, options?: CallbackStoreOptions): SessionStore {
  if (isSessionStore(store)) return store;
  return new CallbackStoreAdapter(store as CallbackStore, options);
}

/** Options of {@link toExpressStore}. */
export interface ToExpressStoreOptions {
  /** Store lifetime (ms) of a session whose cookie has no expiry. Default one day. */
  browserSessionTtl?: number;
}

interface ExpressSessionModule {
  Store: new () => EventEmitter;
}

/**
 * Make a sess store usable by express-session: `session({ store: toExpressStore(store, session) })`,
 * where `session` is the express-session module (its `Store` class is extended, as express-session
 * needs its own `createSession`/`regenerate`).
 */
export function toExpressStore(store: SessionStore, expressSession: ExpressSessionModule, options: ToExpressStoreOptions = {}): EventEmitter {
  const ttl = options.browserSessionTtl ?? 86_400_000;
  const ctxOf = (sess: SessionRecord): WriteContext => ({ expires: recordExpiry(sess, ttl) });
  const plain = (sess: SessionRecord): SessionRecord => JSON.parse(JSON.stringify(sess)) as SessionRecord;
  const done = (p: Promise<unknown>, cb?: (err?: unknown, v?: unknown) => void) => {
    p.then((v) => cb?.(undefined, v), (e) => cb?.(e));
  };
  class SessExpressStore extends expressSession.Store {
    get(sid: string, cb: (err?: unknown, v?: unknown) => void) {
      done(store.get(sid).then((r) => r ?? undefined), cb);
    }
    set(sid: string, sess: SessionRecord, cb?: (err?: unknown) => void) {
      done(Promise.resolve().then(() => store.set(sid, plain(sess), ctxOf(sess))), cb);
    }
    destroy(sid: string, cb?: (err?: unknown) => void) {
      done(store.destroy(sid), cb);
    }
  }
  const proto = SessExpressStore.prototype as unknown as Record<string, unknown>;
  if (store.touch) {
    proto.touch = function (sid: string, sess: SessionRecord, cb?: (err?: unknown) => void) {
      done(Promise.resolve().then(() => store.touch!(sid, plain(sess), ctxOf(sess))), cb);
    };
  }
  if (store.all) proto.all = (cb: (err?: unknown, v?: unknown) => void) => done(store.all!(), cb);
  if (store.length) proto.length = (cb: (err?: unknown, v?: unknown) => void) => done(store.length!(), cb);
  if (store.clear) proto.clear = (cb?: (err?: unknown) => void) => done(store.clear!(), cb);
  if (store.close) proto.close = (cb?: (err?: unknown) => void) => done(store.close!(), cb);
  return new SessExpressStore();
}
