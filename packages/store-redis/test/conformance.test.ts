import { describe, expect, test } from '@jest/globals';
import { Redis } from 'ioredis';
import { describeStore } from '@sess/conformance/jest';
import { RedisStore } from '@sess/store-redis';
import { serviceTest, urls } from '../../conformance/test/services';

const svc = serviceTest('redis');
describe("connect-redis's options", () => {
  test.each(['ttl', 'disableTouch', 'disableTTL', 'serializer'])('%s fails at construction with what to do instead', (key) => {
    expect(() => new RedisStore({ [key]: 1 } as never)).toThrow(expect.objectContaining({ code: 'SESS_CONFIG', message: expect.stringContaining(`"${key}"`) }));
  });
});

if (!svc.available) {
  svc.missing('RedisStore conformance');
} else {
  // A store that owns its client (url): close() must release it.
  describeStore('RedisStore (url)', (ctx) => new RedisStore({ url: urls.redis, prefix: `${ctx.namespace}:` }));
  // A store given a client, unbatched: the test owns the client.
  describeStore('RedisStore (client, batchWrites: false)', {
    create: (ctx) => {
      const client = new Redis(urls.redis);
      return new RedisStore({ client, prefix: `${ctx.namespace}:`, batchWrites: false });
    },
    destroy: (store) => (store as RedisStore).client.quit().then(() => undefined),
  });
  // A given client, as most apps pass one: its socket corked for a turn (batchWrites, the default).
  describeStore('RedisStore (client)', {
    create: (ctx) => new RedisStore({ client: new Redis(urls.redis), prefix: `${ctx.namespace}:` }),
    destroy: (store) => (store as RedisStore).client.quit().then(() => undefined),
  });
}
