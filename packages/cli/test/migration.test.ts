/**
 * A live move from the PostgreSQL store to the Redis store, the runbook of docs/operating.md on real servers:
 * three app instances under continuous traffic (every user's requests spread over all three), restarted one
 * at a time into each stage (dual-write, fallback, then `sess migrate` copies the rest, then cutover). Counts
 * the users logged out (target: zero) and the sessions brought back after a logout (must be zero), and prints
 * them.
 */
import { afterAll, expect, test } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
// @ts-expect-error pg ships no types here
import pg from 'pg';
import session, { MigratingStore, type MigrationStage, type SessionStore } from '@sess/core';
import { PgStore } from '@sess/store-pg';
import { RedisStore } from '@sess/store-redis';
import { serviceTest, urls } from '../../conformance/test/services';
import { sess } from './helpers';

const pgSvc = serviceTest('pg');
const redisSvc = serviceTest('redis');
const table = `cli_move_${process.pid}`;
const prefix = `climove${process.pid}:`;
const USERS = 45;
/** Users who log in on the PostgreSQL-only app and come back only after cutover: sess migrate must have copied them. */
const IDLE = 10;
/** Users who come back once during fallback (copied on read), and again after cutover. */
const RETURNING = 5;

type Stage = 'pg' | MigrationStage;

interface Instance {
  port: number;
  draining?: boolean;
  server?: http.Server;
  stores: Array<{ close(): Promise<void> }>;
}

function makeStore(stage: Stage): { store: SessionStore; closers: Array<{ close(): Promise<void> }> } {
  const pgStore = new PgStore({ connectionString: urls.pg, tableName: table, createTableIfMissing: true, pruneSessionInterval: false });
  if (stage === 'pg') return { store: pgStore, closers: [pgStore] };
  const redisStore = new RedisStore({ url: urls.redis, prefix });
  return { store: new MigratingStore({ from: pgStore, to: redisStore, stage, userKey: (r) => (r.user as string) ?? null }), closers: [pgStore, redisStore] };
}

async function start(inst: Instance, stage: Stage): Promise<void> {
  const { store, closers } = makeStore(stage);
  const app = express();
  // While draining for a restart, every response closes its connection: clients move to another instance.
  app.use((_req, res, next) => {
    if (inst.draining) res.setHeader('Connection', 'close');
    next();
  });
  app.use(session({ secret: 'move', resave: false, saveUninitialized: false, store, userKey: (s) => (s.user as string) ?? null, cookie: { maxAge: 3_600_000 } }));
  app.get('/login/:u', (req, res) => {
    (req.session as unknown as Record<string, unknown>).user = req.params.u;
    (req.session as unknown as Record<string, unknown>).n = 0;
    res.send('0');
  });
  app.get('/n', (req, res) => {
    const s = req.session as unknown as Record<string, number | undefined>;
    if (s.user === undefined) return void res.status(401).send('logged out');
    s.n = (s.n ?? 0) + 1;
    res.send(String(s.n));
  });
  app.get('/logout', (req, res, next) => req.session.destroy((err) => (err ? next(err) : res.send('bye'))));
  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(inst.port, '127.0.0.1', r));
  if (!inst.port) inst.port = (server.address() as AddressInfo).port;
  inst.server = server;
  inst.stores = closers;
}

async function restart(inst: Instance, stage: Stage): Promise<void> {
  const old = inst.server!;
  const stores = inst.stores;
  // A graceful restart, as a deploy does: no new connections, requests in flight finish, keep-alive
  // connections close after their current response.
  inst.draining = true;
  const idle = setInterval(() => old.closeIdleConnections(), 20);
  await new Promise<void>((r) => old.close(() => r()));
  clearInterval(idle);
  inst.draining = false;
  await start(inst, stage);
  for (const s of stores) await s.close();
}

const instances: Instance[] = [{ port: 0, stores: [] }, { port: 0, stores: [] }, { port: 0, stores: [] }];

afterAll(async () => {
  for (const i of instances) {
    i.server?.closeAllConnections?.();
    await new Promise<void>((r) => (i.server ? i.server.close(() => r()) : r()));
    for (const s of i.stores) await s.close().catch(() => undefined);
  }
  if (pgSvc.available) {
    const pool = new pg.Pool({ connectionString: urls.pg });
    await pool.query(`drop table if exists "${table}"`);
    await pool.query(`drop table if exists "${table}_by_user"`);
    await pool.end();
  }
  if (redisSvc.available) {
    const s = new RedisStore({ url: urls.redis, prefix });
    await s.clear();
    await s.close();
  }
});

if (!pgSvc.available || !redisSvc.available) {
  if (!pgSvc.available) pgSvc.missing('the live move from PostgreSQL to Redis');
  else redisSvc.missing('the live move from PostgreSQL to Redis');
} else {
  test('three instances under traffic move from PostgreSQL to Redis through every stage: nobody is logged out, no logout undone', async () => {
    for (const i of instances) await start(i, 'pg');
    const stats = { requests: 0, retried: 0, loggedOut: 0, resurrected: 0, wrong: 0 };
    let stop = false;
    let turn = 0;
    const get = async (path: string, cookie?: string): Promise<{ status: number; body: string; setCookie?: string }> => {
      for (;;) {
        const inst = instances[turn++ % instances.length]!;
        try {
          const res = await fetch(`http://127.0.0.1:${inst.port}${path}`, { headers: cookie ? { cookie } : {}, signal: AbortSignal.timeout(10_000) });
          stats.requests++;
          const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('connect.sid='))?.split(';')[0];
          return { status: res.status, body: await res.text(), setCookie };
        } catch {
          stats.retried++; // that instance is restarting: the next one answers
        }
      }
    };

    // Every user logs in on the PostgreSQL-only app, then keeps counting, spread over the three instances.
    const users = await Promise.all(
      Array.from({ length: USERS }, async (_, u) => {
        const r = await get(`/login/u${u}`);
        return { u, cookie: r.setCookie!, n: 0, out: false, leave: false };
      }),
    );
    const idle = await Promise.all(
      Array.from({ length: IDLE + RETURNING }, async (_, u) => {
        const r = await get(`/login/idle${u}`);
        return r.setCookie!;
      }),
    );
    const comeBack = async (cookie: string, expect: number) => {
      const r = await get('/n', cookie);
      if (r.status === 401) stats.loggedOut++;
      else if (r.body !== String(expect)) stats.wrong++;
    };
    const loops = users.map(async (user) => {
      while (!stop) {
        if (user.leave && !user.out) {
          const r = await get('/logout', user.cookie);
          if (r.body !== 'bye') stats.wrong++;
          user.out = true;
          continue;
        }
        if (user.out) {
          // A logged-out user's old cookie must never find the session again.
          const r = await get('/n', user.cookie);
          if (r.status !== 401) stats.resurrected++;
          await new Promise((res) => setTimeout(res, 20));
          continue;
        }
        const r = await get('/n', user.cookie);
        if (r.status === 401) {
          stats.loggedOut++;
          user.out = true;
          phases.push(`${phase} n=${user.n} via ${(turn - 1) % 3}`);
        } else if (r.body !== String(user.n + 1)) {
          stats.wrong++;
          user.n = Number(r.body);
        } else user.n++;
      }
    });

    const phases: string[] = [];
    let phase = 'pg';
    const settle = () => new Promise((r) => setTimeout(r, 700));
    const rolling = async (stage: Stage) => {
      for (const [n, i] of instances.entries()) {
        phase = `${stage}:${n}`;
        await restart(i, stage);
        await settle();
      }
    };
    await settle();
    await rolling('dual-write');
    await rolling('fallback');
    // Some users log out during the move: their sessions are gone from both stores for good.
    for (const user of users.slice(0, 5)) user.leave = true;
    for (const cookie of idle.slice(IDLE)) await comeBack(cookie, 1);
    const loggedOutOnPurpose = 5;
    // The sessions not used since dual-write are still only in PostgreSQL: the command copies them.
    const migrated = await sess(['migrate', '--from', `${urls.pg}?tableName=${table}`, '--to', `${urls.redis}?prefix=${prefix}`, '--verify', '--json']);
    expect(migrated.code).toBe(0);
    const summary = JSON.parse(migrated.stdout);
    expect(summary.failed).toBe(0);
    expect(summary.copied).toBe(IDLE); // the idle users' sessions, only in PostgreSQL until now
    await settle();
    await rolling('cutover');
    for (const cookie of idle.slice(0, IDLE)) await comeBack(cookie, 1);
    for (const cookie of idle.slice(IDLE)) await comeBack(cookie, 2);
    await settle();
    stop = true;
    await Promise.all(loops);

    // After cutover the Redis store alone serves every session: each remaining user's count went on unbroken.
    const counted = users.filter((u) => !u.out).length;
    const line = `PostgreSQL -> Redis, 3 instances, ${USERS} active users, ${IDLE} idle until after cutover, ${RETURNING} back once during fallback: ${stats.requests} requests, ${stats.loggedOut} users logged out (target 0), ${stats.resurrected} sessions brought back after logout, ${stats.wrong} counts lost, ${stats.retried} requests retried on another instance during restarts; sess migrate copied ${summary.copied}, found ${summary.present} already there`;
    console.log(line + (phases.length ? ` (logged out in: ${phases.join(', ')})` : ''));
    expect(stats.loggedOut).toBe(0);
    expect(stats.resurrected).toBe(0);
    expect(stats.wrong).toBe(0);
    expect(counted).toBe(USERS - loggedOutOnPurpose);
    expect(stats.requests).toBeGreaterThan(USERS * 20);
  }, 120_000);
}
