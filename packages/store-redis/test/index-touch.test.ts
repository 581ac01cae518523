/** A touch moves the session's entry in the per-user index, from any process, in one round trip. */
import { afterAll, expect, test } from '@jest/globals';
import { Redis } from 'ioredis';
import type { SessionRecord } from '@sess/core';
import { RedisStore } from '@sess/store-redis';
import { serviceTest, urls } from '../../conformance/test/services';

const svc = serviceTest('redis');
const rec = (ms: number): SessionRecord => ({
  cookie: { originalMaxAge: ms, expires: new Date(Date.now() + ms).toISOString(), httpOnly: true, path: '/' },
  user: 'ann',
});

if (!svc.available) {
  svc.missing('RedisStore index touch');
} else {
  const client = new Redis(urls.redis);
  afterAll(async () => {
    await client.quit();
  });

  test('a process that never wrote the session (core names the user) moves its index entry when it touches it', async () => {
    const prefix = `sessidx_${process.pid}_${Date.now()}:`;
    const writer = new RedisStore({ client, prefix });
    const first = new Date(Date.now() + 60_000);
    await writer.set('s1', rec(60_000), { expires: first, userKey: 'ann' });
    // The index (a sorted set scored by expiry, the layout README documents): listUser drops entries by it.
    const score = async () => Number(await client.zscore(`sessidx:${prefix}user:ann`, 's1'));
    expect(await score()).toBe(first.getTime());

    const other = new RedisStore({ client, prefix }); // another process: it has written nothing
    const later = new Date(Date.now() + 600_000);
    await other.touch('s1', rec(600_000), { expires: later, userKey: 'ann' });
    expect(await score()).toBe(later.getTime());
    expect((await other.listUser('ann')).map((s) => s.id)).toEqual(['s1']);
    expect(await client.ttl(`${prefix}s1`)).toBeGreaterThan(590);

    // Without the user named (an app without `userKey`), the store that indexed it reads it back.
    const evenLater = new Date(Date.now() + 900_000);
    await writer.touch('s1', rec(900_000), { expires: evenLater });
    expect(await score()).toBe(evenLater.getTime());
    await writer.destroyUser('ann');
    expect(await writer.listUser('ann')).toEqual([]);
  });
}
