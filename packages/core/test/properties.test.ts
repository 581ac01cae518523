/**
 * Property-based tests (fast-check) of the parsing and verification on the way in: the Cookie header parser
 * (against the `cookie` package express-session uses), signature verification (a forged or altered value is
 * never accepted, cached or not), the stored-record decoder (a typed error or a record, never a polluted
 * prototype, also through the middleware), and the id grammar. SESS_PROPERTY_RUNS sets the runs per property
 * (2,000 by default; `scripts/properties.sh` runs a million, see docs/reliability.md).
 */
import { describe, expect, test } from '@jest/globals';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { BadDataError, DEFAULT_ID_PATTERN, SessError, decodeRecord, generateSessionId, readSessionCookie, signId } from '@sess/core';
import { cookieReader, cookieValue } from '../src/signature';
import { Session } from '../src/session';

const runs = Number(process.env.SESS_PROPERTY_RUNS ?? 2000);
const params = { numRuns: runs, ...(process.env.SESS_PROPERTY_SEED ? { seed: Number(process.env.SESS_PROPERTY_SEED) } : {}) };
const timeout = Math.max(60_000, runs * 2);

// The cookie parser express-session uses (through its own dependency), for a differential check.
const esRequire = createRequire(require.resolve('express-session'));
const cookieParse = (esRequire('cookie') as { parse(h: string): Record<string, string | undefined> }).parse;

const idChar = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-');
const sessionId = fc.string({ unit: idChar, minLength: 1, maxLength: 64 });
const secret = fc.string({ minLength: 1, maxLength: 40 });
// RFC 6265 cookie-octets (what browsers send), and names as tokens.
const octet = fc.constantFrom(...'!#$%&\'()*+-./0123456789:<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~');
const tokenChar = fc.constantFrom(...'!#$%&\'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz');
const cookiePair = fc.record({ name: fc.string({ unit: tokenChar, minLength: 1, maxLength: 12 }), value: fc.string({ unit: octet, maxLength: 40 }) });

describe('the Cookie header parser', () => {
  test('never throws on any header, and finds what the cookie package finds', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.string({ unit: tokenChar, minLength: 1, maxLength: 12 }), (header, name) => {
        cookieValue(header, name); // any input: no throw
        readSessionCookie(header, name, ['s']);
      }),
      params,
    );
    fc.assert(
      fc.property(fc.array(cookiePair, { maxLength: 8 }), fc.constantFrom('; ', ';', ' ; '), (pairs, sep) => {
        const header = pairs.map((p) => `${p.name}=${p.value}`).join(sep);
        const theirs = cookieParse(header);
        for (const { name } of pairs) {
          // The cookie package parses into a plain object, so a cookie named like an Object.prototype member
          // (__proto__, constructor…) reads back as that member there; sess reads the cookie's own value.
          if (name in Object.prototype) continue;
          const mine = cookieValue(header, name);
          // The cookie package decodes %XX; sess compares the decoded value the same way.
          expect(mine).toBe(theirs[name]);
        }
      }),
      params,
    );
  }, timeout);
});

describe('signature verification', () => {
  test('a value signed with the secret is read back; altered, truncated, extended or signed with another secret, never', () => {
    fc.assert(
      fc.property(sessionId, secret, secret, fc.nat(), fc.string({ minLength: 1, maxLength: 3 }), (id, key, otherKey, where, junk) => {
        const signed = signId(id, key);
        const header = (v: string) => `other=1; connect.sid=${encodeURIComponent(v)}; x=y`;
        const cached = cookieReader('connect.sid', [key]);
        expect(readSessionCookie(header(signed), 'connect.sid', [key])?.id).toBe(id);
        expect(cached(header(signed))?.id).toBe(id);
        const forgeries = new Set<string>();
        const i = 2 + (where % (signed.length - 2));
        const replaced = signed.slice(0, i) + (signed[i] === 'A' ? 'B' : 'A') + signed.slice(i + 1);
        forgeries.add(replaced);
        forgeries.add(signed.slice(0, i)); // truncated
        forgeries.add(signed + junk); // extended
        forgeries.add(signed.slice(0, i) + junk + signed.slice(i)); // inserted
        if (otherKey !== key) forgeries.add(signId(id, otherKey));
        forgeries.add(signed.replace(/^s:/, '')); // unsigned
        for (const forged of forgeries) {
          if (forged === signed) continue;
          expect(readSessionCookie(header(forged), 'connect.sid', [key])).toBeUndefined();
          expect(cached(header(forged))).toBeUndefined(); // the cache of verified values never answers for another value
        }
      }),
      params,
    );
  }, timeout);
});

describe('the stored-record decoder', () => {
  const dangerousKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'cookie', '__sess', '__sessUser');
  const key = fc.oneof(dangerousKey, fc.string({ maxLength: 10 }));
  const record = fc.dictionary(key, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 });

  test('a record or a BadDataError, for any value a store may hold; Object.prototype never changes', () => {
    const before = Object.getOwnPropertyNames(Object.prototype).sort();
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)), record.map((r) => JSON.stringify(r)), record.map((r) => JSON.stringify({ cookie: { originalMaxAge: 1 }, ...r }))), (stored) => {
        let got: unknown;
        try {
          got = decodeRecord(stored, 'test');
        } catch (err) {
          expect(err).toBeInstanceOf(BadDataError);
          expect((err as SessError).code).toBe('SESS_BAD_DATA');
          return;
        }
        expect(typeof got).toBe('object');
        expect(typeof (got as { cookie: unknown }).cookie).toBe('object');
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      params,
    );
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
  }, timeout);

  test("the session built from any decoded record keeps Session's prototype and leaves Object.prototype alone", () => {
    fc.assert(
      fc.property(record, (data) => {
        const raw = JSON.parse(JSON.stringify({ cookie: { originalMaxAge: 60000, path: '/', httpOnly: true }, ...data })) as Record<string, unknown>;
        // What JSON.parse gives for a stored '"__proto__":{…}': an own property, never the prototype.
        const withProto = JSON.parse(JSON.stringify(raw).replace(/^\{/, '{"__proto__":{"polluted":true,"regenerate":1},')) as Record<string, unknown>;
        for (const stored of [raw, withProto]) {
          const sess = new Session({ sessionID: 'x' } as never, stored as never);
          expect(Object.getPrototypeOf(sess)).toBe(Session.prototype);
          expect(typeof sess.regenerate).toBe('function');
          expect((sess as unknown as Record<string, unknown>).polluted).toBeUndefined();
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        }
      }),
      params,
    );
  }, timeout);
});

describe('the id grammar', () => {
  test('every generated id matches the default grammar; the grammar accepts exactly its alphabet, 1 to 255 characters', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), () => {
        const id = generateSessionId();
        expect(id).toMatch(DEFAULT_ID_PATTERN);
        expect(id).toHaveLength(32);
      }),
      { ...params, numRuns: Math.min(runs, 100_000) },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 300, unit: 'binary' }), (s) => {
        const ok = s.length >= 1 && s.length <= 255 && [...s].every((c) => /[A-Za-z0-9_-]/.test(c));
        expect(DEFAULT_ID_PATTERN.test(s)).toBe(ok);
      }),
      params,
    );
  }, timeout);
});
