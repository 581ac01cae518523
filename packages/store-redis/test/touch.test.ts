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

  /** The commands Redis receives on keys under `prefix` while `fn` runs (MONITOR on its own connection). */
  async function commandsOn(prefix: string, fn: () => Promise<void>): Promise<string[]> {
    const monitor = await ioredis.monitor();
    const seen: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args.some((a) => typeof a === 'string' && a.startsWith(prefix))) seen.push(String(args[0]).toLowerCase());
    });
    try {
      await fn();
      await ioredis.ping(); // MONITOR lines arrive before the reply to a later command on any connection
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      monitor.disconnect();
    }
    return seen;
  }

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

  describe('a browser-session cookie (no maxAge, express-session\'s default)', () => {
    async function app(prefix: string, touchAfter?: number) {
      const store = new CountingRedisStore({ client: ioredis, prefix });
      const a = express();
      a.use(session({ secret: 's', resave: false, saveUninitialized: false, store, ...(touchAfter ? { touchAfter } : {}) }));
      a.get('/login', (req, res) => {
        (req.session as unknown as Record<string, string>).user = 'ann';
        res.send('in');
      });
      a.get('/peek', (req, res) => res.send(String((req.session as unknown as Record<string, string>).user)));
      const srv = await serve(a);
      const login = await fetch(srv.url + '/login');
      const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!;
      expect(login.headers.getSetCookie()[0]).not.toMatch(/Expires=/i);
      const peek = async () => expect(await (await fetch(srv.url + '/peek', { headers: { cookie } })).text()).toBe('ann');
      return { store, srv, peek };
    }

    test('touchAfter: 20 unchanged reads cost a GET and a PTTL each and no touch; one after the interval touches', async () => {
      const prefix = `sesstouchb_${process.pid}_${realNow()}:`;
      const { store, srv, peek } = await app(prefix, 60_000);
      try {
        const seen = await commandsOn(prefix, async () => {
          for (let i = 0; i < 20; i++) await peek();
        });
        expect(store.calls).toEqual(['set']);
        expect(seen.filter((c) => c === 'get')).toHaveLength(20);
        expect(seen.filter((c) => c === 'pttl')).toHaveLength(20);
        expect(seen).toHaveLength(40); // no touch script, no SET
        // 61 s later, as the key's TTL sees it (Redis counts real time, not the test's clock).
        const [key] = await ioredis.keys(prefix + '*');
        await ioredis.pexpire(key!, 86_400_000 - 61_000);
        await peek();
        expect(store.calls).toEqual(['set', 'touch']);
        expect(await ioredis.ttl(key!)).toBeGreaterThan(86_390);
      } finally {
        await srv.close();
        const keys = await ioredis.keys(prefix + '*');
        if (keys.length) await ioredis.del(...keys);
      }
    });

    test('a read is one round trip: the GET and the PTTL are both sent before either answers', async () => {
      const prefix = `sesstouchr_${process.pid}_${realNow()}:`;
      const events: string[] = [];
      // The store's own client, its two read commands logged as they are sent and as they are answered.
      const client = new Redis(urls.redis);
      for (const name of ['get', 'pttl'] as const) {
        const original = client[name].bind(client) as (key: string) => Promise<unknown>;
        (client as unknown as Record<string, unknown>)[name] = (key: string) => {
          if (!key.startsWith(prefix)) return original(key);
          events.push('send ' + name);
          return original(key).then((v) => {
            events.push('answer ' + name);
            return v;
          });
        };
      }
      const store = new RedisStore({ client, prefix });
      const a = express();
      a.use(session({ secret: 's', resave: false, saveUninitialized: false, store, touchAfter: 60_000 }));
      a.get('/login', (req, res) => {
        (req.session as unknown as Record<string, string>).user = 'ann';
        res.send('in');
      });
      a.get('/peek', (req, res) => res.send(String((req.session as unknown as Record<string, string>).user)));
      const srv = await serve(a);
      try {
        const cookie = (await fetch(srv.url + '/login')).headers.getSetCookie()[0]!.split(';')[0]!;
        for (let i = 0; i < 3; i++) {
          events.length = 0;
          expect(await (await fetch(srv.url + '/peek', { headers: { cookie } })).text()).toBe('ann');
          expect(events.slice(0, 2).sort()).toEqual(['send get', 'send pttl']);
          expect(events.slice(2).sort()).toEqual(['answer get', 'answer pttl']);
        }
        // A process whose first read is of a browser-session record learns it then: that read takes two trips, the next one.
        const fresh = new RedisStore({ client, prefix });
        const b = express();
        b.use(session({ secret: 's', resave: false, saveUninitialized: false, store: fresh, touchAfter: 60_000 }));
        b.get('/peek', (req, res) => res.send(String((req.session as unknown as Record<string, string>).user)));
        const srv2 = await serve(b);
        try {
          events.length = 0;
          expect(await (await fetch(srv2.url + '/peek', { headers: { cookie } })).text()).toBe('ann');
          expect(events).toEqual(['send get', 'answer get', 'send pttl', 'answer pttl']);
          events.length = 0;
          expect(await (await fetch(srv2.url + '/peek', { headers: { cookie } })).text()).toBe('ann');
          expect(events.slice(0, 2).sort()).toEqual(['send get', 'send pttl']);
        } finally {
          await srv2.close();
        }
      } finally {
        await srv.close();
        const keys = await ioredis.keys(prefix + '*');
        if (keys.length) await ioredis.del(...keys);
        await client.quit();
      }
    });

    test('the touch floor holds without touchAfter: no touch within a second, one after', async () => {
      const prefix = `sesstouchf_${process.pid}_${realNow()}:`;
      const { store, srv, peek } = await app(prefix);
      try {
        const [key] = await ioredis.keys(prefix + '*');
        await ioredis.pexpire(key!, 86_400_000 - 300);
        await peek();
        await peek();
        expect(store.calls).toEqual(['set']);
        await ioredis.pexpire(key!, 86_400_000 - 1_500);
        await peek();
        expect(store.calls).toEqual(['set', 'touch']);
      } finally {
        await srv.close();
        const keys = await ioredis.keys(prefix + '*');
        if (keys.length) await ioredis.del(...keys);
      }
    });
  });

  test('touch replaces only the stored cookie, minding strings (a "}" or an escaped quote in a cookie value) and other shapes', async () => {
    const prefix = `sesstouchs_${process.pid}_${realNow()}:`;
    const store = new RedisStore({ client: ioredis, prefix });
    const fresh = { originalMaxAge: 60_000, expires: new Date(frozen + 60_000).toISOString(), httpOnly: true, path: '/' };
    const cases: Array<[string, string]> = [
      // [stored value, what follows the cookie after the touch]
      ['{"cookie":{"path":"/a}b","domain":"x\\\\\\"}y","httpOnly":true},"v":"}"}', ',"v":"}"}'],
      ['{"cookie":{"originalMaxAge":null,"path":"/"},"cart":[{"sku":"A"}]}', ',"cart":[{"sku":"A"}]}'],
      ['{"cookie":{"originalMaxAge":1000,"x":{"nested":"}"}},"v":1}', ',"v":1}'], // not flat: the compare-and-set path
    ];
    try {
      for (const [i, [stored, rest]] of cases.entries()) {
        const key = `${prefix}id${i}`;
        await ioredis.set(key, stored, 'EX', 1000);
        await store.touch(`id${i}`, { cookie: fresh } as unknown as SessionRecord, { expires: new Date(frozen + 60_000) });
        expect(await ioredis.get(key)).toBe('{"cookie":' + JSON.stringify(fresh) + rest);
        expect(await ioredis.ttl(key)).toBeLessThanOrEqual(60);
      }
    } finally {
      const keys = await ioredis.keys(prefix + '*');
      if (keys.length) await ioredis.del(...keys);
    }
  });
}
