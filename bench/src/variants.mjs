// What each benchmark compares: a name, the incumbent's store and sess's store (plus sess options).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { baselineCore } from './baseline-core.mjs';

const tmp = (name) => mkdtempSync(path.join(os.tmpdir(), `sess-bench-${name}-`));

const redisUrl = process.env.SESS_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/**
 * The pid in this server's Redis key prefixes: its own, or the node:cluster primary's for its workers
 * (SESS_BENCH_KEY_PID), so the workers of one app share its sessions and the driver drops them by one pid.
 */
const keyPid = process.env.SESS_BENCH_KEY_PID ?? process.pid;
const mongoUrl = process.env.SESS_TEST_MONGO_URL ?? 'mongodb://127.0.0.1:27017/test';
const mysqlUrl = process.env.SESS_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const pgUrl = process.env.SESS_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * An app already running OpenTelemetry (the Node SDK's context manager, a tracer provider with a span processor,
 * a meter provider with a reader; spans and metrics kept in memory, no exporter I/O), with `instrumentSess()` or
 * not: the "es" column of the -otel variants is the same app without it.
 */
async function otelApp({ instrument }) {
  const { context } = await import('@opentelemetry/api');
  const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks');
  const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
  const { MeterProvider, InMemoryMetricExporter, PeriodicExportingMetricReader, AggregationTemporality } = await import('@opentelemetry/sdk-metrics');
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  setInterval(() => spans.reset(), 1000).unref(); // keep memory flat: finished spans are dropped every second
  const reader = new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 60_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  if (!instrument) return;
  const { instrumentSess } = await import('@sess/opentelemetry');
  instrumentSess({ tracerProvider, meterProvider });
}

/** A replica of the bench's Redis for this process's life (killed when it exits); resolves once it is in sync. */
async function localReplica() {
  const { spawn } = await import('node:child_process');
  const net = await import('node:net');
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const port = srv.address().port;
  await new Promise((r) => srv.close(r));
  const u = new URL(redisUrl);
  // Its own folder: a replica writes the master's snapshot to dump.rdb in its working directory when it syncs.
  const dir = tmp('replica');
  const replica = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--replicaof', u.hostname, u.port || '6379'], { stdio: 'ignore' });
  process.on('exit', () => {
    replica.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const { Redis } = await import('ioredis');
  const probe = new Redis({ port, retryStrategy: () => 100, maxRetriesPerRequest: null });
  for (let i = 0; i < 200; i++) {
    if ((await probe.info('replication').catch(() => '')).includes('master_link_status:up')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  probe.disconnect();
}

/** sess's recommended options (packages/core/README.md, "Recommended options"), on top of the bench's common ones. */
export const RECOMMENDED = { touchAfter: 60_000 };

/**
 * The same comparison with every store client created by the app, as each store's README shows (connect-redis's
 * passes a node-redis client; connect-pg-simple's a pg Pool; express-mysql-session's a mysql2 pool; connect-mongo's
 * a MongoClient) and as sess's READMEs show (an ioredis client, a pg Pool, a mysql2 pool, a MongoClient).
 */
const appClients = {
  redis: {
    label: 'connect-redis vs @sess/store-redis, each given a client the app created (node-redis / ioredis, as their READMEs show)',
    async makeSessStore() {
      const { Redis } = await import('ioredis');
      const { RedisStore } = await import('@sess/store-redis');
      return new RedisStore({ client: new Redis(redisUrl), prefix: `benchsess:${keyPid}:` });
    },
  },
  pg: {
    label: 'connect-pg-simple vs @sess/store-pg, each given a pg Pool the app created',
    async makeIncumbentStore(expressSession) {
      const { default: pg } = await import('pg');
      const { default: connectPgSimple } = await import('connect-pg-simple');
      const PgSession = connectPgSimple(expressSession);
      const { PgStore } = await import('@sess/store-pg');
      const setup = new PgStore({ connectionString: pgUrl, tableName: 'bench_es', createTableIfMissing: true, pruneSessionInterval: false });
      await setup.init();
      await setup.close();
      return new PgSession({ pool: new pg.Pool({ connectionString: pgUrl }), tableName: 'bench_es', pruneSessionInterval: false });
    },
    async makeSessStore() {
      const { default: pg } = await import('pg');
      const { PgStore } = await import('@sess/store-pg');
      const store = new PgStore({ pool: new pg.Pool({ connectionString: pgUrl }), tableName: 'bench_sess', createTableIfMissing: true, pruneSessionInterval: false });
      await store.init();
      return store;
    },
  },
  mysql: {
    label: 'express-mysql-session vs @sess/store-mysql, each given a mysql2 pool the app created',
    async makeIncumbentStore(expressSession) {
      const { default: createMySQLSession } = await import('express-mysql-session');
      const mysql = await import('mysql2/promise');
      const MySQLSession = createMySQLSession(expressSession);
      const store = new MySQLSession({ schema: { tableName: 'bench_es' }, clearExpired: false }, mysql.createPool(mysqlUrl));
      await store.onReady();
      return store;
    },
    async makeSessStore() {
      const mysql = await import('mysql2/promise');
      const { MySQLStore } = await import('@sess/store-mysql');
      const store = new MySQLStore({ pool: mysql.createPool(mysqlUrl), schema: { tableName: 'bench_sess' }, pruneSessionInterval: false });
      await store.init();
      return store;
    },
  },
  mongo: {
    label: 'connect-mongo vs @sess/store-mongo, each given a MongoClient the app created',
    async makeIncumbentStore() {
      const { MongoClient } = await import('mongodb');
      const { default: ConnectMongo } = await import('connect-mongo');
      const client = await new MongoClient(mongoUrl).connect();
      return ConnectMongo.create({ client, collectionName: 'bench_es', autoRemove: 'disabled' });
    },
    async makeSessStore() {
      const { MongoClient } = await import('mongodb');
      const { MongoStore } = await import('@sess/store-mongo');
      const client = await new MongoClient(mongoUrl).connect();
      const store = new MongoStore({ client, collectionName: 'bench_sess', autoRemove: 'disabled' });
      await store.init();
      return store;
    },
  },
};

/** The variants the targets are measured on (`--variant targets`): recommended options, store- and app-created clients. */
export const TARGETS = [
  'memory-recommended',
  'file-recommended',
  'redis-recommended',
  'redis-client-recommended',
  'pg-recommended',
  'pg-client-recommended',
  'mysql-recommended',
  'mysql-client-recommended',
];

export const variants = {
  get 'redis-touchAfter'() {
    return { ...variants.redis, label: 'Redis, sess with touchAfter: 60s', sessOptions: { touchAfter: 60_000 } };
  },
  redis: {
    storeKind: 'redis',
    label: 'connect-redis (express-session) vs @sess/store-redis (sess), same Redis',
    async makeIncumbentStore() {
      const { RedisStore } = await import('connect-redis');
      const { createClient } = await import('redis');
      const client = createClient({ url: redisUrl });
      await client.connect();
      return new RedisStore({ client, prefix: `benches:${keyPid}:` });
    },
    async makeSessStore() {
      const { RedisStore } = await import('@sess/store-redis');
      return new RedisStore({ url: redisUrl, prefix: `benchsess:${keyPid}:` });
    },
  },
  get 'pg-touchAfter'() {
    return { ...variants.pg, label: 'PostgreSQL, sess with touchAfter: 60s', sessOptions: { touchAfter: 60_000 } };
  },
  pg: {
    storeKind: 'pg',
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
    storeKind: 'mysql',
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
    storeKind: 'mongo',
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
  // The cost of observability: sess with no subscriber (the "es" column) against sess with @sess/opentelemetry
  // (a span per request and per store operation, through a tracer provider with a span processor, and every
  // metric, through a meter provider with a reader). With no subscriber core only checks hasSubscribers.
  'memory-otel': {
    label: 'MemoryStore, an app running OpenTelemetry: sess not instrumented (es column) vs instrumentSess() (spans + metrics)',
    baseline: 'sess',
    baselineSetup: () => otelApp({ instrument: false }),
    sessSetup: () => otelApp({ instrument: true }),
  },
  // The cost of the tracing channels with no subscriber: today's core (sess column) against core built from the
  // last commit before them (es column; see baseline-core.mjs), same store, same options.
  'memory-before-channels': {
    label: 'MemoryStore: core before the tracing channels (es column) vs today, no subscriber',
    baseline: 'sess',
    baselineCore,
  },
  get 'redis-before-channels'() {
    return { ...variants.redis, label: 'Redis: core before the tracing channels (es column) vs today, no subscriber', baseline: 'sess', baselineCore };
  },
  // The cost of waitReplicas: sess on Redis (es column) against the same with waitReplicas: 1, a replica of the
  // bench's Redis started for the run (each write then waits for Redis WAIT).
  'redis-waitReplicas': {
    label: 'Redis: sess (es column) vs sess with waitReplicas: 1 (a local replica)',
    baseline: 'sess',
    async makeBaselineStore() {
      const { RedisStore } = await import('@sess/store-redis');
      return new RedisStore({ url: redisUrl, prefix: `benchwait:${keyPid}:` });
    },
    async makeSessStore() {
      await localReplica();
      const { RedisStore } = await import('@sess/store-redis');
      return new RedisStore({ url: redisUrl, prefix: `benchwait:${keyPid}:`, waitReplicas: { replicas: 1, timeoutMs: 1000 } });
    },
  },
  get 'redis-otel'() {
    return {
      ...variants.redis,
      label: 'Redis, an app running OpenTelemetry: sess not instrumented (es column) vs instrumentSess()',
      baseline: 'sess',
      baselineSetup: () => otelApp({ instrument: false }),
      sessSetup: () => otelApp({ instrument: true }),
    };
  },
  'memory-lock': {
    label: "MemoryStore, sess with concurrency: 'lock'",
    sessOptions: { concurrency: 'lock' },
  },
};

// <store>-client: the app creates the clients; <store>-recommended and <store>-client-recommended: sess with its
// recommended options.
for (const store of ['redis', 'pg', 'mysql', 'mongo']) {
  variants[`${store}-client`] = { ...variants[store], ...appClients[store] };
  variants[`${store}-client-recommended`] = { ...variants[`${store}-client`], label: variants[`${store}-client`].label + ', sess with its recommended options', sessOptions: RECOMMENDED };
}
for (const store of ['memory', 'file', 'redis', 'pg', 'mysql', 'mongo']) {
  variants[`${store}-recommended`] = { ...variants[store], label: variants[store].label + ', sess with its recommended options', sessOptions: RECOMMENDED };
}

