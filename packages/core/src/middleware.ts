import { EventEmitter } from 'node:events';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import parseurl from 'parseurl';
import type { CookieOptions } from './cookie.js';
import type { SessionStore, UserSessionInfo } from './contract.js';
import { isSessionStore } from './contract.js';
import { ConfigError } from './errors.js';
import { StoreGateway } from './gateway.js';
import type { SessEvent, SessEventName } from './gateway.js';
import { idTag } from './ids.js';
import { Lifecycle } from './lifecycle.js';
import { log } from './log.js';
import { MemoryStore } from './memory.js';
import { resolveOptions, validateCookieOptions } from './options.js';
import type { SessionOptions } from './options.js';
import { Session, kController } from './session.js';
import { Store, fromCallbackStore } from './store.js';
import type { CallbackStore } from './store.js';

const MEMORY_WARNING =
  'Warning: sess MemoryStore is not designed for a production environment: sessions live in this process only, ' +
  'are lost on restart and are not shared between processes. Use a shared store such as @sess/store-redis.';

/** One of a user's sessions, as `listUserSessions` returns it. */
export interface UserSession extends Omit<UserSessionInfo, 'record'> {
  /** Short hash of the id, safe to show and to pass to `destroyUserSessions({ only })`. */
  tag: string;
  /** True for the session of the request that asked. */
  current: boolean;
  /** The session's data (without the cookie). */
  data: Record<string, unknown>;
}

/** The middleware `session()` returns, with the store, events and the per-user helpers. */
export interface SessionMiddleware extends RequestHandler {
  /** The store in the sess contract (an adapter when a callback store was given). */
  readonly store: SessionStore;
  /** Subscribe to lifecycle events (create, load, miss, save, touch, destroy, rotate, storeError). */
  on(event: SessEventName, listener: (event: SessEvent) => void): SessionMiddleware;
  /** Unsubscribe. */
  off(event: SessEventName, listener: (event: SessEvent) => void): SessionMiddleware;
  /** The sessions of a user (needs `userKey` and a store with `userIndex`). */
  listUserSessions(userKey: string | number, current?: Request): Promise<UserSession[]>;
  /** Destroy a user's sessions; `except` keeps the given request's session, `only` limits to some tags. Resolves how many. */
  destroyUserSessions(userKey: string | number, opts?: { except?: Request; only?: string[] }): Promise<number>;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The session (see @sess/core SessionData for typing its data). */
      session: import('./session.js').Session & Partial<import('./session.js').SessionData>;
      /** The session id. Never log it. */
      sessionID: string;
      /** The store given to session(). */
      sessionStore: unknown;
    }
  }
}

/**
 * The session middleware: express-session's options, defaults and behaviour, plus sess's options
 * (all off by default). Works on Express 4 and 5.
 */
export function session(options: SessionOptions): SessionMiddleware {
  const o = resolveOptions(options);
  const rawStore: SessionStore | CallbackStore = options.store ?? new MemoryStore();
  if (typeof rawStore !== 'object' || rawStore === null || typeof (rawStore as CallbackStore).get !== 'function') {
    throw new ConfigError('store must be a session store (an object with get, set and destroy): store: new MemoryStore()');
  }
  const store = fromCallbackStore(rawStore);
  if (o.concurrency === 'merge' && !store.capabilities.atomicPatch) {
    throw new ConfigError("concurrency: 'merge' needs a store with the atomicPatch capability: use a sess store, or concurrency: 'last-write-wins'");
  }
  if (o.concurrency === 'lock' && !store.capabilities.lock) {
    throw new ConfigError("concurrency: 'lock' needs a store with the lock capability: use a sess store, or concurrency: 'last-write-wins'");
  }
  if (process.env.NODE_ENV === 'production' && rawStore instanceof MemoryStore) console.warn(MEMORY_WARNING);

  const events = new EventEmitter();
  const gw = new StoreGateway(store, events, o.storeTimeout, o.hashIds);

  // express-session's readiness tracking: a store that emits 'disconnect' is bypassed until 'connect'.
  let storeReady = true;
  if (typeof (rawStore as CallbackStore).on === 'function') {
    (rawStore as CallbackStore).on!('disconnect', () => {
      storeReady = false;
    });
    (rawStore as CallbackStore).on!('connect', () => {
      storeReady = true;
    });
  }
  // Compat: express-session assigns store.generate; stores and apps call store.regenerate(req, cb).
  if (rawStore instanceof Store) {
    rawStore.generate = (req: Request) => {
      const lc = (req as Request & { [kController]?: Lifecycle })[kController];
      if (lc) lc.generate(false);
    };
  }

  const handler = function session(req: Request, res: Response, next: NextFunction): void {
    if ((req as { session?: unknown }).session) {
      next();
      return;
    }
    if (!storeReady) {
      log('store is disconnected: no session for this request');
      next();
      return;
    }
    let cookieOptions: CookieOptions;
    try {
      cookieOptions = typeof o.cookie === 'function' ? o.cookie(req) : o.cookie;
      if (typeof o.cookie === 'function') validateCookieOptions(cookieOptions, o.name);
    } catch (err) {
      next(err);
      return;
    }
    const cookiePath = cookieOptions.path || '/';
    // Every origin-form URL ('/…') is inside path '/': only other paths (or '*', absolute URLs) need the parse.
    const url = req.originalUrl || req.url;
    const inside = (cookiePath === '/' && typeof url === 'string' && url.charCodeAt(0) === 47) || (parseurl.original(req)?.pathname || '/').startsWith(cookiePath);
    if (!inside) {
      log('request outside cookie.path: passed through');
      next();
      return;
    }
    (req as { sessionStore?: unknown }).sessionStore = rawStore;
    new Lifecycle(req, res, next, o, gw, cookieOptions).start();
  } as SessionMiddleware;

  const currentKey = (req?: Request) => (req && typeof req.sessionID === 'string' ? gw.key(req.sessionID) : undefined);
  Object.defineProperties(handler, {
    store: { value: store, enumerable: true },
    on: {
      value(event: SessEventName, listener: (e: SessEvent) => void) {
        events.on(event, listener);
        return handler;
      },
    },
    off: {
      value(event: SessEventName, listener: (e: SessEvent) => void) {
        events.off(event, listener);
        return handler;
      },
    },
    listUserSessions: {
      async value(userKey: string | number, current?: Request): Promise<UserSession[]> {
        const me = currentKey(current);
        const list = await gw.listUser(String(userKey));
        return list.map(({ record, ...info }) => {
          const data: Record<string, unknown> = {};
          for (const k of Object.keys(record)) if (k !== 'cookie' && k !== '__sess') data[k] = record[k];
          return { ...info, tag: idTag(info.id), current: info.id === me, data };
        });
      },
    },
    destroyUserSessions: {
      async value(userKey: string | number, opts: { except?: Request; only?: string[] } = {}): Promise<number> {
        const me = currentKey(opts.except);
        if (opts.only) {
          const list = await gw.listUser(String(userKey));
          const keep = list.filter((s) => !opts.only!.includes(idTag(s.id)) || s.id === me).map((s) => s.id);
          return gw.destroyUser(String(userKey), keep, true);
        }
        return gw.destroyUser(String(userKey), me ? [me] : [], true);
      },
    },
  });
  return handler;
}

/** True when `value` is a session created by sess (across package copies too). */
export function isSession(value: unknown): value is Session {
  return value instanceof Session;
}

export { isSessionStore };
