import type { Request } from 'express';
import { Cookie } from './cookie.js';
import type { Callback } from './callback.js';
import { settle } from './callback.js';

/**
 * The application's session data. Extend it by declaration merging, as with `@types/express-session`:
 *
 * ```ts
 * declare module '@sess/core' {
 *   interface SessionData { userId: number; cart: string[] }
 * }
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface SessionData {}

/** What the per-request controller (the middleware) does for the session methods. */
export interface SessionController {
  save(sess: Session): Promise<void>;
  reload(sess: Session): Promise<void>;
  destroy(sess: Session): Promise<void>;
  regenerate(sess: Session): Promise<void>;
  rotate(sess: Session): Promise<void>;
  lock(sess: Session): Promise<void>;
}

/** @internal Symbol under which the middleware keeps its per-request controller on `req`. */
export const kController = Symbol.for('sess.controller');

/** Names a stored key may not take: they would shadow a session method or property. */
export const RESERVED_KEYS: ReadonlySet<string> = new Set([
  'id', 'req', '__sess', 'save', 'reload', 'destroy', 'regenerate', 'rotate', 'touch', 'resetMaxAge', 'lock',
  'constructor', '__proto__', 'prototype', 'toJSON', 'hasOwnProperty',
]);

type AnyRequest = Omit<Request, 'session' | 'sessionID' | 'sessionStore'> & { [kController]?: SessionController; sessionID?: string; session?: unknown; sessionStore?: unknown };

/**
 * The controller of a session's request: the one the engine gave the session, else (a Session built by other
 * code for the same request: a store's `createSession`, `new Session(req)`) the one of the request's session.
 */
function controllerOf(sess: Session): SessionController | undefined {
  const own = ownController(sess);
  if (own) return own;
  const req = sess.req as AnyRequest;
  const current = req.session;
  return (current instanceof Session && current !== sess ? ownController(current) : undefined) ?? req[kController];
}

let ownController: (sess: Session) => SessionController | undefined;
let setController: (sess: Session, controller: SessionController | undefined) => void;

/**
 * @internal Give a session its request's controller (kept on the session, not on the request: a property added
 * to an Express request costs a new hidden class per request, since Express gives each request its own).
 */
export function bindController(sess: Session, controller: SessionController | undefined): void {
  setController(sess, controller);
}

/** @internal The controller a session was given (or the one of its request's session). */
export function sessionController(sess: Session): SessionController | undefined {
  return controllerOf(sess);
}

/** Legacy path for a Session built outside the middleware (by a store's `createSession`). */
function legacy(sess: Session, method: 'set' | 'get' | 'destroy', ...args: unknown[]): Promise<unknown> {
  const store = (sess.req as AnyRequest).sessionStore as Record<string, (...a: unknown[]) => unknown> | undefined;
  if (!store || typeof store[method] !== 'function') return Promise.reject(new Error('session is not attached to a store'));
  return new Promise((resolve, reject) => {
    const ret = store[method]!(...args, (err: unknown, v: unknown) => (err ? reject(err) : resolve(v)));
    if (ret && typeof (ret as Promise<unknown>).then === 'function') (ret as Promise<unknown>).then(resolve, reject);
  });
}

/**
 * `req.session`: the application's data as own enumerable properties, plus `cookie`, `id` and the
 * lifecycle methods. Every method returns a promise, or takes a callback as express-session's do.
 */
export class Session {
  // Private fields: not enumerable, not in JSON, and cheaper per request than defineProperty.
  readonly #req: Request;
  readonly #id: string;
  #controller: SessionController | undefined = undefined;
  /** The session cookie. */
  declare cookie: Cookie;

  static {
    ownController = (sess) => (#controller in sess ? sess.#controller : undefined);
    setController = (sess, controller) => {
      if (#controller in sess) sess.#controller = controller;
    };
  }

  constructor(req: Request, data?: Record<string, unknown> | null) {
    this.#req = req;
    this.#id = (req as AnyRequest).sessionID as string;
    if (typeof data === 'object' && data !== null) {
      for (const prop in data) {
        if (!(prop in this) && !RESERVED_KEYS.has(prop)) (this as Record<string, unknown>)[prop] = data[prop];
      }
    }
  }

  /** The session id. Never log it. */
  get id(): string {
    return this.#id;
  }

  /** The request this session belongs to. */
  get req(): Request {
    return this.#req;
  }

  /** Reset the cookie's expiry to now + `originalMaxAge` (done by the middleware on every request). */
  touch(): this {
    return this.resetMaxAge();
  }

  /** Reset the cookie's `maxAge` to `originalMaxAge`. */
  resetMaxAge(): this {
    this.cookie.maxAge = this.cookie.originalMaxAge;
    return this;
  }

  /** Write the session to the store now. */
  save(): Promise<void>;
  save(callback: Callback): this;
  save(callback?: Callback): this | Promise<void> {
    const c = controllerOf(this);
    return settle(c ? c.save(this) : (legacy(this, 'set', this.id, this) as Promise<void>), callback, this);
  }

  /** Replace the data with what the store holds now. */
  reload(): Promise<void>;
  reload(callback: Callback): this;
  reload(callback?: Callback): this | Promise<void> {
    const c = controllerOf(this);
    if (!c) return settle(Promise.reject(new Error('reload() needs the session middleware')), callback, this);
    return settle(c.reload(this), callback, this);
  }

  /** Destroy the session in the store and unset `req.session`. */
  destroy(): Promise<void>;
  destroy(callback: Callback): this;
  destroy(callback?: Callback): this | Promise<void> {
    const c = controllerOf(this);
    if (!c) {
      delete (this.req as AnyRequest).session;
      return settle(legacy(this, 'destroy', this.id) as Promise<void>, callback, this);
    }
    return settle(c.destroy(this), callback, this);
  }

  /**
   * express-session's regenerate: destroy this session and start a new, empty one under a new id
   * (the data is dropped). To keep the data under a new id, use `rotate()`.
   */
  regenerate(): Promise<void>;
  regenerate(callback: Callback): this;
  regenerate(callback?: Callback): this | Promise<void> {
    const c = controllerOf(this);
    if (!c) return settle(Promise.reject(new Error('regenerate() needs the session middleware')), callback, this);
    return settle(c.regenerate(this), callback, this);
  }

  /** New id, same data; the old id is destroyed. What fixation protection at login usually wants. */
  rotate(): Promise<void>;
  rotate(callback: Callback): this;
  rotate(callback?: Callback): this | Promise<void> {
    const c = controllerOf(this);
    if (!c) return settle(Promise.reject(new Error('rotate() needs the session middleware')), callback, this);
    return settle(c.rotate(this), callback, this);
  }

  /**
   * Hold the per-session lock (across processes, if the store's lock is) until this request's
   * session is saved, so read-modify-write on this route is serialised. Reloads the data under the lock.
   */
  lock(): Promise<void> {
    const c = controllerOf(this);
    if (!c) return Promise.reject(new Error('lock() needs the session middleware'));
    return c.lock(this);
  }
}

/** The application's data of a session, without the cookie and methods. */
export function sessionData(sess: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(sess)) if (k !== 'cookie') out[k] = (sess as Record<string, unknown>)[k];
  return out;
}
