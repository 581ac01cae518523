/**
 * What the engine computes from a session and a record, without any request state: the record's expiry,
 * the data's fingerprint (change detection), whether the cookie's attributes changed, a new id, the stored
 * record and its JSON.
 */
import type { SessionRecord, WithCookieJson, WriteContext } from '../contract.js';
import { COOKIE_JSON, storeExpiresOf } from '../contract.js';
import { BadDataError, ErrorCodes } from '../errors.js';
import { generateSessionId } from '../ids.js';
import type { ResolvedOptions } from '../options.js';
import type { Session } from '../session.js';
import { sessionData } from '../session.js';

/** sess's own bookkeeping, stored under `__sess` in the record when a feature needs it. */
export interface SessMeta {
  /** When the session was created (ms since epoch). */
  createdAt: number;
  /** When its id was last rotated (ms since epoch). */
  rotatedAt?: number;
}

const COOKIE_ATTRIBUTES = ['partitioned', 'priority', 'secure', 'httpOnly', 'domain', 'path', 'sameSite'] as const;

/**
 * Whether the app changed a cookie attribute other than its expiry, for stores whose touch does not store
 * the cookie. `originalMaxAge` counts as changed only past a second: resetting `maxAge` moves it by a
 * millisecond now and then (express-session's Cookie reads the clock twice), which is not a change.
 */
export function cookieChanged(now: object, loaded: object): boolean {
  const a = now as Record<string, unknown>;
  const b = loaded as Record<string, unknown>;
  for (const k of COOKIE_ATTRIBUTES) if ((a[k] ?? null) !== (b[k] ?? null)) return true;
  const x = a.originalMaxAge;
  const y = b.originalMaxAge;
  if (typeof x === 'number' && typeof y === 'number') return Math.abs(x - y) > 1000;
  return (x ?? null) !== (y ?? null);
}

/**
 * A record's cookie expiry in ms (NaN if unreadable); for a browser-session cookie, the store's own expiry
 * when it reported one (`STORE_EXPIRES`), else undefined.
 */
export function expiresOf(record: SessionRecord): number | undefined {
  const exp = record.cookie.expires;
  if (exp == null) return storeExpiresOf(record);
  return typeof exp === 'string' ? Date.parse(exp) : new Date(exp as unknown as number).getTime();
}

/** JSON of the session's application data (no cookie): what change detection compares. */
export function fingerprint(sess: Session): string {
  try {
    return JSON.stringify(sessionData(sess));
  } catch (err) {
    throw new BadDataError(
      'session data cannot be serialised to JSON (a BigInt, a circular reference or a throwing toJSON): keep only plain JSON values in req.session',
      { cause: err },
    );
  }
}

/** Each key's JSON: the baseline a `concurrency: 'merge'` patch is computed against. */
export function snapshot(sess: Session): Map<string, string> {
  const m = new Map<string, string>();
  for (const [k, v] of Object.entries(sessionData(sess))) m.set(k, JSON.stringify(v) ?? 'undefined');
  return m;
}

/**
 * A new session id: genid's (given `request`, what the binding hands it: Express's `req`), or uid-safe's. An
 * id the id grammar refuses would make a cookie that never comes back (express-session URL-encodes whatever
 * genid returns into the cookie; sess ignores a cookie whose id is outside the grammar): that is a
 * configuration mistake, reported on its first use, never a missing cookie.
 */
export function newSessionId(request: unknown, o: ResolvedOptions): string {
  if (!o.genid) return generateSessionId();
  const id = o.genid(request as never);
  if (typeof id !== 'string' || !o.idPattern.test(id)) {
    const got = typeof id === 'string' ? `a string of ${id.length} characters outside it` : `a ${id === null ? 'null' : typeof id}`;
    throw new BadDataError(
      `genid returned an id that the id grammar refuses (idPattern ${String(o.idPattern)}; got ${got}): return an id made of ` +
        'letters, digits, "-" and "_" (uid-safe, crypto.randomUUID()), or set idPattern to a grammar that matches your ids',
      { code: ErrorCodes.BAD_ID },
    );
  }
  return id;
}

/** The stored record of `sess`: the cookie first, then the data, then sess's bookkeeping when kept. */
export function toRecord(sess: Session, meta: SessMeta | undefined): SessionRecord {
  const rec: SessionRecord = { cookie: sess.cookie.data };
  for (const k of Object.keys(sess)) if (k !== 'cookie') rec[k] = (sess as unknown as Record<string, unknown>)[k];
  if (meta) rec.__sess = meta;
  return rec;
}

/** The record's JSON, built from the data fingerprint so the data is serialised once per write. */
export function recordJsonFrom(rec: SessionRecord, fp: string, ctx?: WriteContext): string {
  const cookieJson = JSON.stringify(rec.cookie);
  if (ctx) (ctx as WithCookieJson)[COOKIE_JSON] = { of: rec.cookie, json: cookieJson };
  let json = '{"cookie":' + cookieJson + (fp === '{}' ? '' : ',' + fp.slice(1, -1));
  if (rec.__sess !== undefined) json += ',"__sess":' + JSON.stringify(rec.__sess);
  return json + '}';
}
