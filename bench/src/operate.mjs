#!/usr/bin/env node
// The sess command at scale, on the real servers: N live sessions (default 1,000,000) written to Redis in
// connect-redis's layout, then `sess count`, `sess export` (Redis -> file), `sess import` (file -> PostgreSQL)
// and `sess migrate --verify` (PostgreSQL -> Redis), each timed, with the command's peak memory (RSS).
//   node src/operate.mjs [--sessions 1000000] [--json]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes('--' + name) ? args[args.indexOf('--' + name) + 1] : dflt);
const N = Number(opt('sessions', 1_000_000));
const asJson = args.includes('--json');
const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.join(here, '..', '..', 'packages', 'cli', 'bin', 'sess.js');
const redisUrl = process.env.SESS_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const pgUrl = process.env.SESS_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const tag = `bench${process.pid}`;
const src = `${redisUrl}?prefix=${tag}a:`;
const pgTarget = `${pgUrl}?tableName=${tag}`;
const dst = `${redisUrl}?prefix=${tag}b:`;
const dir = mkdtempSync(path.join(os.tmpdir(), 'sess-operate-'));
const file = path.join(dir, 'sessions.jsonl');

const log = (...a) => !asJson && console.error(...a);

async function seed() {
  const { Redis } = require('ioredis');
  const redis = new Redis(redisUrl);
  const expires = new Date(Date.now() + 3_600_000).toISOString();
  const started = performance.now();
  for (let i = 0; i < N; i += 5000) {
    const pipe = redis.pipeline();
    for (let j = i; j < Math.min(N, i + 5000); j++) {
      const id = `b${String(j).padStart(31, '0')}`;
      pipe.set(`${tag}a:${id}`, JSON.stringify({ cookie: { originalMaxAge: 3600000, expires, httpOnly: true, path: '/' }, user: { id: `u${j % 50000}`, role: 'user' }, cart: ['tea', 'mug'], n: j }), 'EX', 3600);
    }
    await pipe.exec();
  }
  await redis.quit();
  return (performance.now() - started) / 1000;
}

/** Run the sess command; resolves its wall time (s), peak RSS (bytes) and output. */
function sess(cmdArgs) {
  const rssFile = path.join(dir, `rss-${Math.random()}`);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--require', path.join(here, 'maxrss.cjs'), bin, ...cmdArgs], { env: { ...process.env, SESS_BENCH_MAXRSS_FILE: rssFile }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => {
      const seconds = (performance.now() - started) / 1000;
      if (code !== 0) return reject(new Error(`sess ${cmdArgs[0]} exited with ${code}: ${err}`));
      resolve({ seconds, rss: Number(readFileSync(rssFile, 'utf8')), out, err });
    });
  });
}

async function cleanup() {
  const { Redis } = require('ioredis');
  const redis = new Redis(redisUrl);
  for (const p of [`${tag}a:`, `${tag}b:`]) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${p}*`, 'COUNT', 5000);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== '0');
  }
  await redis.quit();
  const pg = require('pg');
  const pool = new pg.Pool({ connectionString: pgUrl });
  await pool.query(`drop table if exists "${tag}"`);
  await pool.query(`drop table if exists "${tag}_by_user"`);
  await pool.end();
  rmSync(dir, { recursive: true, force: true });
}

const rows = [];
try {
  log(`seeding ${N} sessions in Redis…`);
  const seeded = await seed();
  log(`seeded in ${seeded.toFixed(1)} s`);
  const count = await sess(['count', src, '--json']);
  if (JSON.parse(count.out).count !== N) throw new Error(`count says ${count.out}`);
  rows.push({ operation: 'count (Redis)', sessions: N, ...count });
  const exp = await sess(['export', src, file]);
  rows.push({ operation: 'export (Redis -> file)', sessions: N, ...exp, bytes: statSync(file).size });
  const imp = await sess(['import', pgTarget, file, '--json']);
  if (JSON.parse(imp.out).imported !== N) throw new Error(`import says ${imp.out}`);
  rows.push({ operation: 'import (file -> PostgreSQL)', sessions: N, ...imp });
  const mig = await sess(['migrate', '--from', pgTarget, '--to', dst, '--verify', '--json']);
  const summary = JSON.parse(mig.out);
  if (summary.copied !== N || summary.verified !== N) throw new Error(`migrate says ${mig.out}`);
  rows.push({ operation: 'migrate --verify (PostgreSQL -> Redis)', sessions: N, ...mig });
} finally {
  await cleanup();
}

const results = rows.map((r) => ({ operation: r.operation, sessions: r.sessions, seconds: Number(r.seconds.toFixed(1)), perSecond: Math.round(r.sessions / r.seconds), peakRssMb: Math.round(r.rss / 1048576), ...(r.bytes ? { fileMb: Math.round(r.bytes / 1048576) } : {}) }));
if (asJson) console.log(JSON.stringify({ node: process.version, cpus: os.availableParallelism(), results }, null, 2));
else {
  console.log(`node ${process.version}, ${os.availableParallelism()} cores; the sess command, ${N} sessions`);
  console.log('operation                                  seconds  sessions/s  peak RSS MB');
  for (const r of results) console.log(`${r.operation.padEnd(42)} ${String(r.seconds).padStart(7)} ${String(r.perSecond).padStart(11)} ${String(r.peakRssMb).padStart(12)}${r.fileMb ? `  (file ${r.fileMb} MB)` : ''}`);
}
