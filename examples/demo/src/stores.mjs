// Which store the demo uses: SESS_DEMO_STORE=file (default, no server), redis, pg, mysql or mongo, on the
// same URLs as the tests (SESS_TEST_REDIS_URL, SESS_TEST_PG_URL, SESS_TEST_MYSQL_URL, SESS_TEST_MONGO_URL).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export const storeKinds = ['file', 'redis', 'pg', 'mysql', 'mongo'];

export async function makeStore(kind = 'file') {
  switch (kind) {
    case 'file': {
      const { FileStore } = await import('@sess/store-file');
      return new FileStore({ dir: process.env.SESSIONS_DIR ?? path.join(here, '..', 'sessions') });
    }
    case 'redis': {
      const { RedisStore } = await import('@sess/store-redis');
      return new RedisStore({ url: process.env.SESS_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', prefix: 'sessdemo:' });
    }
    case 'pg': {
      const { PgStore } = await import('@sess/store-pg');
      const store = new PgStore({ connectionString: process.env.SESS_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test', tableName: 'sessdemo', createTableIfMissing: true });
      await store.init();
      return store;
    }
    case 'mysql': {
      const { MySQLStore } = await import('@sess/store-mysql');
      const store = new MySQLStore({ uri: process.env.SESS_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test', schema: { tableName: 'sessdemo' } });
      await store.init();
      return store;
    }
    case 'mongo': {
      const { MongoStore } = await import('@sess/store-mongo');
      const store = new MongoStore({ url: process.env.SESS_TEST_MONGO_URL ?? 'mongodb://127.0.0.1:27017/test', collectionName: 'sessdemo' });
      await store.init();
      return store;
    }
    default:
      throw new Error(`SESS_DEMO_STORE must be one of ${storeKinds.join(', ')} (got "${kind}")`);
  }
}
