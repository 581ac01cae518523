/**
 * @sess/hono: sess as Hono middleware, on Node through `@hono/node-server`. The session engine of `@sess/core`
 * (express-session's options, defaults and decision table, and everything sess adds), bound to Hono's
 * `(c, next)`: the session is loaded before `await next()` and written after it, before the response leaves.
 * `c.get('session')`. One store, one name and one secret share sessions with Express, Fastify and Koa apps.
 *
 * ```ts
 * import { Hono } from 'hono';
 * import session from '@sess/hono';
 * const app = new Hono();
 * app.use(session({ secret: process.env.SESSION_SECRET!, resave: false, saveUninitialized: false }));
 * ```
 */
import type { Context, MiddlewareHandler, Next } from 'hono';
import { ConfigError, SessionEngine } from '@sess/core';
import type { Session, SessionCarrier, SessionData, SessionOptions } from '@sess/core';

/** The middleware's options: `session()`'s, or `engine` to share another binding's. */
export interface SessHonoOptions extends Omit<SessionOptions, 'secret'> {
  /** Signing secret(s), as `session()`'s. Required unless `engine` is given. */
  secret?: SessionOptions['secret'];
  /** Share another binding's engine (`expressSessionMiddleware.engine`); no other option may be given then. */
  engine?: SessionEngine;
}

/** The middleware, with its engine (events, `listUserSessions`, `destroyUserSessions`). */
export type SessHonoMiddleware = MiddlewareHandler & { readonly engine: SessionEngine };

declare module 'hono' {
  interface ContextVariableMap {
    /** The session (typed by declaration merging on `@sess/core`'s `SessionData`); undefined once destroyed. */
    session: Session & Partial<SessionData>;
    /** The session id. Never log it. */
    sessionID: string;
  }
}

/** Whether the request came over TLS: the URL's scheme (`@hono/node-server` sets it from the socket), or the proxy's header. */
function isSecure(c: Context, proxy: boolean | undefined): boolean {
  if (proxy === true) {
    const header = c.req.header('x-forwarded-proto') ?? '';
    const i = header.indexOf(',');
    if ((i !== -1 ? header.slice(0, i) : header).toLowerCase().trim() === 'https') return true;
  }
  return c.req.url.startsWith('https:');
}

function engineFor(options: SessHonoOptions): SessionEngine {
  const { engine, ...rest } = options;
  if (!engine) return new SessionEngine(rest as SessionOptions);
  if (!(engine instanceof SessionEngine)) throw new ConfigError('engine must be a SessionEngine: engine: expressSessionMiddleware.engine');
  const extra = Object.keys(rest).filter((k) => (rest as Record<string, unknown>)[k] !== undefined);
  if (extra.length > 0) throw new ConfigError(`with engine, the options are the engine's: remove ${extra.join(', ')}`);
  return engine;
}

/** Run `fn` (a store operation of the engine) as a promise: resolves at once when it had nothing to do. */
function op(fn: (done: (err?: unknown) => void) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!fn((err) => (err === undefined ? resolve() : reject(err)))) resolve();
  });
}

/**
 * The middleware: `app.use(session(options))`. `c.get('session')` downstream (kept current through
 * `regenerate()` and `rotate()`), written after `await next()` before the response leaves; a failed write is
 * thrown (a typed `StoreError`, status 503) to Hono's error handler.
 */
export function session(options: SessHonoOptions): SessHonoMiddleware {
  const engine = engineFor(options);
  const proxy = engine.options.proxy;
  const middleware = async function sessHono(c: Context, next: Next): Promise<void> {
    if (!engine.storeReady) return next();
    const cookieOptions = engine.cookieOptions(c);
    const cookiePath = cookieOptions.path || '/';
    if (cookiePath !== '/' && !c.req.path.startsWith(cookiePath)) return next();
    // The carrier keeps Hono's variables current: the engine replaces the session on regenerate and rotate.
    let current: Session | null | undefined;
    let id: string | undefined;
    const carrier: SessionCarrier = {
      get session() {
        return current;
      },
      set session(value) {
        current = value;
        c.set('session', value as never);
      },
      get sessionID() {
        return id;
      },
      set sessionID(value) {
        id = value;
        c.set('sessionID', value as never);
      },
    };
    const closers: Array<() => void> = [];
    const sr = engine.open({ carrier, request: c, secure: () => isSecure(c, proxy), onClose: (fn) => closers.push(fn) }, cookieOptions);
    let loaded!: Promise<void>;
    sr.start(() => {
      loaded = new Promise<void>((resolve, reject) => sr.load(engine.readCookie(c.req.header('cookie')), (err) => (err === undefined ? resolve() : reject(err))));
    });
    const trace = sr.trace;
    try {
      await loaded;
      await next();
      if (trace) trace.ending = true;
      try {
        await (trace ? new Promise<void>((resolve, reject) => trace.inner(() => void op((d) => sr.commit(d)).then(resolve, reject))) : op((d) => sr.commit(d)));
      } catch (err) {
        sr.disable();
        trace?.end(err);
        throw err;
      }
      trace?.end(undefined);
      const header = sr.setCookie();
      if (header !== undefined) c.header('Set-Cookie', header, { append: true });
    } catch (err) {
      if (trace && !trace.ending) trace.end(err);
      throw err;
    } finally {
      await sr.releaseLock();
      for (const fn of closers) fn();
    }
  } as SessHonoMiddleware;
  Object.defineProperty(middleware, 'engine', { value: engine, enumerable: true });
  return middleware;
}

export default session;
