/** The conformance suite on a local 3-master Redis Cluster (scripts/services.sh cluster). */
import { expect, test } from '@jest/globals';
import { Cluster, Redis } from 'ioredis';
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

if (svc.available) {
  test('waitReplicas on a Cluster: a write whose node connection closes while its WAIT is out is not acknowledged', async () => {
    const seed = new URL(urls.redisCluster);
    const client = new Cluster([{ host: seed.hostname, port: Number(seed.port) }]);
    // This cluster has no replicas: every WAIT blocks for its timeout, which leaves time to cut the connection.
    const store = new RedisStore({ client, prefix: `waitclose${process.pid}:`, waitReplicas: { replicas: 1, timeoutMs: 3000 } });
    const sid = 'clusterwaitclose0000000000000000';
    const write = store.set(sid, { cookie: { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000).toISOString(), path: '/', httpOnly: true }, n: 1 } as never, { expires: new Date(Date.now() + 60_000) });
    const outcome = Promise.allSettled([write]);
    try {
      // Find the node whose connection is blocked in WAIT, and cut that connection.
      let cut = false;
      for (let i = 0; i < 200 && !cut; i++) {
        for (const node of client.nodes('master')) {
          const admin = new Redis({ host: node.options.host, port: node.options.port });
          const line = ((await admin.client('LIST')) as string).split('\n').find((l) => / cmd=wait /.test(l));
          if (line) {
            await admin.client('KILL', 'ID', /id=(\d+)/.exec(line)![1]!);
            cut = true;
          }
          admin.disconnect();
        }
        if (!cut) await new Promise((r) => setTimeout(r, 10));
      }
      expect(cut).toBe(true);
      const [result] = await outcome;
      // ioredis aborts the pipeline (EXISTS + WAIT) of a closed node connection rather than sending it again.
      expect(result!.status).toBe('rejected');
    } finally {
      await outcome;
      await store.destroy(sid).catch(() => undefined);
      await client.quit();
    }
  }, 20_000);
}
