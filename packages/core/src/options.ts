import type { Request } from 'express';
import type { CookieOptions } from './cookie.js';
import type { SessionStore } from './contract.js';
import type { CallbackStore } from './store.js';
import { cookieReader } from './signature.js';
import type { Secret, VerifiedCookie } from './signature.js';
import { ConfigError } from './errors.js';
import { DEFAULT_ID_PATTERN } from './ids.js';
import { unknownOptionText } from './suggest.js';

/** How concurrent requests on one session are reconciled. */
export type ConcurrencyMode = 'last-write-wins' | 'merge' | 'lock';

/** Options of `session()`: express-session's, with the same defaults, plus sess's own (all opt-in). */
export interface SessionOptions {
  /** Signing secret(s). The first signs; every one verifies. Required. */
  secret: Secret | Secret[];
  /** Cookie name. Default `connect.sid`. */
  name?: string;
  /** @deprecated express-session's old name for `name`. */
  key?: string;
  /** Session store: a sess store or an express-session style callback store. Default a MemoryStore. */
  store?: SessionStore | CallbackStore;
  /** Cookie attributes, or a function of the request returning them. */
  cookie?: CookieOptions | ((req: Request) => CookieOptions);
  /** Generate a session id. Default uid-safe, 24 bytes. */
  genid?: (req: Request) => string;
  /** Save unchanged sessions on every request. Default `true` (express-session's), with a warning when not given. */
  resave?: boolean;
  /** Re-send the cookie (with a fresh expiry) on every response. Default `false`. */
  rolling?: boolean;
  /** Save new sessions that were not modified. Default `true` (express-session's), with a warning when not given. */
  saveUninitialized?: boolean;
  /** Trust `X-Forwarded-Proto` for `secure` (`true`), never (`false`), or follow Express's `trust proxy` (unset). */
  proxy?: boolean;
  /** What happens when the app unsets `req.session`: `'keep'` (default) or `'destroy'`. */
  unset?: 'keep' | 'destroy';

  /** Ids must match this to reach the store (cookies with other ids are ignored). Default `/^[A-Za-z0-9_-]{1,255}$/`. */
  idPattern?: RegExp;
  /** Store lifetime (ms) of sessions whose cookie has no expiry (browser-session cookies). Default one day. */
  browserSessionTtl?: number;
  /** Deadline (ms) of every store operation. Default 5000. */
  storeTimeout?: number;
  /** On a store failure: `'fail'` (default) passes a typed 503 error to `next`; `'continue'` goes on without a session. */
  onStoreError?: 'fail' | 'continue';
  /** Touch an unchanged session in the store at most once per this many ms. Default 0 (every request, as express-session). */
  touchAfter?: number;
  /** Commit the store write before the response headers go out. Default `false`. */
  saveBeforeSend?: boolean;
  /** Rotate the session id (keeping the data) once it is this many ms old. Default off. */
  rotateEvery?: number;
  /** End a session this many ms after it was created, however active it is. Default off. */
  absoluteTimeout?: number;
  /** Refuse to save a session whose serialised record is larger than this many bytes. Default off. */
  maxSize?: number;
  /** How concurrent requests on one session are reconciled. Default `'last-write-wins'`. */
  concurrency?: ConcurrencyMode;
  /** How long (ms) a request waits for the session lock in `'lock'` mode or `req.session.lock()`. Default 5000. */
  lockTimeout?: number;
  /** How long (ms) a held lock lasts if its holder dies. Default 30000. */
  lockTtl?: number;
  /** Name the user a session belongs to (for "log out everywhere"), or return null/undefined for none. */
  userKey?: (data: Record<string, unknown>) => string | number | null | undefined;
  /** Store sessions under a keyed hash of the id instead of the id: `true` (key derived from the first secret) or the key. */
  hashIds?: boolean | Secret;
  /**
   * What the signed cookie value starts with. Default `'s:'` (express-session's); `''` reads and writes
   * `@fastify/session`'s default cookie (`<id>.<signature>`).
   */
  cookiePrefix?: string;
}

/** Options after validation, with defaults applied. */
export interface ResolvedOptions {
  name: string;
  secrets: Secret[];
  cookie: CookieOptions | ((req: Request) => CookieOptions);
  genid: (req: Request) => string;
  resave: boolean;
  rolling: boolean;
  saveUninitialized: boolean;
  proxy: boolean | undefined;
  unsetDestroy: boolean;
  idPattern: RegExp;
  browserSessionTtl: number;
  storeTimeout: number;
  onStoreError: 'fail' | 'continue';
  touchAfter: number;
  saveBeforeSend: boolean;
  rotateEvery: number;
  absoluteTimeout: number;
  maxSize: number;
  concurrency: ConcurrencyMode;
  lockTimeout: number;
  lockTtl: number;
  userKey: SessionOptions['userKey'];
  hashIds: Secret | undefined;
  /** What the signed cookie value starts with (`s:`). */
  cookiePrefix: string;
  /** Reads and verifies this middleware's session cookie from a Cookie header (remembers verified values). */
  readCookie: (header: string | undefined) => VerifiedCookie | undefined;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * How many verified session cookies a middleware remembers (each skips its HMAC when it comes back): the
 * browsers of this many recent sessions, at about 250 bytes each (2.5 MB), copies that keep no header alive.
 * A site with more active sessions than this verifies the others as express-session does, on every request.
 */
export const VERIFIED_COOKIES = 10_000;
const warned = new Set<string>();

function warnOnce(msg: string): void {
  if (warned.has(msg)) return;
  warned.add(msg);
  process.emitWarning(msg, 'DeprecationWarning', 'SESS_DEFAULT');
}

/** Every option name `session()` takes (a name outside these gets a warning naming the closest). */
export const SESSION_OPTION_NAMES: readonly string[] = [
  'secret', 'name', 'key', 'store', 'cookie', 'genid', 'resave', 'rolling', 'saveUninitialized', 'proxy', 'unset',
  'idPattern', 'browserSessionTtl', 'storeTimeout', 'onStoreError', 'touchAfter', 'saveBeforeSend', 'rotateEvery',
  'absoluteTimeout', 'maxSize', 'concurrency', 'lockTimeout', 'lockTtl', 'userKey', 'hashIds', 'cookiePrefix',
];

/** Every cookie attribute `cookie` takes. */
export const COOKIE_OPTION_NAMES: readonly string[] = [
  'maxAge', 'expires', 'httpOnly', 'secure', 'sameSite', 'domain', 'path', 'partitioned', 'priority',
];

/** The stable code of the warning for an option name sess does not know. */
export const UNKNOWN_OPTION_WARNING = 'SESS_UNKNOWN_OPTION';
const warnedNames = new Set<string>();

/**
 * Warn (once per name, `process.emitWarning` with code SESS_UNKNOWN_OPTION) about option names that are not
 * sess's or express-session's: `resav`, `cookie.maxage` are otherwise silently ignored, as express-session
 * ignores them. A warning, not an error: express-session accepts them, and so must a drop-in.
 */
export function warnUnknownOptions(options: object, known: readonly string[], where: string): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const id = `${where}.${key}`;
    if (warnedNames.has(id)) continue;
    warnedNames.add(id);
    process.emitWarning(unknownOptionText(where, key, known), { type: 'Warning', code: UNKNOWN_OPTION_WARNING });
  }
}

function duration(opts: SessionOptions, key: keyof SessionOptions, dflt: number): number {
  const v = opts[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new ConfigError(`${key} must be a finite number of milliseconds >= 0, got ${String(v)}: session({ ${key}: 60_000 })`);
  }
  return v;
}

/**
 * Check cookie attributes. Throws a ConfigError that says how to fix each mistake. Called at
 * construction for an object, and per request for a function's result.
 */
export function validateCookieOptions(c: CookieOptions, name: string): void {
  if (typeof c !== 'object' || c === null) throw new ConfigError('cookie must be an object or a function returning one');
  if (c.maxAge != null && (typeof c.maxAge !== 'number' || !Number.isFinite(c.maxAge))) {
    throw new ConfigError(`cookie.maxAge must be a finite number of milliseconds, got ${String(c.maxAge)}: cookie: { maxAge: 3600_000 }`);
  }
  if (c.expires != null && (!(c.expires instanceof Date) || Number.isNaN(c.expires.getTime()))) {
    throw new ConfigError('cookie.expires must be a valid Date; prefer cookie.maxAge');
  }
  if (c.path !== undefined && (typeof c.path !== 'string' || /[;\u0000-\u001f\u007f]/.test(c.path))) {
    throw new ConfigError('cookie.path must not contain ";" or control characters: cookie: { path: "/app" }');
  }
  if (c.domain !== undefined && (typeof c.domain !== 'string' || !/^\.?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(c.domain))) {
    throw new ConfigError('cookie.domain must be a host name such as "example.com"');
  }
  const sameSite = typeof c.sameSite === 'string' ? c.sameSite.toLowerCase() : c.sameSite;
  if (sameSite !== undefined && ![true, false, 'lax', 'strict', 'none', 'auto'].includes(sameSite as string)) {
    throw new ConfigError(`cookie.sameSite must be true, false, 'lax', 'strict', 'none' or 'auto', got ${String(c.sameSite)}`);
  }
  if (c.secure !== undefined && c.secure !== true && c.secure !== false && c.secure !== 'auto') {
    throw new ConfigError(`cookie.secure must be true, false or 'auto', got ${String(c.secure)}`);
  }
  if (sameSite === 'none' && c.secure !== true && c.secure !== 'auto') {
    throw new ConfigError("cookie.sameSite 'none' needs a secure cookie (browsers drop it otherwise): cookie: { sameSite: 'none', secure: true }");
  }
  if (c.priority !== undefined && !['low', 'medium', 'high'].includes(String(c.priority).toLowerCase())) {
    throw new ConfigError(`cookie.priority must be 'low', 'medium' or 'high', got ${String(c.priority)}`);
  }
  if (c.partitioned && c.secure !== true && c.secure !== 'auto') {
    throw new ConfigError('cookie.partitioned needs a secure cookie: cookie: { partitioned: true, secure: true }');
  }
  if (name.startsWith('__Host-')) {
    if (c.domain !== undefined) throw new ConfigError(`a ${name} cookie must not have a domain (the __Host- prefix forbids it): remove cookie.domain`);
    if ((c.path ?? '/') !== '/') throw new ConfigError(`a ${name} cookie must have path "/" (the __Host- prefix requires it)`);
    if (c.secure !== true && c.secure !== 'auto') throw new ConfigError(`a ${name} cookie must be secure: cookie: { secure: true }`);
  }
  if (name.startsWith('__Secure-') && c.secure !== true && c.secure !== 'auto') {
    throw new ConfigError(`a ${name} cookie must be secure: cookie: { secure: true }`);
  }
}

/** Validate `session()` options and apply defaults. Throws ConfigError with a fix for every mistake. */
export function resolveOptions(opts: SessionOptions | undefined): ResolvedOptions {
  if (!opts || typeof opts !== 'object') {
    throw new ConfigError('session() needs options: session({ secret: process.env.SESSION_SECRET })');
  }
  // express-session's order: genid and unset are checked before the secret.
  const genid = opts.genid ?? undefined;
  if (genid !== undefined && typeof genid !== 'function') throw new ConfigError('genid option must be a function: genid: (req) => crypto.randomUUID()');
  if (opts.unset !== undefined && opts.unset !== 'keep' && opts.unset !== 'destroy') {
    throw new ConfigError('unset option must be "destroy" or "keep"');
  }
  const raw = opts.secret;
  if (Array.isArray(raw) && raw.length === 0) {
    throw new ConfigError('secret option array must contain one or more strings: session({ secret: [newSecret, oldSecret] })');
  }
  const secrets = (Array.isArray(raw) ? raw : raw === undefined || raw === null ? [] : [raw]) as Secret[];
  if (secrets.length === 0) {
    throw new ConfigError('secret is required: pass session({ secret: process.env.SESSION_SECRET })');
  }
  for (const s of secrets) {
    if (!(typeof s === 'string' || Buffer.isBuffer(s)) || s.length === 0) {
      throw new ConfigError('every secret must be a non-empty string or Buffer: session({ secret: [newSecret, oldSecret] })');
    }
  }
  const name = opts.name ?? opts.key ?? 'connect.sid';
  if (typeof name !== 'string' || !TOKEN.test(name)) {
    throw new ConfigError(`cookie name ${JSON.stringify(name)} is not a valid cookie name (no ";", "=", spaces or separators): session({ name: 'sid' })`);
  }
  warnUnknownOptions(opts, SESSION_OPTION_NAMES, 'session()');
  const cookie = opts.cookie ?? {};
  if (typeof cookie !== 'function') {
    if (typeof cookie === 'object' && cookie !== null) warnUnknownOptions(cookie, COOKIE_OPTION_NAMES, 'session() cookie');
    validateCookieOptions(cookie, name);
  }
  if (opts.resave === undefined) warnOnce('sess: undefined resave option; provide resave option (defaulting to true, as express-session)');
  if (opts.saveUninitialized === undefined) {
    warnOnce('sess: undefined saveUninitialized option; provide saveUninitialized option (defaulting to true, as express-session)');
  }
  if (opts.idPattern !== undefined && !(opts.idPattern instanceof RegExp)) throw new ConfigError('idPattern must be a RegExp');
  if (opts.onStoreError !== undefined && opts.onStoreError !== 'fail' && opts.onStoreError !== 'continue') {
    throw new ConfigError("onStoreError must be 'fail' or 'continue'");
  }
  const concurrency = opts.concurrency ?? 'last-write-wins';
  if (!['last-write-wins', 'merge', 'lock'].includes(concurrency)) {
    throw new ConfigError("concurrency must be 'last-write-wins', 'merge' or 'lock'");
  }
  if (opts.userKey !== undefined && typeof opts.userKey !== 'function') {
    throw new ConfigError('userKey must be a function of the session data: userKey: (s) => s.userId');
  }
  const maxSize = opts.maxSize === undefined ? 0 : opts.maxSize;
  if (!Number.isInteger(maxSize) || maxSize < 0) throw new ConfigError('maxSize must be a whole number of bytes: maxSize: 16_384');
  let hashIds: Secret | undefined;
  if (opts.hashIds === true) hashIds = Buffer.concat([Buffer.from('sess:hashIds:'), Buffer.from(secrets[secrets.length - 1] as string)]);
  else if (typeof opts.hashIds === 'string' || Buffer.isBuffer(opts.hashIds)) {
    if (opts.hashIds.length === 0) throw new ConfigError('hashIds key must not be empty');
    hashIds = opts.hashIds;
  } else if (opts.hashIds !== undefined && opts.hashIds !== false) throw new ConfigError('hashIds must be true, false, or a key');
  const cookiePrefix = opts.cookiePrefix ?? 's:';
  if (typeof cookiePrefix !== 'string' || !/^[\x21-\x7e]{0,16}$/.test(cookiePrefix) || /[;,"\\]/.test(cookiePrefix)) {
    throw new ConfigError("cookiePrefix must be a short string of visible characters without ; , \" or \\: cookiePrefix: 's:' (express-session) or '' (@fastify/session)");
  }
  return {
    name,
    secrets,
    cookie,
    genid: genid as ResolvedOptions['genid'],
    resave: opts.resave ?? true,
    rolling: Boolean(opts.rolling),
    saveUninitialized: opts.saveUninitialized ?? true,
    proxy: opts.proxy,
    unsetDestroy: opts.unset === 'destroy',
    idPattern: opts.idPattern ?? DEFAULT_ID_PATTERN,
    browserSessionTtl: duration(opts, 'browserSessionTtl', 86_400_000),
    storeTimeout: duration(opts, 'storeTimeout', 5000),
    onStoreError: opts.onStoreError ?? 'fail',
    touchAfter: duration(opts, 'touchAfter', 0),
    saveBeforeSend: Boolean(opts.saveBeforeSend),
    rotateEvery: duration(opts, 'rotateEvery', 0),
    absoluteTimeout: duration(opts, 'absoluteTimeout', 0),
    maxSize,
    concurrency,
    lockTimeout: duration(opts, 'lockTimeout', 5000),
    lockTtl: duration(opts, 'lockTtl', 30_000),
    userKey: opts.userKey,
    hashIds,
    cookiePrefix,
    readCookie: cookieReader(name, secrets, VERIFIED_COOKIES, cookiePrefix),
  };
}
