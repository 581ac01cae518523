import type { NextFunction, Request, RequestHandler, Response } from 'express';
import parseurl from 'parseurl';
import type { SessionStore } from './contract.js';
import { isSessionStore } from './contract.js';
import { SessionEngine } from './engine/engine.js';
import type { UserSession } from './engine/engine.js';
import type { SessionController } from './session.js';
import { runExpressRequest } from './express/binding.js';
import type { SessEvent, SessEventName } from './gateway.js';
import { log } from './log.js';
import type { SessionOptions } from './options.js';
import { Session, sessionController } from './session.js';
import { Store } from './store.js';

export type { UserSession };

/** The middleware `session()` returns, with the store, events and the per-user helpers. */
export interface SessionMiddleware extends RequestHandler {
  /** The store in the sess contract (an adapter when a callback store was given). */
  readonly store: SessionStore;
  /** The engine under the middleware: what another binding on the same sessions can share. */
  readonly engine: SessionEngine;
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
 * (all off by default). Works on Express 4 and 5. The Express binding of the session engine.
 */
export function session(options: SessionOptions): SessionMiddleware {
  const engine = new SessionEngine(options);
  const rawStore = engine.rawStore;
  // Compat: express-session assigns store.generate; stores and apps call store.regenerate(req, cb).
  if (rawStore instanceof Store) {
    rawStore.generate = (req: Request) => {
      const current = (req as { session?: unknown }).session;
      const lc = (current instanceof Session ? sessionController(current) : undefined) as (SessionController & { generate?(asOriginal: boolean): void }) | undefined;
      if (lc?.generate) lc.generate(false);
    };
  }

  const handler = function session(req: Request, res: Response, next: NextFunction): void {
    if ((req as { session?: unknown }).session) {
      next();
      return;
    }
    if (!engine.storeReady) {
      log('store is disconnected: no session for this request');
      next();
      return;
    }
    let cookieOptions;
    try {
      cookieOptions = engine.cookieOptions(req);
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
    runExpressRequest(engine, req, res, next, cookieOptions);
  } as SessionMiddleware;

  Object.defineProperties(handler, {
    store: { value: engine.store, enumerable: true },
    engine: { value: engine },
    on: {
      value(event: SessEventName, listener: (e: SessEvent) => void) {
        engine.on(event, listener);
        return handler;
      },
    },
    off: {
      value(event: SessEventName, listener: (e: SessEvent) => void) {
        engine.off(event, listener);
        return handler;
      },
    },
    listUserSessions: {
      value: (userKey: string | number, current?: Request) => engine.listUserSessions(userKey, current),
    },
    destroyUserSessions: {
      value: (userKey: string | number, opts: { except?: Request; only?: string[] } = {}) => engine.destroyUserSessions(userKey, opts),
    },
  });
  return handler;
}

/** True when `value` is a session created by sess (across package copies too). */
export function isSession(value: unknown): value is Session {
  return value instanceof Session;
}

export { isSessionStore };
