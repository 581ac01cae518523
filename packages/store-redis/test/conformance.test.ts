import { Redis } from 'ioredis';
import { describeStore } from '@sess/conformance/jest';
import { RedisStore } from '@sess/store-redis';
import { serviceTest, urls } from '../../conformance/test/services';

const svc = serviceTest('redis');
if (!svc.available) {
  svc.missing('RedisStore conformance');
} else {
  // A store that owns its client (url): close() must release it.
  describeStore('RedisStore (url)', (ctx) => new RedisStore({ url: urls.redis, prefix: `${ctx.namespace}:` }));
  // A store given a client: the test owns the client.
  describeStore('RedisStore (client)', {
    create: (ctx) => {
      const client = new Redis(urls.redis);
      return new RedisStore({ client, prefix: `${ctx.namespace}:` });
    },
    destroy: (store) => (store as RedisStore).client.quit().then(() => undefined),
  });
}
