import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import mysql from 'mysql2/promise';
// @ts-expect-error pg ships no types here
import pg from 'pg';
import type { SessionRecord, SessionStore, WriteContext } from '@sess/core';
import { FileStore } from '@sess/store-file';
import { MongoStore } from '@sess/store-mongo';
import { MySQLStore } from '@sess/store-mysql';
import { PgStore } from '@sess/store-pg';
import { RedisStore } from '@sess/store-redis';
import { urls } from '../../conformance/test/services';

export const BIN = path.join(__dirname, '..', 'bin', 'sess.js');

/** Run the built `sess` binary; resolves its exit code and output (never rejects). */
export function sess(args: string[], opts: { input?: string; env?: Record<string, string>; cwd?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env }, maxBuffer: 256 << 20, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0, stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    else child.stdin!.end();
  });
}

export const tmp = (name: string) => mkdtempSync(path.join(os.tmpdir(), `sess-cli-${name}-`));

/** A store under test: the URL the CLI is given, the same store opened in-process, and how to drop what it made. */
export interface Target {
  name: string;
  service?: 'redis' | 'pg' | 'mysql' | 'mongo';
  url(ns: string): string;
  open(ns: string): SessionStore & { close(): Promise<void> };
  drop(ns: string): Promise<void>;
}

const withQuery = (url: string, q: string) => url + (url.includes('?') ? '&' : '?') + q;

export function targets(dir: string): Target[] {
  return [
    {
      name: 'file',
      url: (ns) => `file://${path.join(dir, ns)}`,
      open: (ns) => new FileStore({ dir: path.join(dir, ns), reapInterval: 0 }),
      drop: async () => undefined,
    },
    {
      name: 'redis',
      service: 'redis',
      url: (ns) => withQuery(urls.redis, `prefix=${ns}:`),
      open: (ns) => new RedisStore({ url: urls.redis, prefix: `${ns}:` }),
      async drop(ns) {
        const s = new RedisStore({ url: urls.redis, prefix: `${ns}:` });
        await s.clear();
        await s.close();
      },
    },
    {
      name: 'postgres',
      service: 'pg',
      url: (ns) => withQuery(urls.pg, `tableName=${ns}`),
      open: (ns) => new PgStore({ connectionString: urls.pg, tableName: ns, createTableIfMissing: true, pruneSessionInterval: false }),
      async drop(ns) {
        const pool = new pg.Pool({ connectionString: urls.pg });
        await pool.query(`drop table if exists "${ns}"`);
        await pool.query(`drop table if exists "${ns}_by_user"`);
        await pool.end();
      },
    },
    {
      name: 'mysql',
      service: 'mysql',
      url: (ns) => withQuery(urls.mysql, `tableName=${ns}`),
      open: (ns) => new MySQLStore({ uri: urls.mysql, schema: { tableName: ns }, pruneSessionInterval: false }),
      async drop(ns) {
        const conn = await mysql.createConnection(urls.mysql);
        await conn.query(`drop table if exists \`${ns}\``);
        await conn.query(`drop table if exists \`${ns}_by_user\``);
        await conn.end();
      },
    },
    {
      name: 'mongodb',
      service: 'mongo',
      url: (ns) => withQuery(urls.mongo, `collectionName=${ns}`),
      open: (ns) => new MongoStore({ url: urls.mongo, collectionName: ns, errorLog: () => undefined }),
      async drop(ns) {
        const c = await MongoClient.connect(urls.mongo);
        await c.db().collection(ns).drop().catch(() => undefined);
        await c.close();
      },
    },
  ];
}

export function record(data: Record<string, unknown>, lifeMs = 3_600_000): { record: SessionRecord; ctx: (userKey?: string | null) => WriteContext } {
  const expires = new Date(Date.now() + lifeMs);
  const rec = { cookie: { originalMaxAge: lifeMs, expires: expires.toISOString(), httpOnly: true, path: '/' }, ...data } as SessionRecord;
  return { record: rec, ctx: (userKey = null) => ({ expires, userKey }) };
}

/** A session id of the default grammar (24 base64url characters... uid-safe's 32). */
export const sid = (n: number | string) => `cli${String(n).padStart(29, '0')}`;
