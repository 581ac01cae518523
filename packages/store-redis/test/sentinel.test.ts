/** The conformance suite through Redis Sentinel (scripts/services.sh sentinel). */
import { Redis } from 'ioredis';
import { describeStore } from '@sess/conformance/jest';
import { RedisStore } from '@sess/store-redis';
import { serviceTest, urls } from '../../conformance/test/services';

const svc = serviceTest('redisSentinel');
if (!svc.available) {
  svc.missing('RedisStore conformance through Sentinel');
} else {
  const sentinel = new URL(urls.redisSentinel);
  const name = process.env.SESS_TEST_REDIS_SENTINEL_NAME ?? 'sessmaster';
  describeStore('RedisStore (Sentinel)', {
    create: (ctx) =>
      new RedisStore({ client: new Redis({ sentinels: [{ host: sentinel.hostname, port: Number(sentinel.port) }], name }), prefix: `${ctx.namespace}:` }),
    destroy: (store) => (store as RedisStore).client.quit().then(() => undefined),
  });
}
