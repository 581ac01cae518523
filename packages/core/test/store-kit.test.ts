/** The helpers sess exports for store authors. */
import { describe, expect, test } from '@jest/globals';
import { PruneTimer, TurnBatch, USER_FIELD, cookieExpired, decodeRecord, pollLock, recordJson, takeUserKey, userSessionInfo } from '@sess/core';

const cookie = (ms: number) => ({ originalMaxAge: 60_000, expires: new Date(Date.now() + ms).toISOString(), path: '/' });

describe('decodeRecord', () => {
  test('strings, Buffers and objects; typed errors that never name the id', () => {
    const rec = { cookie: cookie(1000), v: 1 };
    expect(decodeRecord(JSON.stringify(rec), 'X')).toEqual(rec);
    expect(decodeRecord(Buffer.from(JSON.stringify(rec)), 'X')).toEqual(rec);
    expect(decodeRecord({ ...rec }, 'X')).toEqual(rec);
    expect(() => decodeRecord('{oops', 'Redis')).toThrow(expect.objectContaining({ code: 'SESS_BAD_DATA', message: 'a Redis session value is not valid JSON' }));
    for (const bad of ['[1]', '{"v":1}', '{"cookie":null}', 'null', 42]) expect(() => decodeRecord(bad, 'X')).toThrow(expect.objectContaining({ code: 'SESS_BAD_DATA' }));
  });

  test('takeUserKey removes the index field and returns it', () => {
    const rec = decodeRecord(`{"cookie":{},"a":1,"${USER_FIELD}":"ann"}`, 'X');
    expect(takeUserKey(rec)).toBe('ann');
    expect(rec).toEqual({ cookie: {}, a: 1 });
    expect(takeUserKey(rec)).toBeNull();
  });
});

test('cookieExpired: past, future, browser-session and unparsable expiries', () => {
  expect(cookieExpired({ cookie: cookie(-1) })).toBe(true);
  expect(cookieExpired({ cookie: cookie(60_000) })).toBe(false);
  expect(cookieExpired({ cookie: { originalMaxAge: null, expires: null } as never })).toBe(false);
  expect(cookieExpired({ cookie: { expires: 'not a date' } as never })).toBe(false);
});

test('recordJson: cookie first, core\'s JSON reused, the user key appended', () => {
  expect(recordJson({ v: 1, cookie: { path: '/' } } as never)).toBe('{"cookie":{"path":"/"},"v":1}');
  expect(recordJson({ cookie: {} } as never, '{"cookie":{},"x":2}')).toBe('{"cookie":{},"x":2}');
  expect(recordJson({ cookie: {}, [USER_FIELD]: 'old' } as never, undefined, 'ann')).toBe(`{"cookie":{},"${USER_FIELD}":"ann"}`);
});

test('userSessionInfo: created from __sess, last seen from expiry minus maxAge', () => {
  const rec = { cookie: { originalMaxAge: 60_000, expires: new Date(1_000_000).toISOString() }, __sess: { createdAt: 5 } };
  expect(userSessionInfo('a', rec as never, null)).toEqual({ id: 'a', createdAt: 5, lastSeenAt: 940_000, expiresAt: 1_000_000, record: rec });
  expect(userSessionInfo('b', { cookie: { originalMaxAge: null, expires: null } } as never, 7)).toMatchObject({ createdAt: null, lastSeenAt: null, expiresAt: 7 });
});

test('pollLock retries with backoff until it gets the lock, or times out with a LockTimeoutError', async () => {
  let n = 0;
  await pollLock(async () => ++n === 3, 1000);
  expect(n).toBe(3);
  const t0 = Date.now();
  await expect(pollLock(async () => false, 120)).rejects.toMatchObject({ code: 'SESS_LOCK_TIMEOUT' });
  expect(Date.now() - t0).toBeGreaterThanOrEqual(110);
});

test('PruneTimer: unref\'d, jittered, keeps going after a failure, stops for good', async () => {
  const errors: unknown[] = [];
  let runs = 0;
  const job = new PruneTimer(20, async () => {
    runs++;
    if (runs === 1) throw new Error('boom');
  }, (e) => errors.push(e)).start();
  expect(job.handle?.hasRef()).toBe(false);
  await new Promise((r) => setTimeout(r, 200));
  expect(runs).toBeGreaterThanOrEqual(3);
  expect(errors).toHaveLength(1);
  job.stop();
  const after = runs;
  await new Promise((r) => setTimeout(r, 100));
  expect(runs).toBe(after);
  expect(job.scheduled).toBe(false);
  expect(job.start().scheduled).toBe(false);
});

describe('TurnBatch', () => {
  test('collects one turn\'s calls by key (join shares, replace keeps the latest value, moved last) and flushes them together', async () => {
    const flushed: Array<Array<[string, unknown, number]>> = [];
    const batch = new TurnBatch<string, string>((entries) => {
      flushed.push([...entries].map(([k, e]) => [k, e.value, e.waiters.length]));
      for (const [k, e] of entries) TurnBatch.settle(e, Promise.resolve(`${k}=${e.value}`));
    });
    const a = batch.add('a', '1', 'replace');
    const b = batch.add('b', '2', 'replace');
    const a2 = batch.add('a', '3', 'replace');
    expect(flushed).toEqual([]); // nothing before the turn ends
    expect(await Promise.all([a, b, a2])).toEqual(['a=3', 'b=2', 'a=3']);
    expect(flushed).toEqual([[['b', '2', 1], ['a', '3', 2]]]);
    const j = await Promise.all([batch.add('x', 'first', 'join'), batch.add('x', 'second', 'join')]);
    expect(j).toEqual(['x=first', 'x=first']);
    expect(flushed).toHaveLength(2);
  });

  test('a rejected flush rejects every caller of the entry', async () => {
    const batch = new TurnBatch<null, number>((entries) => {
      for (const e of entries.values()) TurnBatch.settle(e, Promise.reject(new Error('down')));
    });
    const all = await Promise.allSettled([batch.add('k', null, 'join'), batch.add('k', null, 'join')]);
    expect(all.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
