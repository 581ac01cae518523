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
import { cases, runConformance, type CaseResult, type StoreFactory } from '@sess/conformance';
import { serviceTest, urls } from './services';

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
const FileStore = createFileStore(session);
const PgStore = connectPgSimple(session);
const MySQLStore = createMySQLStore(session);

interface Target {
  name: string;
  version: string;
  service?: 'redis' | 'pg' | 'mysql' | 'mongo';
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
        const u = new URL(urls.mysql);
        const store = new MySQLStore({
          host: u.hostname,
          port: Number(u.port || 3306),
          user: decodeURIComponent(u.username || 'root'),
          password: decodeURIComponent(u.password),
          database: u.pathname.slice(1) || 'test',
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
];

function table(all: Expectations): string {
  const names = targets.map((t) => t.name).filter((n) => all[n]);
  const lines = [
    '# Third-party stores against the conformance suite',
    '',
    'The `@sess/conformance` suite run through `@sess/core`\'s callback-store adapter against the express-session',
    'stores people run today, on the real servers (Redis, PostgreSQL, MariaDB on loopback; connect-mongo on',
    'FerretDB, the MongoDB-wire test server). Generated by',
    '`SESS_UPDATE_THIRD_PARTY=1 pnpm --filter @sess/conformance test`; CI compares every run with the recorded',
    'results (`packages/conformance/test/third-party.expected.json`) and fails when one changes.',
    '',
    'A failure is a finding about that store, not a failure of ours. "skipped" means the store lacks the method',
    '(these stores predate the sess contract: no atomic patch, lock or per-user index).',
    '',
    '| store | version |',
    '|---|---|',
    ...targets.filter((t) => all[t.name]).map((t) => `| ${t.name} | ${t.version} |`),
    '',
    `| case | ${names.join(' | ')} |`,
    `|---|${names.map(() => '---').join('|')}|`,
  ];
  for (const c of cases) {
    const cells = names.map((n) => {
      const r = all[n]![c.id];
      if (!r) return 'n/a';
      if (r.status === 'passed') return 'pass';
      return `${r.status === 'failed' ? 'FAIL' : 'skipped'}: ${String(r.reason ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ').slice(0, 160)}`;
    });
    lines.push(`| \`${c.id}\` | ${cells.join(' | ')} |`);
  }
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
