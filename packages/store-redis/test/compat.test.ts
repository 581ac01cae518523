/**
 * Switching from connect-redis to this store, or back, keeps every session and cookie: the same Redis
 * and prefix served by express-session + connect-redis and by @sess/core + RedisStore in turn.
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import expressSession from 'express-session';
import { RedisStore as ConnectRedis } from 'connect-redis';
import { createClient } from 'redis';
import { Redis } from 'ioredis';
import session from '@sess/core';
import { RedisStore } from '@sess/store-redis';
import { serviceTest, urls } from '../../conformance/test/services';
import { keptAliveByTouches, switchBackAndForth } from '../../conformance/test/http';

const svc = serviceTest('redis');
const opts = { secret: 'keyboard cat', resave: false, saveUninitialized: false, name: 'sid', cookie: { maxAge: 3_600_000 } };

if (!svc.available) {
  svc.missing('connect-redis migration');
} else {
  const ioredis = new Redis(urls.redis);
  const nodeRedis = createClient({ url: urls.redis });
  afterAll(async () => {
    await ioredis.quit();
    if (nodeRedis.isOpen) await nodeRedis.quit();
  });

  describe('layout shared with connect-redis', () => {
    test('a session kept alive only by touches (stored cookie expired, TTL ahead) survives each switch', async () => {
      if (!nodeRedis.isOpen) await nodeRedis.connect();
      const prefix = `sesscompat_touch_${Date.now()}:`;
      await keptAliveByTouches(
        (maxAge) => expressSession({ ...opts, cookie: { maxAge }, store: new ConnectRedis({ client: nodeRedis, prefix }) }),
        (maxAge) => session({ ...opts, cookie: { maxAge }, store: new RedisStore({ client: ioredis, prefix }) }),
      );
      await ioredis.del(...(await ioredis.keys(prefix + '*')));
    });

    test.each([
      ['connect-redis → sess → connect-redis', 'incumbent'],
      ['sess → connect-redis → sess', 'sess'],
    ])('%s', async (_name, first) => {
      if (!nodeRedis.isOpen) await nodeRedis.connect();
      const prefix = `sesscompat_${first}_${Date.now()}:`;
      const incumbent = () => expressSession({ ...opts, store: new ConnectRedis({ client: nodeRedis, prefix }) });
      const ours = () => session({ ...opts, store: new RedisStore({ client: ioredis, prefix }) });
      const sequence = first === 'incumbent' ? [incumbent, ours, incumbent] : [ours, incumbent, ours];
      await switchBackAndForth(sequence, { peek: false });
      const keys = await ioredis.keys(prefix + '*');
      expect(keys).toHaveLength(1);
      const ttl = await ioredis.ttl(keys[0]!);
      expect(ttl).toBeGreaterThan(3590);
      expect(ttl).toBeLessThanOrEqual(3600);
      const value = JSON.parse((await ioredis.get(keys[0]!))!);
      expect(Object.keys(value)[0]).toBe('cookie');
      expect(value.count).toBe(6);
      await ioredis.del(keys[0]!);
    });
  });

  describe('Redis specifics', () => {
    test('a corrupt value is a typed bad-data error, and core treats it as a miss', async () => {
      const store = new RedisStore({ client: ioredis, prefix: `sesscorrupt_${Date.now()}:` });
      await ioredis.set(store.prefix + 'notjson', '{oops', 'EX', 60);
      await ioredis.set(store.prefix + 'wrongshape', '[1,2]', 'EX', 60);
      for (const sid of ['notjson', 'wrongshape']) await expect(store.get(sid)).rejects.toMatchObject({ code: 'SESS_BAD_DATA' });
      await store.clear();
    });

    test('SCAN escapes the prefix\'s glob characters; clear never touches other prefixes', async () => {
      const a = new RedisStore({ client: ioredis, prefix: `sessglob_${Date.now()}[*]:` });
      const b = new RedisStore({ client: ioredis, prefix: a.prefix.replace('[*]', 'x') });
      const ctx = { expires: new Date(Date.now() + 60_000) };
      const rec = { cookie: { originalMaxAge: 60_000, expires: ctx.expires.toISOString() } };
      await a.set('one', rec, ctx);
      await b.set('two', rec, ctx);
      expect(await a.ids()).toEqual(['one']);
      await a.clear();
      expect(await b.ids()).toEqual(['two']);
      await b.clear();
    });
  });
}
