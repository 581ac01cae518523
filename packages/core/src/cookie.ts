import { serialize } from 'cookie';
import { es5Constructor } from './es5.js';

/** Cookie attributes, as express-session takes them in `options.cookie`. */
export interface CookieOptions {
  /** Lifetime in milliseconds from now; `null` (default) makes a browser-session cookie. */
  maxAge?: number | null | undefined;
  /** Absolute expiry date. Prefer `maxAge`. */
  expires?: Date | null | undefined;
  /** `HttpOnly` attribute (default `true`). */
  httpOnly?: boolean | undefined;
  /** `Secure` attribute; `'auto'` follows the connection (see the `proxy` option). */
  secure?: boolean | 'auto' | undefined;
  /** `SameSite` attribute; `'auto'` is `none` on secure connections and `lax` otherwise. */
  sameSite?: boolean | 'lax' | 'strict' | 'none' | 'auto' | undefined;
  /** `Domain` attribute (default: none, host-only). */
  domain?: string | undefined;
  /** `Path` attribute (default `/`). Requests outside it pass through without a session. */
  path?: string | undefined;
  /** `Partitioned` attribute (CHIPS). */
  partitioned?: boolean | undefined;
  /** `Priority` attribute. */
  priority?: 'low' | 'medium' | 'high' | undefined;
}

/** The cookie data as stored in the session record (what `JSON.stringify(cookie)` gives). */
export interface CookieData {
  originalMaxAge: number | null;
  partitioned?: boolean;
  priority?: 'low' | 'medium' | 'high';
  expires?: string | Date | null;
  secure?: boolean;
  httpOnly?: boolean;
  domain?: string;
  path?: string;
  sameSite?: boolean | 'lax' | 'strict' | 'none';
}

/** Where a cookie read from the store keeps its ISO expiry until it is needed (a symbol: not in keys or JSON). */
const kIso = Symbol('sess.expiresIso');

/**
 * The session cookie, `req.session.cookie`. Same shape and semantics as express-session's `Cookie`:
 * `maxAge` counts down from `expires`, `originalMaxAge` keeps the configured lifetime, and
 * `JSON.stringify(cookie)` gives the stored `cookie` object.
 */
class CookieClass {
  declare path: string;
  declare httpOnly: boolean;
  declare secure?: boolean;
  declare sameSite?: boolean | 'lax' | 'strict' | 'none';
  declare domain?: string;
  declare partitioned?: boolean;
  declare priority?: 'low' | 'medium' | 'high';
  declare originalMaxAge: number | null;
  /** @internal */
  declare _expires: Date | null | undefined;
  /** @internal The stored ISO expiry, turned into `_expires` when first needed (most requests never read it). */
  declare [kIso]: string | undefined;

  constructor(options?: CookieOptions | CookieData | Record<string, unknown>) {
    CookieClass.setup(this, options);
  }

  /** @internal What the constructor does; also run by `Cookie.call(this, options)` in an ES5 subclass. */
  static setup(self: CookieClass, options?: CookieOptions | CookieData | Record<string, unknown>): void {
    self.path = '/';
    self.maxAge = null;
    self.httpOnly = true;
    if (options) {
      if (typeof options !== 'object') throw new TypeError('argument options must be a object');
      for (const key in options) {
        if (key !== 'data') (self as unknown as Record<string, unknown>)[key] = (options as Record<string, unknown>)[key];
      }
    }
    if (self.originalMaxAge === undefined || self.originalMaxAge === null) self.originalMaxAge = self.maxAge;
  }

  /** Rebuild a Cookie from its stored form (ISO `expires` string and all), as express-session's createSession does. */
  static fromData(data: CookieData | Record<string, unknown>): Cookie {
    const c = Object.create(Cookie.prototype) as Cookie;
    c.path = '/';
    c._expires = null;
    c.originalMaxAge = null;
    c.httpOnly = true;
    for (const key in data) {
      const v = (data as Record<string, unknown>)[key];
      if (key === 'data') continue;
      if (key === 'expires') {
        if (typeof v === 'string') c[kIso] = v;
        else c._expires = v as Date | null | undefined;
      }
      else if (key === 'maxAge') c.maxAge = v as number | null;
      else (c as unknown as Record<string, unknown>)[key] = v;
    }
    c.originalMaxAge = (data as CookieData).originalMaxAge;
    return c;
  }

  /** Absolute expiry, or `null`/`undefined` for a browser-session cookie. */
  set expires(date: Date | null | undefined) {
    if (this[kIso] !== undefined) this[kIso] = undefined;
    this._expires = date;
    this.originalMaxAge = this.maxAge;
  }
  get expires(): Date | null | undefined {
    return this[kIso] === undefined ? this._expires : parseStoredExpires(this);
  }

  /** Milliseconds left until `expires` (setting it moves `expires` to now + ms). */
  set maxAge(ms: number | null | undefined) {
    if (ms && typeof ms !== 'number' && !((ms as unknown) instanceof Date)) {
      throw new TypeError('maxAge must be a number or Date');
    }
    this.expires = typeof ms === 'number' ? new Date(Date.now() + ms) : (ms as Date | null | undefined);
  }
  get maxAge(): number | null {
    const e = this.expires;
    return e instanceof Date ? e.valueOf() - Date.now() : (e as null);
  }

  /** The attributes as a plain object, in express-session's key order. */
  get data(): CookieData {
    return {
      originalMaxAge: this.originalMaxAge,
      partitioned: this.partitioned,
      priority: this.priority,
      expires: this.expires,
      secure: this.secure,
      httpOnly: this.httpOnly,
      domain: this.domain,
      path: this.path,
      sameSite: this.sameSite,
    } as CookieData;
  }

  /** Serialise as a `Set-Cookie` value for `name=val`. */
  serialize(name: string, val: string): string {
    return serializeCookie(name, val, this);
  }

  toJSON(): CookieData {
    return this.data;
  }
}

/** Turn a cookie's stored ISO expiry into its `_expires` Date. */
function parseStoredExpires(c: Cookie): Date {
  const d = new Date(c[kIso] as string);
  c[kIso] = undefined;
  c._expires = d;
  return d;
}

/** `Set-Cookie` header value with the same bytes express-session writes (the `cookie` package, encodeURIComponent). */
export function serializeCookie(name: string, value: string, c: Cookie): string {
  const expires = c.expires;
  return serialize(name, value, {
    expires: expires instanceof Date ? expires : undefined,
    secure: c.secure,
    httpOnly: c.httpOnly,
    domain: c.domain,
    path: c.path,
    sameSite: c.sameSite,
    partitioned: c.partitioned,
    priority: c.priority,
  });
}

/**
 * See {@link CookieClass}: callable the ways express-session's `Cookie` is (`new Cookie(opts)`, `Cookie(opts)`,
 * `Cookie.call(this, opts)` in an ES5 subclass).
 */
export const Cookie = es5Constructor('Cookie', CookieClass, (self, [options]) => CookieClass.setup(self, options as CookieOptions));
export type Cookie = CookieClass;
