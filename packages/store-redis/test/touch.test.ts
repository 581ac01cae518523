/**
 * Core and this store on a real Redis: a touch that would move the whole-second expiry by less than a
 * second is not sent, and a cookie change is stored at once all the same.
 */
import { afterAll, afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import express from 'express';
import { Redis } from 'ioredis';
import session, { type SessionRecord, type WriteContext } from '@sess/core';
import { RedisStore } from '@sess/store-redis';
import { serve } from '../../conformance/test/http';
import { serviceTest, urls } from '../../conformance/test/services';

const svc = serviceTest('redis');

/** The real store, counting what core asks of it. */
class CountingRedisStore extends RedisStore {
  readonly calls: string[] = [];
  override async set(sid: string, record: SessionRecord, ctx: WriteContext) {
    this.calls.push('set');
    return super.set(sid, record, ctx);
  }
  override async touch(sid: string, record: SessionRecord, ctx: WriteContext) {
    this.calls.push('touch');
    return super.touch(sid, record, ctx);
  }
}

if (!svc.available) {
  svc.missing('RedisStore touch floor');
} else {
  const ioredis = new Redis(urls.redis);
  afterAll(async () => {
    await ioredis.quit();
  });

  // Core's clock is the test's, so "within a second" does not depend on how fast the machine is.
  const realNow = Date.now;
  let frozen = 0;
  let offset = 0;
  beforeEach(() => {
    frozen = realNow();
    offset = 0;
    Date.now = () => frozen + offset;
  });
  afterEach(() => {
    Date.now = realNow;
  });

  describe('touching a Redis session through core', () => {
    test('no touch within the resolution, a cookie change stored at once, a touch once a second has passed', async () => {
      const prefix = `sesstouch_${process.pid}_${realNow()}:`;
      const store = new CountingRedisStore({ client: ioredis, prefix });
      const a = express();
      a.use(session({ secret: 's', resave: false, saveUninitialized: false, store, cookie: { maxAge: 60_000 } }));
      a.get('/login', (req, res) => {
        (req.session as unknown as Record<string, string>).user = 'ann';
        res.send('in');
      });
      a.get('/peek', (req, res) => res.send(String((req.session as unknown as Record<string, string>).user)));
      a.get('/strict', (req, res) => {
        req.session.cookie.sameSite = 'strict';
        res.send('ok');
      });
      a.get('/remember', (req, res) => {
        req.session.cookie.maxAge = 7_200_000;
        res.send('ok');
      });
      const srv = await serve(a);
      const stored = async () => {
        const keys = await ioredis.keys(prefix + '*');
        expect(keys).toHaveLength(1);
        return { value: JSON.parse((await ioredis.get(keys[0]!))!) as SessionRecord, ttl: await ioredis.ttl(keys[0]!) };
      };
      try {
        const login = await fetch(srv.url + '/login');
        const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!;
        const get = async (path: string) => (await fetch(srv.url + path, { headers: { cookie } })).text();
        const first = await stored();
        expect(first.value.cookie.expires).toBe(new Date(frozen + 60_000).toISOString());

        offset = 400;
        expect(await get('/peek')).toBe('ann');
        expect(store.calls).toEqual(['set']);
        expect((await stored()).value).toEqual(first.value);

        expect(await get('/strict')).toBe('ok');
        expect(store.calls).toEqual(['set', 'touch']);
        expect((await stored()).value.cookie.sameSite).toBe('strict');

        offset = 1500;
        expect(await get('/peek')).toBe('ann');
        expect(store.calls).toEqual(['set', 'touch', 'touch']);
        const later = await stored();
        expect(later.value.cookie.expires).toBe(new Date(frozen + 1500 + 60_000).toISOString());
        expect(later.value.cookie.sameSite).toBe('strict');
        expect((later.value as unknown as Record<string, string>).user).toBe('ann');

        expect(await get('/remember')).toBe('ok');
        const remembered = await stored();
        expect(remembered.value.cookie.originalMaxAge).toBe(7_200_000);
        expect(remembered.ttl).toBeGreaterThan(7000);
      } finally {
        await srv.close();
        const keys = await ioredis.keys(prefix + '*');
        if (keys.length) await ioredis.del(...keys);
      }
    });
  });
}
