/**
 * @sess/koa: sess as Koa 2 and 3 middleware. The session engine of `@sess/core` (express-session's options,
 * defaults and decision table, and everything sess adds), bound to Koa: the session is loaded before
 * `await next()` and written after it, before Koa sends the body. `ctx.session` as koa-session's (`ctx.session =
 * null` destroys it). One store, one name and one secret share sessions with Express, Fastify and Hono apps.
 *
 * ```ts
 * import Koa from 'koa';
 * import session from '@sess/koa';
 * const app = new Koa();
 * app.use(session({ secret: process.env.SESSION_SECRET!, resave: false, saveUninitialized: false }));
 * ```
 */
import type { Context, Middleware, Next } from 'koa';
import { ConfigError, engineFrom, forwardedHttps } from '@sess/core';
import type { Session, SessionCarrier, SessionData, SessionEngine, SessionOptions } from '@sess/core';

/** The middleware's options: `session()`'s, or `engine` to share another binding's. */
export interface SessKoaOptions extends Omit<SessionOptions, 'secret'> {
  /** Signing secret(s), as `session()`'s. Required unless `engine` is given. */
  secret?: SessionOptions['secret'];
  /** Share another binding's engine (`expressSessionMiddleware.engine`); no other option may be given then. */
  engine?: SessionEngine;
}

/** The middleware, with its engine (events, `listUserSessions`, `destroyUserSessions`). */
export interface SessKoaMiddleware extends Middleware {
  readonly engine: SessionEngine;
}

declare module 'koa' {
  interface DefaultContext {
    /**
     * The session (typed by declaration merging on `@sess/core`'s `SessionData`); undefined outside the cookie's
     * path. Assign `null` to destroy it, or an object to replace its data, as with koa-session.
     */
    session: (Session & Partial<SessionData>) | null | undefined;
    /** The session id. Never log it. */
    readonly sessionID: string | undefined;
  }
}

/** Whether the request came over TLS, as `session()` decides it (`proxy`: trust X-Forwarded-Proto or not). */
function isSecure(ctx: Context, proxy: boolean | undefined): boolean {
  if ((ctx.req.socket as { encrypted?: boolean } | undefined)?.encrypted) return true;
  if (proxy === false) return false;
  if (proxy !== true) return ctx.secure;
  return forwardedHttps(ctx.get('x-forwarded-proto'));
}

/**
 * The middleware: `app.use(session(options))`. `ctx.session` downstream, written after `await next()`
 * (also when downstream throws, as koa-session does) before the response is sent; a failed write is thrown (a
 * typed `StoreError`, status 503) to Koa's error handling.
 */
export function session(options: SessKoaOptions): SessKoaMiddleware {
  const engine = engineFrom(options);
  const proxy = engine.options.proxy;
  const middleware = async function sessKoa(ctx: Context, next: Next): Promise<void> {
    if (!engine.storeReady) return next();
    const cookieOptions = engine.cookieOptions(ctx);
    const cookiePath = cookieOptions.path || '/';
    if (cookiePath !== '/' && !ctx.path.startsWith(cookiePath)) return next();
    const carrier: SessionCarrier = {};
    const sr = engine.open({ carrier, request: ctx, secure: () => isSecure(ctx, proxy), onClose: (fn) => ctx.res.once('close', fn) }, cookieOptions);
    let destroying: Promise<void> | undefined;
    Object.defineProperty(ctx, 'session', {
      configurable: true,
      enumerable: true,
      get: () => carrier.session,
      set(value: unknown) {
        const current = carrier.session;
        if (value === null || value === undefined) {
          // koa-session's way to log out.
          if (current) destroying = current.destroy();
          return;
        }
        if (typeof value !== 'object') throw new ConfigError('ctx.session takes null (to destroy it) or an object of session data');
        if (!current) return;
        for (const k of Object.keys(current)) if (k !== 'cookie') delete (current as unknown as Record<string, unknown>)[k];
        for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (k !== 'cookie') (current as unknown as Record<string, unknown>)[k] = v;
      },
    });
    Object.defineProperty(ctx, 'sessionID', { configurable: true, enumerable: true, get: () => carrier.sessionID });
    await sr.begin(engine.readCookie(ctx.get('cookie') || undefined));
    // Downstream's own failure wins over the write's, which still runs (as koa-session commits in finally).
    let downstream: { err: unknown } | undefined;
    try {
      await next();
    } catch (err) {
      downstream = { err };
    }
    let header: string | undefined;
    try {
      await destroying;
      header = await sr.end();
    } catch (err) {
      throw downstream ? downstream.err : err;
    }
    if (downstream) throw downstream.err;
    if (header !== undefined) ctx.append('Set-Cookie', header);
  } as unknown as SessKoaMiddleware;
  Object.defineProperty(middleware, 'engine', { value: engine, enumerable: true });
  return middleware;
}

export default session;
