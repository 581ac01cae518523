// What each benchmark compares: a name, the incumbent's store and sess's store (plus sess options).
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const tmp = (name) => mkdtempSync(path.join(os.tmpdir(), `sess-bench-${name}-`));

const redisUrl = process.env.SESS_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const mongoUrl = process.env.SESS_TEST_MONGO_URL ?? 'mongodb://127.0.0.1:27017/test';
const mysqlUrl = process.env.SESS_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const pgUrl = process.env.SESS_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export const variants = {
  get 'redis-touchAfter'() {
    return { ...variants.redis, label: 'Redis, sess with touchAfter: 60s', sessOptions: { touchAfter: 60_000 } };
  },
  redis: {
    label: 'connect-redis (express-session) vs @sess/store-redis (sess), same Redis',
    async makeIncumbentStore() {
      const { RedisStore } = await import('connect-redis');
      const { createClient } = await import('redis');
      const client = createClient({ url: redisUrl });
      await client.connect();
      return new RedisStore({ client, prefix: `benches:${process.pid}:` });
    },
    async makeSessStore() {
      const { RedisStore } = await import('@sess/store-redis');
      return new RedisStore({ url: redisUrl, prefix: `benchsess:${process.pid}:` });
    },
  },
  get 'pg-touchAfter'() {
    return { ...variants.pg, label: 'PostgreSQL, sess with touchAfter: 60s', sessOptions: { touchAfter: 60_000 } };
  },
  pg: {
    label: 'connect-pg-simple (express-session) vs @sess/store-pg (sess), same PostgreSQL',
    async makeIncumbentStore(expressSession) {
      const { default: connectPgSimple } = await import('connect-pg-simple');
      const PgSession = connectPgSimple(expressSession);
      // connect-pg-simple's own table creation reuses the index name "IDX_session_expire" for every table
      // name, so the (identical) table is created here.
      const { PgStore } = await import('@sess/store-pg');
      const setup = new PgStore({ connectionString: pgUrl, tableName: 'bench_es', createTableIfMissing: true, pruneSessionInterval: false });
      await setup.init();
      await setup.close();
      return new PgSession({ conString: pgUrl, tableName: 'bench_es', pruneSessionInterval: false });
    },
    async makeSessStore() {
      const { PgStore } = await import('@sess/store-pg');
      const store = new PgStore({ connectionString: pgUrl, tableName: 'bench_sess', createTableIfMissing: true, pruneSessionInterval: false });
      await store.init();
      return store;
    },
  },
  get 'mysql-touchAfter'() {
    return { ...variants.mysql, label: 'MySQL/MariaDB, sess with touchAfter: 60s', sessOptions: { touchAfter: 60_000 } };
  },
  mysql: {
    label: 'express-mysql-session (express-session) vs @sess/store-mysql (sess), same MariaDB',
    async makeIncumbentStore(expressSession) {
      const { default: createMySQLSession } = await import('express-mysql-session');
      const MySQLSession = createMySQLSession(expressSession);
      const u = new URL(mysqlUrl);
      const connection = { host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username), password: decodeURIComponent(u.password), database: u.pathname.slice(1) };
      const store = new MySQLSession({ ...connection, schema: { tableName: 'bench_es' }, clearExpired: false });
      await store.onReady();
      return store;
    },
    async makeSessStore() {
      const { MySQLStore } = await import('@sess/store-mysql');
      const store = new MySQLStore({ uri: mysqlUrl, schema: { tableName: 'bench_sess' }, pruneSessionInterval: false });
      await store.init();
      return store;
    },
  },
  mongo: {
    label: 'connect-mongo (express-session) vs @sess/store-mongo (sess), same FerretDB (MongoDB wire protocol)',
    async makeIncumbentStore() {
      const { default: ConnectMongo } = await import('connect-mongo');
      return ConnectMongo.create({ mongoUrl, collectionName: 'bench_es', autoRemove: 'disabled' });
    },
    async makeSessStore() {
      const { MongoStore } = await import('@sess/store-mongo');
      const store = new MongoStore({ url: mongoUrl, collectionName: 'bench_sess', autoRemove: 'disabled' });
      await store.init();
      return store;
    },
  },
  file: {
    label: 'session-file-store (express-session) vs @sess/store-file (sess)',
    async makeIncumbentStore(expressSession) {
      const { default: createFileStore } = await import('session-file-store');
      const FileStore = createFileStore(expressSession);
      return new FileStore({ path: tmp('sfs'), logFn: () => undefined });
    },
    async makeSessStore() {
      const { FileStore } = await import('@sess/store-file');
      return new FileStore({ dir: tmp('file') });
    },
  },
  memory: { label: 'MemoryStore (express-session) vs MemoryStore (sess)' },
  'memory-touchAfter': {
    label: 'MemoryStore, sess with touchAfter: 60s',
    sessOptions: { touchAfter: 60_000 },
  },
  'memory-merge': {
    label: "MemoryStore, sess with concurrency: 'merge'",
    sessOptions: { concurrency: 'merge' },
  },
  'memory-lock': {
    label: "MemoryStore, sess with concurrency: 'lock'",
    sessOptions: { concurrency: 'lock' },
  },
};
