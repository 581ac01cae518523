/**
 * The conformance suite against the express-session stores people run today, through core's adapter,
 * on the real servers. A third-party failure is a finding, not our failure: results are compared with
 * third-party.expected.json (per store, per case), so CI fails only when a result changes. Run with
 * SESS_UPDATE_THIRD_PARTY=1 to record new expectations and rewrite docs/third-party-stores.md.
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import session from 'express-session';
import createMemoryStore from 'memorystore';
import createFileStore from 'session-file-store';
import { RedisStore as ConnectRedis } from 'connect-redis';
import { createClient } from 'redis';
import connectPgSimple from 'connect-pg-simple';
import pg from 'pg';
import createMySQLStore from 'express-mysql-session';
import mysql from 'mysql2/promise';
import ConnectMongo from 'connect-mongo';
import { MongoClient } from 'mongodb';
import { Redis } from 'ioredis';
import { Sequelize } from 'sequelize';
import knexFactory from 'knex';
import { ConnectSessionKnexStore } from 'connect-session-knex';
import createConnectRedis6 from 'connect-redis6';
import createMongoDBStore from 'connect-mongodb-session';
import createSequelizeStore from 'connect-session-sequelize';
import createLokiStore from 'connect-loki';
import createNedbStore from 'nedb-session-store';
import createMemcachedStore from 'connect-memcached';
import { cases, runConformance, type CaseResult, type StoreFactory } from '@sess/conformance';
import { mysqlOptions, serviceTest, urls } from './services';

type Expectations = Record<string, Record<string, { status: CaseResult['status']; reason?: string }>>;
const expectedFile = path.join(__dirname, 'third-party.expected.json');
const expected: Expectations = JSON.parse(readFileSync(expectedFile, 'utf8'));
const update = process.env.SESS_UPDATE_THIRD_PARTY === '1';
const observed: Expectations = {};

const tmp = mkdtempSync(path.join(os.tmpdir(), 'sess-3p-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
  if (update) {
    const merged = { ...expected, ...observed };
    writeFileSync(expectedFile, JSON.stringify(merged, null, 2) + '\n');
    writeFileSync(path.join(__dirname, '..', '..', '..', 'docs', 'third-party-stores.md'), table(merged));
  }
});

const MemoryStore = createMemoryStore(session);
const ConnectRedis6 = createConnectRedis6(session);
const MongoDBStore = createMongoDBStore(session);
const SequelizeStore = createSequelizeStore(session.Store);
const LokiStore = createLokiStore(session);
const NedbStore = createNedbStore(session);
const MemcachedStore = createMemcachedStore(session);

/** What a factory opened for a store, to release in destroy(). */
const opened = new WeakMap<object, () => Promise<unknown>>();
const release = async (store: object) => {
  await opened.get(store)?.();
};
const FileStore = createFileStore(session);
const PgStore = connectPgSimple(session);
const MySQLStore = createMySQLStore(session);

interface Target {
  name: string;
  version: string;
  service?: 'redis' | 'pg' | 'mysql' | 'mongo' | 'memcached';
  factory: StoreFactory;
}

const version = (pkg: string) => JSON.parse(readFileSync(path.join(__dirname, '..', 'node_modules', pkg, 'package.json'), 'utf8')).version as string;

const targets: Target[] = [
  {
    name: 'memorystore',
    version: version('memorystore'),
    factory: { create: () => new MemoryStore({ checkPeriod: 3_600_000 }) as never, destroy: (s) => (s as unknown as { stopInterval(): void }).stopInterval() },
  },
  {
    name: 'session-file-store',
    version: version('session-file-store'),
    factory: {
      create: (ctx) => new FileStore({ path: path.join(tmp, ctx.namespace), logFn: () => undefined }),
    },
  },
  {
    name: 'connect-redis',
    version: version('connect-redis'),
    service: 'redis',
    factory: {
      adapter: { shared: true },
      async create(ctx) {
        const client = createClient({ url: urls.redis });
        await client.connect();
        return Object.assign(new ConnectRedis({ client, prefix: ctx.namespace + ':' }), { __client: client });
      },
      async destroy(store) {
        await (store as unknown as { __client: { quit(): Promise<unknown> } }).__client.quit();
      },
    },
  },
  {
    name: 'connect-pg-simple',
    version: version('connect-pg-simple'),
    service: 'pg',
    factory: {
      adapter: { shared: true },
      create(ctx) {
        const pool = new pg.Pool({ connectionString: urls.pg, max: 4 });
        return Object.assign(new PgStore({ pool, tableName: ctx.namespace, createTableIfMissing: true, pruneSessionInterval: false }), { __pool: pool });
      },
      async destroy(store, ctx) {
        const pool = (store as unknown as { __pool: { query(q: string): Promise<unknown>; end(): Promise<void> } }).__pool;
        await pool.query(`drop table if exists "${ctx.namespace}"`).catch(() => undefined);
        await pool.end();
      },
    },
  },
  {
    name: 'express-mysql-session',
    version: version('express-mysql-session'),
    service: 'mysql',
    factory: {
      adapter: { shared: true },
      async create(ctx) {
        const store = new MySQLStore({
          ...mysqlOptions(),
          createDatabaseTable: true,
          clearExpired: false,
          schema: { tableName: ctx.namespace },
        });
        await store.onReady(); // its documented way to wait for the table
        return store;
      },
      async destroy(_store, ctx) {
        const conn = await mysql.createConnection(urls.mysql);
        await conn.query(`drop table if exists \`${ctx.namespace}\``);
        await conn.end();
      },
    },
  },
  {
    name: 'connect-mongo',
    version: version('connect-mongo'),
    service: 'mongo',
    factory: {
      adapter: { shared: true },
      async create(ctx) {
        const client = new MongoClient(urls.mongo);
        await client.connect();
        // The test server (FerretDB) refuses TTL indexes, so connect-mongo's default 'native' cannot start there.
        return Object.assign(ConnectMongo.create({ client, collectionName: ctx.namespace, autoRemove: 'disabled' }), { __client: client });
      },
      async destroy(store, ctx) {
        const client = (store as unknown as { __client: MongoClient }).__client;
        await client.db().collection(ctx.namespace).drop().catch(() => undefined);
        await client.close();
      },
    },
  },
  {
    name: 'connect-redis 6',
    version: version('connect-redis6'),
    service: 'redis',
    factory: {
      adapter: { shared: true },
      create(ctx) {
        // The require('connect-redis')(session) line most apps still run, on an ioredis client.
        const client = new Redis(urls.redis);
        const store = new ConnectRedis6({ client, prefix: ctx.namespace + ':' });
        opened.set(store, () => client.quit());
        return store;
      },
      destroy: release,
    },
  },
  {
    name: 'connect-mongodb-session',
    version: version('connect-mongodb-session'),
    service: 'mongo',
    factory: {
      adapter: { shared: true },
      async create(ctx) {
        const store = new MongoDBStore({ uri: urls.mongo, collection: ctx.namespace });
        // It creates a TTL index on connect, which the test server (FerretDB) refuses: an 'error' event, then it works on.
        store.on('error', () => undefined);
        await store.initialConnectionPromise;
        opened.set(store, async () => {
          await store.client.db().collection(ctx.namespace).drop().catch(() => undefined);
          await store.client.close();
        });
        return store;
      },
      destroy: release,
    },
  },
  {
    name: 'connect-session-sequelize',
    version: version('connect-session-sequelize'),
    service: 'pg',
    factory: {
      adapter: { shared: true },
      async create(ctx) {
        const db = new Sequelize(urls.pg, { logging: false });
        const store = new SequelizeStore({ db, tableName: ctx.namespace, checkExpirationInterval: 0 });
        await store.sync();
        opened.set(store, async () => {
          await db.query(`drop table if exists "${ctx.namespace}"`);
          await db.close();
        });
        return store;
      },
      destroy: release,
    },
  },
  {
    name: 'connect-session-knex',
    version: version('connect-session-knex'),
    service: 'pg',
    factory: {
      adapter: { shared: true },
      async create(ctx) {
        const knex = knexFactory({ client: 'pg', connection: urls.pg });
        const store = new ConnectSessionKnexStore({ knex, tableName: ctx.namespace, cleanupInterval: 0 });
        // It creates its table asynchronously and exposes that as `ready`.
        await store.ready;
        opened.set(store, async () => {
          await knex.schema.dropTableIfExists(ctx.namespace);
          await knex.destroy();
        });
        return store;
      },
      destroy: release,
    },
  },
  {
    name: 'connect-loki',
    version: version('connect-loki'),
    factory: {
      adapter: { shared: false },
      async create(ctx) {
        const store = new LokiStore({ path: path.join(tmp, `${ctx.namespace}.loki.db`), logErrors: false });
        // It loads its file asynchronously and says so with 'connect'; it has no close(), so its autosave timer is
        // stopped by closing its Loki database here.
        await new Promise((resolve) => store.once('connect', resolve));
        opened.set(store, () => new Promise((resolve) => store.client.close(resolve)));
        return store;
      },
      destroy: release,
    },
  },
  {
    name: 'nedb-session-store',
    version: version('nedb-session-store'),
    factory: {
      adapter: { shared: false },
      create(ctx) {
        const store = new NedbStore({ filename: path.join(tmp, `${ctx.namespace}.nedb`) });
        // Its auto-compaction timer runs until stopped; it has no close().
        opened.set(store, async () => store.datastore.persistence.stopAutocompaction());
        return store;
      },
      destroy: release,
    },
  },
  {
    name: 'connect-memcached',
    version: version('connect-memcached'),
    service: 'memcached',
    factory: {
      adapter: { shared: true },
      create(ctx) {
        const store = new MemcachedStore({ hosts: [urls.memcached], prefix: ctx.namespace + ':' });
        opened.set(store, async () => store.client.end());
        return store;
      },
      destroy: release,
    },
  },
];

/** `text` hard-wrapped at `width` on word boundaries, continuation lines indented (never cut). */
function wrap(text: string, width: number, indent: string): string {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = indent + word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out.join('\n');
}

/** A reason as the table shows it: the run's dates and the random namespaces replaced, so the file is stable. */
const stable = (reason: string) => reason.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<date>').replace(/sessconf_[0-9a-f]{10}/g, '<namespace>');

function table(all: Expectations): string {
  const shown = targets.filter((t) => all[t.name]);
  const levelOf = Object.fromEntries(cases.map((c) => [c.id, c.level]));
  const totals = (name: string, level: string) => {
    const rs = Object.entries(all[name]!).filter(([id]) => levelOf[id] === level).map(([, r]) => r.status);
    return `${rs.filter((x) => x === 'passed').length} passed, ${rs.filter((x) => x === 'failed').length} failed, ${rs.filter((x) => x === 'skipped').length} skipped`;
  };
  const lines = [
    '# Third-party stores against the conformance suite',
    '',
    'The `@sess/conformance` suite run through `@sess/core`\'s callback-store adapter against the express-session',
    'stores people run today, each on its real server (Redis, PostgreSQL, MariaDB and memcached on loopback; the',
    'MongoDB stores on FerretDB, the MongoDB-wire test server) or embedded engine. Generated by',
    '`SESS_UPDATE_THIRD_PARTY=1 pnpm --filter @sess/conformance test`; CI compares every run with the recorded',
    'results (`packages/conformance/test/third-party.expected.json`) and fails when one changes.',
    '',
    'Every case checks one of two contracts. **express-session level**: what express-session and the apps written',
    'for it rely on; a store failing it breaks apps today. **sess level**: what sess\'s own features need beyond',
    'that (touch storing the cookie, enumeration with ids, expiry on read, atomic patch, locks, a per-user index).',
    'A failure is a finding about that store, not a failure of ours; "skipped" means the store lacks the method',
    '(these stores predate the sess contract). `sess-conformance --level express-session` counts only the first.',
    '',
    '| store | version | express-session level | sess level |',
    '|---|---|---|---|',
    ...shown.map((t) => `| ${t.name} | ${t.version} | ${totals(t.name, 'express-session')} | ${totals(t.name, 'sess')} |`),
  ];
  const reasons: string[] = [];
  for (const level of ['express-session', 'sess'] as const) {
    lines.push('', `## ${level} level`, '', `| case | ${shown.map((t) => t.name).join(' | ')} |`, `|---|${shown.map(() => '---').join('|')}|`);
    for (const c of cases.filter((x) => x.level === level)) {
      const cells = shown.map((t) => {
        const r = all[t.name]![c.id];
        if (!r) return 'n/a';
        if (r.status === 'passed') return 'pass';
        reasons.push(`- <a id="r${reasons.length + 1}"></a>**r${reasons.length + 1}** ${t.name}, \`${c.id}\` (${r.status}): ${wrap(stable(String(r.reason ?? '')), 100, '  ')}`);
        return `${r.status === 'failed' ? '**FAIL**' : 'skip'} [r${reasons.length}](#r${reasons.length})`;
      });
      lines.push(`| \`${c.id}\` | ${cells.join(' | ')} |`);
    }
  }
  lines.push('', '## What each failure means for the store\'s users', '');
  for (const c of cases) lines.push(`- \`${c.id}\` (${c.level}): ${wrap(c.impact, 100, '  ')}`);
  lines.push('', '## Reasons, in full', '', ...reasons);
  return lines.join('\n') + '\n';
}

for (const target of targets) {
  describe(`third-party: ${target.name}@${target.version}`, () => {
    if (target.service) {
      const svc = serviceTest(target.service);
      if (!svc.available) {
        svc.missing(`conformance of ${target.name}`);
        return;
      }
    }
    test(
      'results match the recorded expectations',
      async () => {
        const results = await runConformance(target.factory);
        observed[target.name] = Object.fromEntries(results.map((r) => [r.id, r.reason ? { status: r.status, reason: r.reason } : { status: r.status }]));
        const got = Object.fromEntries(results.map((r) => [r.id, r.status]));
        if (update) return;
        const want = Object.fromEntries(Object.entries(expected[target.name] ?? {}).map(([id, r]) => [id, r.status]));
        const changed = results.filter((r) => want[r.id] !== r.status).map((r) => `${r.id}: expected ${want[r.id] ?? 'no record'}, got ${r.status}${r.reason ? ` (${r.reason})` : ''}`);
        expect(changed).toEqual([]);
        expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
      },
      600_000,
    );
  });
}
