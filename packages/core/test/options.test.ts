import { describe, expect, test } from '@jest/globals';
import session, { ConfigError, SessError, type SessionOptions } from '@sess/core';

const base = { secret: 'keyboard cat', resave: false, saveUninitialized: false } as const;

function thrown(opts: unknown): SessError {
  try {
    session(opts as SessionOptions);
  } catch (err) {
    return err as SessError;
  }
  throw new Error('session() did not throw');
}

describe('bad configuration throws at construction with a fix', () => {
  test.each<[string, unknown, RegExp]>([
    ['no options', undefined, /secret/],
    ['no secret', { resave: false, saveUninitialized: false }, /secret is required: pass session\(\{ secret: process.env.SESSION_SECRET \}\)/],
    ['empty secret', { ...base, secret: '' }, /non-empty/],
    ['empty secret array', { ...base, secret: [] }, /secret option array must contain one or more strings/],
    ['secret of the wrong type', { ...base, secret: 42 }, /string or Buffer/],
    ["sameSite 'none' without secure", { ...base, cookie: { sameSite: 'none' } }, /secure: true/],
    ['name with ;', { ...base, name: 'a;b' }, /not a valid cookie name/],
    ['name with space', { ...base, name: 'a b' }, /not a valid cookie name/],
    ['path with ;', { ...base, cookie: { path: '/a;b' } }, /path must not contain/],
    ['__Host- with a domain', { ...base, name: '__Host-sid', cookie: { secure: true, domain: 'example.com' } }, /must not have a domain/],
    ['__Host- with a path', { ...base, name: '__Host-sid', cookie: { secure: true, path: '/app' } }, /path "\/"/],
    ['__Host- insecure', { ...base, name: '__Host-sid' }, /must be secure/],
    ['__Secure- insecure', { ...base, name: '__Secure-sid' }, /must be secure/],
    ['NaN maxAge', { ...base, cookie: { maxAge: Number.NaN } }, /finite/],
    ['Infinity maxAge', { ...base, cookie: { maxAge: Infinity } }, /finite/],
    ['string maxAge', { ...base, cookie: { maxAge: '1h' } }, /finite/],
    ['bad sameSite', { ...base, cookie: { sameSite: 'sometimes' } }, /sameSite must be/],
    ['bad secure', { ...base, cookie: { secure: 'yes' } }, /secure must be/],
    ['bad priority', { ...base, cookie: { priority: 'urgent' } }, /priority/],
    ['partitioned insecure', { ...base, cookie: { partitioned: true } }, /partitioned needs a secure cookie/],
    ['bad domain', { ...base, cookie: { domain: 'exa mple.com' } }, /domain/],
    ['invalid expires', { ...base, cookie: { expires: new Date('nope') } }, /expires/],
    ['genid not a function', { ...base, genid: 'x' }, /genid/],
    ['bad unset', { ...base, unset: 'drop' }, /unset/],
    ['bad store', { ...base, store: {} }, /store must be/],
    ['negative storeTimeout', { ...base, storeTimeout: -1 }, /storeTimeout/],
    ['bad onStoreError', { ...base, onStoreError: 'ignore' }, /onStoreError/],
    ['bad concurrency', { ...base, concurrency: 'yolo' }, /concurrency/],
    ['bad maxSize', { ...base, maxSize: 1.5 }, /maxSize/],
    ['bad userKey', { ...base, userKey: 'userId' }, /userKey/],
  ])('%s', (_name, opts, message) => {
    const err = thrown(opts);
    expect(err).toBeInstanceOf(ConfigError);
    expect(SessError.isInstance(err)).toBe(true);
    expect(err.code).toBe('SESS_CONFIG');
    expect(err.name).toBe('ConfigError');
    expect(err.message).toMatch(message);
  });

  test('valid configurations construct', () => {
    expect(typeof session({ ...base, cookie: { sameSite: 'none', secure: true } })).toBe('function');
    expect(typeof session({ ...base, name: '__Host-sid', cookie: { secure: true } })).toBe('function');
    expect(typeof session({ ...base, secret: ['new', Buffer.from('old')] })).toBe('function');
    expect(typeof session({ ...base, cookie: { sameSite: 'auto', secure: 'auto' } })).toBe('function');
    expect(typeof session({ ...base, key: 'legacy.sid' })).toBe('function');
  });

  test('resave and saveUninitialized default to true with a warning, as express-session', () => {
    const warnings: string[] = [];
    const original = process.emitWarning;
    process.emitWarning = ((w: string) => {
      warnings.push(String(w));
    }) as typeof process.emitWarning;
    try {
      session({ secret: 'x' });
    } finally {
      process.emitWarning = original;
    }
    expect(warnings.some((w) => /undefined resave option/.test(w))).toBe(true);
    expect(warnings.some((w) => /undefined saveUninitialized option/.test(w))).toBe(true);
  });
});
