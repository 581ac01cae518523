import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { SessError, ErrorCodes } from './errors.js';

/** Options of {@link flash}. */
export interface FlashOptions {
  /** Session key the messages live under. Default `flash` (connect-flash's, so pending messages survive a switch). */
  key?: string;
}

/** `req.flash`: add a message, read-and-clear one type, or read-and-clear all. */
export interface FlashFunction {
  /** Queue `message` (or several) under `type`; resolves the number queued under it. */
  (type: string, message: string | string[]): number;
  /** The messages of `type`, removed from the session (read once). */
  (type: string): string[];
  /** Every queued message by type, removed from the session (read once). */
  (): Record<string, string[]>;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Flash messages (needs the `flash()` middleware after `session()`). */
      flash: FlashFunction;
    }
  }
}

/**
 * The flash function of a session, for any framework: `getSession()` returns the session object now (the
 * carrier's: `request.session`, `ctx.session`, `c.get('session')`). `@sess/core`'s `flash()` middleware gives
 * Express `req.flash` from it; other bindings call it directly: `const flash = flashFor(() => c.get('session'))`.
 */
export function flashFor(getSession: () => Record<string, unknown> | null | undefined, options: FlashOptions = {}): FlashFunction {
  const key = options.key ?? 'flash';
  return function flashFn(type?: string, message?: string | string[]): never {
    const sess = getSession();
    if (!sess) throw new SessError(ErrorCodes.NO_SESSION, 'flash needs a session: mount the session middleware before it', { status: 500 });
    const box = (sess[key] && typeof sess[key] === 'object' ? sess[key] : {}) as Record<string, string[]>;
    if (type === undefined) {
      delete sess[key];
      return box as never;
    }
    if (message === undefined) {
      const out = Array.isArray(box[type]) ? box[type]! : [];
      if (type in box) {
        const rest = { ...box };
        delete rest[type];
        if (Object.keys(rest).length) sess[key] = rest;
        else delete sess[key];
      }
      return out as never;
    }
    const list = Array.isArray(box[type]) ? [...box[type]!] : [];
    for (const m of Array.isArray(message) ? message : [message]) list.push(String(m));
    sess[key] = { ...box, [type]: list };
    return list.length as never;
  } as FlashFunction;
}

/**
 * Flash messages kept in the session until read once: `req.flash('info', 'Saved')` before a redirect,
 * `req.flash('info')` on the next page. Mount after `session()`. (Other frameworks: {@link flashFor}.)
 */
export function flash(options: FlashOptions = {}): RequestHandler {
  return function flashMiddleware(req: Request, _res: Response, next: NextFunction): void {
    const r = req as unknown as { session?: Record<string, unknown> | null; flash?: FlashFunction };
    if (!r.flash) r.flash = flashFor(() => r.session, options);
    next();
  };
}
