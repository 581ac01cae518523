/**
 * Typed errors of sess. Every error carries a stable `code` (see docs/errors.md) and is recognised
 * across package copies by a `Symbol.for` marker, not by `instanceof` alone.
 */

const MARKER = Symbol.for('sess.error');

/** Stable error codes. They do not change within a major version; messages may. */
export const ErrorCodes = {
  CONFIG: 'SESS_CONFIG',
  STORE: 'SESS_STORE',
  STORE_TIMEOUT: 'SESS_STORE_TIMEOUT',
  BAD_DATA: 'SESS_BAD_DATA',
  TOO_LARGE: 'SESS_TOO_LARGE',
  BAD_ID: 'SESS_BAD_ID',
  NO_SESSION: 'SESS_NO_SESSION',
  CSRF: 'SESS_CSRF',
  LOCK_TIMEOUT: 'SESS_LOCK_TIMEOUT',
  UNSUPPORTED: 'SESS_UNSUPPORTED',
  DESTROYED: 'SESS_DESTROYED',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Options accepted by every sess error. */
export interface SessErrorOptions {
  /** The underlying error, if any. Never contains a session id when created by sess. */
  cause?: unknown;
  /** HTTP status an error handler may answer with. */
  status?: number;
}

/** Base class of every error sess throws or passes to `next(err)`. */
export class SessError extends Error {
  /** Stable machine-readable code. */
  readonly code: ErrorCode;
  /** HTTP status suggested for a response (Express error handlers read `status`). */
  readonly status: number;
  /** Same as `status`, for handlers that read `statusCode`. */
  readonly statusCode: number;
  /** Set on errors that a retry after a while may cure (store down, timeout). */
  readonly expose: boolean;

  constructor(code: ErrorCode, message: string, options: SessErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SessError';
    this.code = code;
    this.status = options.status ?? 500;
    this.statusCode = this.status;
    this.expose = this.status < 500;
    Object.defineProperty(this, MARKER, { value: true });
  }

  /** True for any sess error, including one thrown by another copy of this package. */
  static isInstance(value: unknown): value is SessError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true;
  }
}

/** A bad option passed to `session()` or to a store. Thrown at construction. */
export class ConfigError extends SessError {
  constructor(message: string, options: SessErrorOptions = {}) {
    super(ErrorCodes.CONFIG, message, options);
    this.name = 'ConfigError';
  }
}

/** A store operation failed. `operation` names it; `cause` is the store's own error. */
export class StoreError extends SessError {
  readonly operation: string;
  constructor(operation: string, message: string, options: SessErrorOptions = {}) {
    super(ErrorCodes.STORE, message, { status: 503, ...options });
    this.name = 'StoreError';
    this.operation = operation;
  }
}

/** A store operation did not settle within `storeTimeout`. */
export class StoreTimeoutError extends SessError {
  readonly operation: string;
  readonly timeoutMs: number;
  constructor(operation: string, timeoutMs: number, options: SessErrorOptions = {}) {
    super(
      ErrorCodes.STORE_TIMEOUT,
      `session store ${operation}() did not answer within ${timeoutMs} ms: check that the store is reachable, or raise storeTimeout`,
      { status: 503, ...options },
    );
    this.name = 'StoreTimeoutError';
    this.operation = operation;
    this.timeoutMs = timeoutMs;
  }
}

/** Session data that cannot be stored or read: not serialisable, corrupt, or of the wrong shape. */
export class BadDataError extends SessError {
  constructor(message: string, options: SessErrorOptions & { code?: ErrorCode } = {}) {
    super(options.code ?? ErrorCodes.BAD_DATA, message, { status: 500, ...options });
    this.name = 'BadDataError';
  }
}

/** The serialised session is larger than `maxSize`. The store was not called. */
export class SessionTooLargeError extends BadDataError {
  readonly size: number;
  readonly maxSize: number;
  constructor(size: number, maxSize: number) {
    super(
      `session data is ${size} bytes, over maxSize (${maxSize} bytes): keep large data out of the session (store an id and load the rest), or raise maxSize`,
      { code: ErrorCodes.TOO_LARGE, status: 500 },
    );
    this.name = 'SessionTooLargeError';
    this.size = size;
    this.maxSize = maxSize;
  }
}

/** A session id that does not match the id grammar. The store was not called. */
export class InvalidSessionIdError extends SessError {
  constructor(message = 'session id does not match the id grammar; it was not passed to the store') {
    super(ErrorCodes.BAD_ID, message, { status: 400 });
    this.name = 'InvalidSessionIdError';
  }
}

/** A CSRF token was missing or did not match the session's. */
export class CsrfError extends SessError {
  constructor(message = 'invalid or missing CSRF token') {
    super(ErrorCodes.CSRF, message, { status: 403 });
    this.name = 'CsrfError';
  }
}

/** An operation needs a store capability that the store does not declare. */
export class UnsupportedError extends SessError {
  constructor(message: string) {
    super(ErrorCodes.UNSUPPORTED, message, { status: 500 });
    this.name = 'UnsupportedError';
  }
}

/** A lock on a session could not be acquired in time. */
export class LockTimeoutError extends SessError {
  constructor(timeoutMs: number) {
    super(
      ErrorCodes.LOCK_TIMEOUT,
      `could not acquire the session lock within ${timeoutMs} ms: another request holds it; raise lockTimeout or shorten the work done under the lock`,
      { status: 503 },
    );
    this.name = 'LockTimeoutError';
  }
}

/**
 * Return `err`, or a copy of it with every occurrence of `secret` (a session id) replaced, so that no
 * session id travels inside an error's message, stack or cause.
 */
export function redact(err: unknown, secret: string | undefined): unknown {
  if (!secret || !(err instanceof Error)) return err;
  const hasIt = (s: unknown) => typeof s === 'string' && s.includes(secret);
  if (!hasIt(err.message) && !hasIt(err.stack)) return err;
  const copy = new Error(err.message.split(secret).join('[session id]'));
  copy.name = err.name;
  if (err.stack) copy.stack = err.stack.split(secret).join('[session id]');
  const code = (err as { code?: unknown }).code;
  if (code !== undefined) (copy as { code?: unknown }).code = code;
  return copy;
}

/** Wrap anything a store threw or rejected with into a StoreError (keeps sess errors as they are). */
export function toStoreError(operation: string, err: unknown, sid?: string): SessError {
  if (SessError.isInstance(err)) return err;
  err = redact(err, sid);
  const detail = err instanceof Error ? `${err.name}${(err as { code?: unknown }).code ? ` ${String((err as { code?: unknown }).code)}` : ''}` : typeof err;
  return new StoreError(operation, `session store ${operation}() failed (${detail}); see cause`, { cause: err });
}

