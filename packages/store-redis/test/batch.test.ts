/**
 * batchWrites: the commands issued within one turn of the event loop leave in one socket write.
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import type { Socket } from 'node:net';
import { Cluster, Redis } from 'ioredis';
import { RedisStore } from '@sess/store-redis';
import { serviceTest, urls } from '../../conformance/test/services';

const svc = serviceTest('redis');

const rec = (v: number) => ({ cookie: { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000).toISOString(), httpOnly: true, path: '/' }, v });
const ctx = () => ({ expires: new Date(Date.now() + 60_000) });

/** Count the socket's writes to the kernel (one `_write` or `_writev` call each) while `fn` runs. */
async function writesDuring(socket: Socket, fn: () => Promise<unknown>): Promise<number> {
  const s = socket as unknown as { _write: (...a: unknown[]) => unknown; _writev: (...a: unknown[]) => unknown };
  const write = s._write;
  const writev = s._writev;
  let n = 0;
  s._write = function (this: unknown, ...a: unknown[]) {
    n++;
    return write.apply(this, a);
  };
  s._writev = function (this: unknown, ...a: unknown[]) {
    n++;
    return writev.apply(this, a);
  };
  try {
    await fn();
  } finally {
    s._write = write;
    s._writev = writev;
  }
  return n;
}

async function ready(client: Redis): Promise<Socket> {
  if (client.status !== 'ready') await new Promise((r) => client.once('ready', r));
  return client.stream as Socket;
}

describe('batchWrites options', () => {
  test('refused for a Cluster, and when not a boolean', () => {
    const cluster = new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true });
    expect(() => new RedisStore({ client: cluster, batchWrites: true })).toThrow(expect.objectContaining({ code: 'SESS_CONFIG', message: expect.stringContaining('Cluster') }));
    expect(() => new RedisStore({ client: cluster })).not.toThrow();
    expect(() => new RedisStore({ url: urls.redis, batchWrites: 'yes' as never })).toThrow(expect.objectContaining({ code: 'SESS_CONFIG' }));
  });
});

if (!svc.available) {
  svc.missing('RedisStore batchWrites');
} else {
  const clients: Redis[] = [];
  const stores: RedisStore[] = [];
  afterAll(async () => {
    for (const s of stores) await s.clear().catch(() => undefined);
    for (const s of stores) await s.close();
    for (const c of clients) await c.quit();
  });
  const prefix = () => `sessbatch_${process.pid}_${stores.length}:`;

  describe('batchWrites', () => {
    test('a store that creates its client sends one turn\'s commands in one write, and each gets its own reply', async () => {
      const store = new RedisStore({ url: urls.redis, prefix: prefix() });
      stores.push(store);
      const socket = await ready(store.client as Redis);
      for (let i = 0; i < 10; i++) await store.set(`id${i}`, rec(i), ctx());
      let got: unknown[] = [];
      const writes = await writesDuring(socket, async () => {
        got = await Promise.all([...Array(10).keys()].map((i) => store.get(`id${i}`)));
      });
      expect(writes).toBe(1);
      expect(got.map((r) => (r as { v: number }).v)).toEqual([...Array(10).keys()]);
      // Commands awaited one after the other still complete, each in its own turn.
      const n = await writesDuring(socket, async () => {
        for (let i = 0; i < 3; i++) expect((await store.get(`id${i}`))?.v).toBe(i);
      });
      expect(n).toBe(3);
    });

    test('a given client is batched too (the default), unless asked not to or auto-pipelined already, and is never closed by the store', async () => {
      const client = new Redis(urls.redis);
      clients.push(client);
      const socket = await ready(client);
      const batched = new RedisStore({ client, prefix: prefix() });
      stores.push(batched);
      await batched.set('a', rec(1), ctx());
      await batched.set('b', rec(2), ctx());
      const writes = await writesDuring(socket, () => Promise.all([batched.get('a'), batched.get('b'), batched.get('a')]));
      expect(writes).toBe(1);
      // The app's own commands issued in the same turn share the write and keep their order and replies.
      let mine: unknown[] = [];
      const shared = await writesDuring(socket, async () => {
        mine = await Promise.all([batched.get('a'), client.set(batched.prefix + 'own', 'x'), client.get(batched.prefix + 'own'), batched.get('b')]);
      });
      expect(shared).toBe(1);
      expect(mine.map((x) => (x && typeof x === 'object' ? (x as { v: number }).v : x))).toEqual([1, 'OK', 'x', 2]);
      await client.del(batched.prefix + 'own');

      const plain = new RedisStore({ client, prefix: batched.prefix, batchWrites: false });
      const unbatched = await writesDuring(socket, () => Promise.all([plain.get('a'), plain.get('b'), plain.get('a')]));
      expect(unbatched).toBeGreaterThan(1);

      const auto = new Redis(urls.redis, { enableAutoPipelining: true });
      clients.push(auto);
      await ready(auto);
      expect((new RedisStore({ client: auto, prefix: batched.prefix }) as unknown as { batchWrites: boolean }).batchWrites).toBe(false);

      await batched.close();
      await plain.close();
      expect(client.status).toBe('ready');
      expect(await client.ping()).toBe('PONG');
    });

    test('a connection lost while corked neither hangs nor mixes up replies, and the store works again after reconnecting', async () => {
      const store = new RedisStore({ url: urls.redis, prefix: prefix() });
      stores.push(store);
      const client = store.client as Redis;
      const socket = await ready(client);
      await store.set('k', rec(7), ctx());
      const pending = store.get('k');
      socket.destroy(); // before the turn ends: the corked command never left
      // ioredis resends a command that got no reply once reconnected (or fails it): either way, this one's answer.
      const outcome = await pending.then(
        (v) => ({ v: (v as { v: number } | null)?.v }),
        (e: unknown) => ({ e }),
      );
      if ('e' in outcome) expect(outcome.e).toBeInstanceOf(Error);
      else expect(outcome.v).toBe(7);
      await ready(client);
      expect(client.stream).not.toBe(socket);
      expect((await store.get('k'))?.v).toBe(7);
    });
  });
}
