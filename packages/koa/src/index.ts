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
import type { Session, SessionCarrier, SessionData, SessionEngine, SessionHost, SessionOptions } from '@sess/core';

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

/** One Koa request's session work: the engine's host, and what `ctx.session`'s accessors reach. */
class KoaHost implements SessionHost {
  readonly carrier: SessionCarrier = {};
  /** A destroy started by `ctx.session = null`, awaited before the write. */
  destroying: Promise<void> | undefined = undefined;
  constructor(
    readonly request: Context,
    private readonly proxy: boolean | undefined,
  ) {}

  secure(): boolean {
    return isSecure(this.request, this.proxy);
  }

  onClose(fn: () => void): void {
    this.request.res.once('close', fn);
  }

  /** `ctx.session = value`: null destroys (koa-session's way to log out), an object replaces the data. */
  assign(value: unknown): void {
    const current = this.carrier.session;
    if (value === null || value === undefined) {
      if (current) this.destroying = current.destroy();
      return;
    }
    if (typeof value !== 'object') throw new ConfigError('ctx.session takes null (to destroy it) or an object of session data');
    if (!current) return;
    for (const k of Object.keys(current)) if (k !== 'cookie') delete (current as unknown as Record<string, unknown>)[k];
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (k !== 'cookie') (current as unknown as Record<string, unknown>)[k] = v;
  }
}

/** Where a context keeps its request's {@link KoaHost} (a symbol: one cheap property per request). */
const kHost = Symbol.for('sess.koa.host');
type Carried = Context & { [kHost]?: KoaHost };

/** Own data property, as a plain assignment makes it (a context without sess's session: outside the path). */
function own(ctx: object, name: string, value: unknown): void {
  Object.defineProperty(ctx, name, { value, writable: true, enumerable: true, configurable: true });
}

const ACCESSORS: PropertyDescriptorMap = {
  session: {
    configurable: true,
    enumerable: true,
    get(this: Carried) {
      return this[kHost]?.carrier.session;
    },
    set(this: Carried, value: unknown) {
      const host = this[kHost];
      if (host) host.assign(value);
      else own(this, 'session', value);
    },
  },
  sessionID: {
    configurable: true,
    enumerable: true,
    get(this: Carried) {
      return this[kHost]?.carrier.sessionID;
    },
    set(this: Carried, value: unknown) {
      own(this, 'sessionID', value);
    },
  },
};

const kInstalled = Symbol.for('sess.koa.accessors');

/**
 * `ctx.session` and `ctx.sessionID`, defined once on the app's context prototype (what every request's `ctx`
 * inherits from), not on each context: accessors defined per request cost a hidden class per request. Where the
 * prototype cannot take them (another library defined `session` there, not configurable), on the context.
 */
function installAccessors(ctx: Context): void {
  const proto = Object.getPrototypeOf(ctx) as Record<symbol, unknown> | null;
  if (proto && proto[kInstalled] === true) return;
  if (proto && proto !== Object.prototype) {
    try {
      Object.defineProperties(proto, ACCESSORS);
      Object.defineProperty(proto, kInstalled, { value: true });
      return;
    } catch {
      // not configurable there: per context below
    }
  }
  Object.defineProperties(ctx, ACCESSORS);
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
    const host = new KoaHost(ctx, proxy);
    const sr = engine.open(host, cookieOptions);
    installAccessors(ctx);
    (ctx as Carried)[kHost] = host;
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
      await host.destroying;
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
