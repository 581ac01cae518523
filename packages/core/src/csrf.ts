import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { CsrfError, SessError, ErrorCodes } from './errors.js';

/** Options of {@link csrf}. */
export interface CsrfOptions {
  /** Session key of the token's secret. Default `csrfSecret`. */
  key?: string;
  /** Methods that are never checked. Default GET, HEAD, OPTIONS. */
  ignoreMethods?: string[];
  /**
   * Where the submitted token is read. Default: `req.body._csrf`, then the `csrf-token`,
   * `x-csrf-token` and `x-xsrf-token` headers.
   */
  value?: (req: Request) => unknown;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** A CSRF token for this session, to put in forms or headers (needs the `csrf()` middleware). */
      csrfToken: () => string;
    }
  }
}

const SECRET_BYTES = 18;

function defaultValue(req: Request): unknown {
  const body = (req as { body?: Record<string, unknown> }).body;
  return (body && body._csrf) || req.headers['csrf-token'] || req.headers['x-csrf-token'] || req.headers['x-xsrf-token'];
}

/** A fresh, masked token for `secret`: mask ‖ (mask XOR secret), base64url. A new mask every call (BREACH). */
export function maskToken(secret: Buffer): string {
  const mask = randomBytes(secret.length);
  const out = Buffer.alloc(secret.length * 2);
  mask.copy(out, 0);
  for (let i = 0; i < secret.length; i++) out[secret.length + i] = mask[i]! ^ secret[i]!;
  return out.toString('base64url');
}

/** Does `token` unmask to `secret`? Constant-time in the token's content. */
export function verifyToken(secret: Buffer, token: unknown): boolean {
  if (typeof token !== 'string' || token.length === 0 || token.length > 256) return false;
  const raw = Buffer.from(token, 'base64url');
  if (raw.length !== secret.length * 2) return false;
  const unmasked = Buffer.alloc(secret.length);
  for (let i = 0; i < secret.length; i++) unmasked[i] = raw[i]! ^ raw[secret.length + i]!;
  return timingSafeEqual(unmasked, secret);
}

/** The session's CSRF secret under `key`, if it has one. */
function storedSecret(session: Record<string, unknown> | null | undefined, key: string): Buffer | undefined {
  const s = session?.[key];
  return typeof s === 'string' && s.length > 0 ? Buffer.from(s, 'base64url') : undefined;
}

/**
 * A CSRF token for `session`, for any framework (a fresh mask each call; the secret is kept in the session under
 * `key`, made on first use). `@sess/core`'s `csrf()` middleware gives Express `req.csrfToken()` from it.
 */
export function csrfTokenFor(session: Record<string, unknown> | null | undefined, key = 'csrfSecret'): string {
  if (!session) throw new SessError(ErrorCodes.NO_SESSION, 'a CSRF token needs a session: mount the session middleware first', { status: 500 });
  let secret = storedSecret(session, key);
  if (!secret) {
    secret = randomBytes(SECRET_BYTES);
    session[key] = secret.toString('base64url');
  }
  return maskToken(secret);
}

/** Whether `token` is a CSRF token of `session` (constant time); for any framework. */
export function csrfValid(session: Record<string, unknown> | null | undefined, token: unknown, key = 'csrfSecret'): boolean {
  const secret = storedSecret(session, key);
  return secret !== undefined && verifyToken(secret, token);
}

/**
 * CSRF protection with a synchronizer token tied to the session: `req.csrfToken()` gives a token for
 * forms and fetch headers; every request with another method than GET/HEAD/OPTIONS must send it back
 * (`_csrf` body field or `CSRF-Token` / `X-CSRF-Token` / `X-XSRF-Token` header), else `next(CsrfError)`
 * (status 403). Mount after `session()` and after a body parser. (Other frameworks: {@link csrfTokenFor},
 * {@link csrfValid}.)
 */
export function csrf(options: CsrfOptions = {}): RequestHandler {
  const key = options.key ?? 'csrfSecret';
  const ignore = new Set((options.ignoreMethods ?? ['GET', 'HEAD', 'OPTIONS']).map((m) => m.toUpperCase()));
  const read = options.value ?? defaultValue;
  return function csrfMiddleware(req: Request, _res: Response, next: NextFunction): void {
    const r = req as unknown as { session?: Record<string, unknown> | null; csrfToken?: () => string };
    if (!r.session) {
      next(new SessError(ErrorCodes.NO_SESSION, 'csrf() needs a session: mount session() before csrf()', { status: 500 }));
      return;
    }
    r.csrfToken = () => {
      if (!r.session) throw new SessError(ErrorCodes.NO_SESSION, 'the session was destroyed: no CSRF token', { status: 500 });
      return csrfTokenFor(r.session, key);
    };
    if (ignore.has(req.method.toUpperCase())) {
      next();
      return;
    }
    if (!csrfValid(r.session, read(req), key)) {
      next(new CsrfError());
      return;
    }
    next();
  };
}
