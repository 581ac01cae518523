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
import { engineFrom, forwardedHttps } from '@sess/core';
import type { Session, SessionCarrier, SessionData, SessionEngine, SessionHost, SessionOptions } from '@sess/core';

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

/** The Node request under `@hono/node-server` (its bindings' `incoming`), if that is what serves the app. */
type NodeIncoming = { headers: Record<string, string | string[] | undefined>; socket?: { encrypted?: boolean } };
function incomingOf(c: Context): NodeIncoming | undefined {
  const env = c.env as { incoming?: NodeIncoming } | undefined;
  return env && typeof env === 'object' && env.incoming && typeof env.incoming.headers === 'object' ? env.incoming : undefined;
}

/**
 * A request header: from Node's request when `@hono/node-server` serves the app (asking Hono's `c.req` for a
 * header makes `@hono/node-server` build a whole Web `Request` first), else from `c.req`.
 */
function requestHeader(c: Context, name: string): string | undefined {
  const incoming = incomingOf(c);
  if (!incoming) return c.req.header(name);
  const v = incoming.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Whether the request came over TLS: the socket (or the URL's scheme off Node), or the proxy's header. */
function isSecure(c: Context, proxy: boolean | undefined): boolean {
  if (proxy === true && forwardedHttps(requestHeader(c, 'x-forwarded-proto'))) return true;
  const incoming = incomingOf(c);
  return incoming ? incoming.socket?.encrypted === true : c.req.url.startsWith('https:');
}

/**
 * Where the engine keeps a Hono request's session: Hono's variables (`c.get('session')`, `c.get('sessionID')`),
 * kept current as the engine replaces the session (regenerate, rotate). A class: no per-request accessors.
 */
class HonoCarrier implements SessionCarrier {
  #session: Session | null | undefined = undefined;
  #id: string | undefined = undefined;
  constructor(private readonly c: Context) {}

  get session(): Session | null | undefined {
    return this.#session;
  }

  set session(value: Session | null | undefined) {
    this.#session = value;
    this.c.set('session', value as never);
  }

  get sessionID(): string | undefined {
    return this.#id;
  }

  set sessionID(value: string | undefined) {
    this.#id = value;
    this.c.set('sessionID', value as never);
  }
}

/** What the engine needs of one Hono request. */
class HonoHost implements SessionHost {
  readonly carrier: HonoCarrier;
  constructor(
    readonly request: Context,
    private readonly proxy: boolean | undefined,
  ) {
    this.carrier = new HonoCarrier(request);
  }

  secure(): boolean {
    return isSecure(this.request, this.proxy);
  }

  /** Hono hands a handler no "response is over" event: a lock is released by `end()`, before the response leaves. */
  onClose(): void {}
}

/**
 * The middleware: `app.use(session(options))`. `c.get('session')` downstream (kept current through
 * `regenerate()` and `rotate()`), written after `await next()` before the response leaves; a failed write is
 * thrown (a typed `StoreError`, status 503) to Hono's error handler.
 */
export function session(options: SessHonoOptions): SessHonoMiddleware {
  const engine = engineFrom(options);
  const proxy = engine.options.proxy;
  const middleware = async function sessHono(c: Context, next: Next): Promise<void> {
    if (!engine.storeReady) return next();
    const cookieOptions = engine.cookieOptions(c);
    const cookiePath = cookieOptions.path || '/';
    if (cookiePath !== '/' && !c.req.path.startsWith(cookiePath)) return next();
    // Hono hands a handler no "response is over" event: a lock is released by end(), before the response leaves.
    const sr = engine.open(new HonoHost(c, proxy), cookieOptions);
    await sr.begin(engine.readCookie(requestHeader(c, 'cookie')));
    await next();
    const header = await sr.end();
    if (header !== undefined) c.header('Set-Cookie', header, { append: true });
  } as SessHonoMiddleware;
  Object.defineProperty(middleware, 'engine', { value: engine, enumerable: true });
  return middleware;
}

export default session;
