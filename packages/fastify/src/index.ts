/**
 * @sess/fastify: sess as a Fastify 5 plugin. The session engine of `@sess/core` (express-session's options,
 * defaults and decision table, and everything sess adds), bound to Fastify through its own hooks: the session
 * is loaded in `onRequest` and written in `onSend`, before the response goes out. `request.session` has
 * property access and `@fastify/session`'s methods. One store, one name and one secret share sessions with an
 * Express app on `@sess/core` (and the Koa and Hono bindings).
 *
 * ```ts
 * import Fastify from 'fastify';
 * import sessFastify from '@sess/fastify';
 * const app = Fastify();
 * await app.register(sessFastify, { secret: process.env.SESSION_SECRET!, resave: false, saveUninitialized: false });
 * ```
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ConfigError, Session, engineFrom, forwardedHttps } from '@sess/core';
import type { SessionCarrier, SessionData, SessionEngine, SessionHost, SessionOptions, SessionRequest } from '@sess/core';

/** `request.session`: sess's session with `@fastify/session`'s accessors. */
export class FastifySession extends Session {
  /** The value stored under `key` (`request.session.user` reads the same). */
  get<K extends keyof SessionData & string>(key: K): SessionData[K] | undefined;
  get(key: string): unknown;
  get(key: string): unknown {
    return (this as unknown as Record<string, unknown>)[key];
  }

  /** Store `value` under `key` (`request.session.user = value` does the same). */
  set<K extends keyof SessionData & string>(key: K, value: SessionData[K]): void;
  set(key: string, value: unknown): void;
  set(key: string, value: unknown): void {
    if (key === 'cookie' || key in Session.prototype) throw new ConfigError(`session key "${key}" is reserved: it names the session's cookie or a method`);
    (this as unknown as Record<string, unknown>)[key] = value;
  }

  /** `@fastify/session`'s name for `id`. */
  get sessionId(): string {
    return this.id;
  }

  /**
   * A new id (the old session destroyed) and, as `@fastify/session`'s, an empty session but for the keys in
   * `keep`: `await request.session.regenerate(['cart'])`. With a callback, express-session's form.
   */
  override regenerate(): Promise<void>;
  override regenerate(callback: (err?: unknown) => void): this;
  override regenerate(keep: string[]): Promise<void>;
  override regenerate(arg?: string[] | ((err?: unknown) => void)): this | Promise<void> {
    if (!Array.isArray(arg)) return arg ? super.regenerate(arg) : super.regenerate();
    const kept: Record<string, unknown> = {};
    for (const k of arg) if (Object.hasOwn(this, k) && k !== 'cookie') kept[k] = (this as unknown as Record<string, unknown>)[k];
    const carrier = this.req as unknown as SessionCarrier;
    return super.regenerate().then(() => {
      Object.assign(carrier.session as object, kept);
    });
  }
}

/** The plugin's options: `session()`'s, plus `@fastify/session`'s names for two of them. */
export interface SessFastifyOptions extends Omit<SessionOptions, 'secret'> {
  /** Signing secret(s), as `session()`'s. Required unless `engine` is given. */
  secret?: SessionOptions['secret'];
  /** `@fastify/session`'s name for `name` (the cookie's name). Note: sess's default name is `connect.sid`. */
  cookieName?: string;
  /** `@fastify/session`'s name for `genid`. */
  idGenerator?: (request: FastifyRequest) => string;
  /**
   * Share another binding's engine (`expressSessionMiddleware.engine`): its options, store and events. No
   * other option may be given then.
   */
  engine?: SessionEngine;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The session (typed by declaration merging on `@sess/core`'s `SessionData`); null outside the cookie's path. */
    session: FastifySession & Partial<SessionData>;
    /** The session id. Never log it. */
    sessionID: string;
    /** The store given to the plugin. */
    readonly sessionStore: unknown;
  }
}

const kRequest = Symbol('sess.fastify.request');
type Carried = FastifyRequest & SessionCarrier & { [kRequest]?: SessionRequest };

/** Whether the request came over TLS, as `session()` decides it (`proxy`: trust X-Forwarded-Proto or not). */
function isSecure(request: FastifyRequest, proxy: boolean | undefined): boolean {
  if ((request.raw.socket as { encrypted?: boolean } | undefined)?.encrypted) return true;
  if (proxy === false) return false;
  if (proxy !== true) return request.protocol === 'https';
  return forwardedHttps(request.headers['x-forwarded-proto']);
}

/** The engine for the plugin's options (translating `@fastify/session`'s names). */
function engineFor(options: SessFastifyOptions): SessionEngine {
  const { cookieName, idGenerator, ...rest } = options;
  if (cookieName !== undefined && rest.name !== undefined && cookieName !== rest.name) {
    throw new ConfigError('name and cookieName are the same option (the cookie name): give one');
  }
  if (idGenerator !== undefined && rest.genid !== undefined) throw new ConfigError('genid and idGenerator are the same option: give one');
  return engineFrom({
    ...rest,
    ...(cookieName !== undefined ? { name: cookieName } : {}),
    ...(idGenerator !== undefined ? { genid: idGenerator as unknown as SessionOptions['genid'] } : {}),
  });
}

/** Whether the request's path is inside the cookie's path (outside it, no session, as `session()`). */
function inside(url: string, cookiePath: string): boolean {
  if (cookiePath === '/' && url.charCodeAt(0) === 47) return true;
  const q = url.indexOf('?');
  return (q === -1 ? url : url.slice(0, q)).startsWith(cookiePath);
}

/** What the engine needs of one Fastify request (a class: no per-request closures). */
class FastifyHost implements SessionHost {
  readonly sessionClass = FastifySession;
  constructor(
    readonly carrier: Carried,
    private readonly reply: FastifyReply,
    private readonly proxy: boolean | undefined,
  ) {}

  get request(): FastifyRequest {
    return this.carrier;
  }

  secure(): boolean {
    return isSecure(this.carrier, this.proxy);
  }

  onClose(fn: () => void): void {
    this.reply.raw.once('close', fn);
  }
}

async function plugin(app: FastifyInstance, options: SessFastifyOptions): Promise<void> {
  const engine = engineFor(options);
  const proxy = engine.options.proxy;
  app.decorateRequest('session', null as never);
  app.decorateRequest('sessionID', null as never);
  app.decorateRequest('sessionStore', { getter: () => engine.rawStore });
  app.decorate('sessionEngine', engine);

  app.addHook('onRequest', async (request, reply) => {
    if (!engine.storeReady) return;
    const cookieOptions = engine.cookieOptions(request);
    if (!inside(request.url, cookieOptions.path || '/')) return;
    const carried = request as Carried;
    const sr = engine.open(new FastifyHost(carried, reply, proxy), cookieOptions);
    carried[kRequest] = sr;
    const loading = sr.begin(engine.readCookie(request.headers.cookie));
    const trace = sr.trace;
    // A response closed before onSend (the client went away): no write comes.
    if (trace) reply.raw.once('close', () => trace.ending || trace.end(undefined));
    await loading;
  });

  app.addHook('onSend', async (request, reply: FastifyReply, payload) => {
    const sr = (request as Carried)[kRequest];
    if (!sr) return payload;
    // Once: a failed write is sent as an error, through these hooks again.
    (request as Carried)[kRequest] = undefined;
    const header = await sr.end();
    if (header !== undefined) {
      const prev = reply.getHeader('set-cookie');
      reply.header('set-cookie', prev === undefined ? [header] : Array.isArray(prev) ? [...prev, header] : [String(prev), header]);
    }
    return payload;
  });
}

/**
 * The plugin: `await app.register(sessFastify, options)`. `request.session` in every route (of the cookie's
 * path), written before the response is sent; `app.sessionEngine` is the engine (for `listUserSessions`, events).
 */
export const sessFastify = fp(plugin, { fastify: '5.x', name: '@sess/fastify' });
export default sessFastify;

declare module 'fastify' {
  interface FastifyInstance {
    /** The session engine of `@sess/fastify` (events, `listUserSessions`, `destroyUserSessions`). */
    readonly sessionEngine: SessionEngine;
  }
}
