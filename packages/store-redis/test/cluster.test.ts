/** The conformance suite on a local 3-master Redis Cluster (scripts/services.sh cluster). */
import { Cluster } from 'ioredis';
import { describeStore } from '@sess/conformance/jest';
import { RedisStore } from '@sess/store-redis';
import { serviceTest, urls } from '../../conformance/test/services';

const svc = serviceTest('redisCluster');
if (!svc.available) {
  svc.missing('RedisStore conformance on Redis Cluster');
} else {
  const seed = new URL(urls.redisCluster);
  describeStore('RedisStore (Cluster)', {
    create: (ctx) => new RedisStore({ client: new Cluster([{ host: seed.hostname, port: Number(seed.port) }]), prefix: `${ctx.namespace}:` }),
    destroy: (store) => (store as RedisStore).client.quit().then(() => undefined),
  });
}
