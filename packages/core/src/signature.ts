import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { sign as cookieSignatureSign } from 'cookie-signature';
import { ownCopy } from './strings.js';

/** A secret as the `secret` option takes it. */
export type Secret = string | Buffer;

/** Each secret's HMAC key, imported once (a string or Buffer secret is imported again on every createHmac). */
const keys = new Map<Secret, KeyObject | null>();

function keyOf(secret: Secret): KeyObject | null {
  let key = keys.get(secret);
  if (key === undefined) {
    try {
      key = createSecretKey(typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret));
    } catch {
      key = null; // a key Node will not import (empty): cookie-signature's own call decides
    }
    if (keys.size >= 64) keys.clear(); // secrets come from options: a handful; never an unbounded map
    keys.set(secret, key);
  }
  return key;
}

/**
 * `cookie-signature`'s `sign(value, secret)`, byte for byte (`value.` + base64 HMAC-SHA256 without padding),
 * with the secret's key imported once. test/ids.test.ts compares the two for many ids and secrets.
 */
export function sign(value: string, secret: Secret): string {
  const key = keyOf(secret);
  if (key === null) return cookieSignatureSign(value, secret as string);
  // A SHA-256 digest in base64 is 43 characters and one '=' of padding.
  return value + '.' + createHmac('sha256', key).update(value).digest('base64').slice(0, 43);
}

/**
 * The cookie value express-session writes for `sid`: `s:` + sid + `.` + HMAC-SHA256 (before URL-encoding);
 * with another `prefix` (`''`: @fastify/session's default), that prefix instead of `s:`.
 */
export function signId(sid: string, secret: Secret, prefix = 's:'): string {
  return prefix + sign(sid, secret as string);
}

/** What a request's session cookie verified to. */
export interface VerifiedCookie {
  /** The session id. */
  id: string;
  /** Index of the secret that verified it (0 = the current signing secret). */
  secretIndex: number;
  /** The cookie's value as sent (`s:<id>.<signature>`, URL-decoded). */
  value: string;
}

/**
 * The value of cookie `name` in a Cookie header, as the `cookie` package's `parse` reads it (the first
 * pair with that name wins; spaces around names and values and one pair of double quotes are dropped;
 * `%`-escapes are decoded, and a value that does not decode is kept as it is), without building an
 * object of every cookie in the header.
 */
export function cookieValue(header: string, name: string): string | undefined {
  const len = header.length;
  if (len < 2) return undefined;
  let index = 0;
  do {
    const eq = header.indexOf('=', index);
    if (eq === -1) return undefined;
    let end = header.indexOf(';', index);
    if (end === -1) end = len;
    else if (eq > end) {
      index = header.lastIndexOf(';', eq - 1) + 1;
      continue;
    }
    let ks = index;
    while (ks < eq && isSpace(header.charCodeAt(ks))) ks++;
    let ke = eq;
    while (ke > ks && isSpace(header.charCodeAt(ke - 1))) ke--;
    if (ke - ks === name.length && header.startsWith(name, ks)) {
      let vs = eq + 1;
      while (vs < end && isSpace(header.charCodeAt(vs))) vs++;
      let ve = end;
      while (ve > vs && isSpace(header.charCodeAt(ve - 1))) ve--;
      if (header.charCodeAt(vs) === 0x22 && header.charCodeAt(ve - 1) === 0x22) {
        vs++;
        ve--;
      }
      const raw = header.slice(vs, ve);
      if (raw.indexOf('%') === -1) return raw;
      try {
        return decodeURIComponent(raw);
      } catch {
        return raw;
      }
    }
    index = end + 1;
  } while (index < len);
  return undefined;
}

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/** cookie-signature's check of `value` (`<id>.<mac>`) against one secret, in constant time: the id, or false. */
function unsignWith(value: string, secret: Secret): string | false {
  const dot = value.lastIndexOf('.');
  if (dot === -1) return false;
  const id = value.slice(0, dot);
  const given = Buffer.from(value);
  const expected = Buffer.from(sign(id, secret as string));
  return given.length === expected.length && timingSafeEqual(given, expected) ? id : false;
}

function verify(raw: string | undefined, secrets: readonly Secret[], prefix = 's:'): VerifiedCookie | undefined {
  if (!raw || !raw.startsWith(prefix)) return undefined;
  const value = raw.slice(prefix.length);
  for (let i = 0; i < secrets.length; i++) {
    const id = unsignWith(value, secrets[i]!);
    if (id !== false) return { id, secretIndex: i, value: raw };
  }
  return undefined;
}

/**
 * Read and verify the session cookie `name` from a Cookie header. Returns `undefined` for a missing,
 * unsigned or forged cookie. Every secret verifies; the first one that matches is reported.
 */
export function readSessionCookie(header: string | undefined, name: string, secrets: readonly Secret[], prefix = 's:'): VerifiedCookie | undefined {
  if (!header) return undefined;
  return verify(cookieValue(header, name), secrets, prefix);
}

/**
 * A `readSessionCookie` for one middleware's name and secrets that remembers the cookie values it has
 * verified (at most `size`, the oldest forgotten first), so a browser's repeated requests cost one
 * HMAC, not one each. Only values that verified are remembered, keyed by the whole signed value: a
 * hit needs the exact bytes of a valid cookie, which the HMAC would accept anyway.
 */
export function cookieReader(name: string, secrets: readonly Secret[], size = 1000, prefix = 's:'): (header: string | undefined) => VerifiedCookie | undefined {
  const verified = new Map<string, VerifiedCookie>();
  // The remembered values in the order they came, in a ring: forgetting the oldest is one delete by key (taking
  // the Map's first key instead walks past every entry deleted before it, which grows with the traffic).
  const order: string[] = [];
  let next = 0;
  // The last header read, and what it held: a browser sends the same header request after request.
  let lastHeader: string | undefined;
  let lastResult: VerifiedCookie | undefined;
  return (header) => {
    if (!header) return undefined;
    if (header === lastHeader) return lastResult;
    const result = read(header);
    lastHeader = header;
    lastResult = result;
    return result;
  };
  function read(header: string): VerifiedCookie | undefined {
    const raw = cookieValue(header, name);
    if (!raw) return undefined;
    const known = verified.get(raw);
    if (known) return known;
    const fresh = verify(raw, secrets, prefix);
    if (!fresh || size <= 0) return fresh;
    // Copies: the value and the id are cut from the Cookie header, which they would keep alive in the cache.
    const kept: VerifiedCookie = { id: ownCopy(fresh.id), secretIndex: fresh.secretIndex, value: ownCopy(fresh.value) };
    if (order.length < size) order.push(kept.value);
    else {
      verified.delete(order[next]!);
      order[next] = kept.value;
      next = (next + 1) % size;
    }
    verified.set(kept.value, kept);
    return kept;
  }
}

/**
 * The session cookie as cookie-parser left it, for a request whose Cookie header lacks it (express-session's
 * back-compat read): `req.signedCookies[name]` (already verified by cookie-parser, with its own secret), else
 * `req.cookies[name]` verified with the session secrets.
 */
export function cookieParserValue(
  req: { signedCookies?: Record<string, unknown>; cookies?: Record<string, unknown> },
  name: string,
  secrets: readonly Secret[],
  prefix = 's:',
): VerifiedCookie | undefined {
  const signed = req.signedCookies?.[name];
  if (typeof signed === 'string' && signed !== '') return { id: signed, secretIndex: 0, value: signId(signed, secrets[0]!, prefix) };
  const raw = req.cookies?.[name];
  return typeof raw === 'string' ? verify(raw, secrets, prefix) : undefined;
}
