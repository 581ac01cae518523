/**
 * The bench runs end to end (both implementations, every scenario) and reports its numbers. No timing
 * is asserted here: performance is read from `pnpm bench`, never from a test.
 */
import { afterAll, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

test('one short interleaved round produces a row per scenario with both implementations', () => {
  const r = spawnSync(process.execPath, [path.join(__dirname, '..', 'src', 'run.mjs'), '--duration', '1', '--rounds', '1', '--connections', '2', '--json'], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, SESS_BENCH_PINNED: '1' },
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const out = JSON.parse(r.stdout);
  expect(out.results.map((x: { scenario: string }) => x.scenario)).toEqual(['read', 'write', 'create']);
  for (const row of out.results) {
    expect(row.esRps).toBeGreaterThan(0);
    expect(row.sessRps).toBeGreaterThan(0);
    expect(Number.isFinite(row.ratio)).toBe(true);
    expect(row.roundRatios).toHaveLength(1);
    expect(row.ratioMin).toBeLessThanOrEqual(row.ratioMax);
  }
}, 130_000);

test('the observability variants run: today against core before the channels, and with @sess/opentelemetry', () => {
  const r = spawnSync(process.execPath, [path.join(__dirname, '..', 'src', 'run.mjs'), '--variant', 'memory-before-channels,memory-otel', '--scenarios', 'read', '--duration', '1', '--rounds', '1', '--connections', '2', '--json'], {
    encoding: 'utf8',
    timeout: 170_000,
    env: { ...process.env, SESS_BENCH_PINNED: '1' },
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const out = JSON.parse(r.stdout);
  expect(out.results.map((x: { variant: string }) => x.variant)).toEqual(['memory-before-channels', 'memory-otel']);
  for (const row of out.results) expect(row.esRps > 0 && row.sessRps > 0).toBe(true);
}, 180_000);

test('the sess command at scale runs end to end (count, export, import, migrate) and reports time and peak memory', () => {
  const r = spawnSync(process.execPath, [path.join(__dirname, '..', 'src', 'operate.mjs'), '--sessions', '2000', '--json'], { encoding: 'utf8', timeout: 170_000 });
  expect(r.status).toBe(0);
  const out = JSON.parse(r.stdout);
  expect(out.results.map((x: { operation: string }) => x.operation)).toEqual(['count (Redis)', 'export (Redis -> file)', 'import (file -> PostgreSQL)', 'migrate --verify (PostgreSQL -> Redis)']);
  for (const row of out.results) expect(row.seconds > 0 && row.peakRssMb > 0 && row.sessions === 2000).toBe(true);
}, 180_000);

const tmp = mkdtempSync(path.join(os.tmpdir(), 'sess-bench-smoke-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const run = (script: string, args: string[], timeout = 300_000) =>
  spawnSync(process.execPath, [path.join(__dirname, '..', 'src', script), ...args], { encoding: 'utf8', timeout, env: { ...process.env, SESS_BENCH_PINNED: '1' } });

test('the scale bench fills every store, reads spread over it on both sides, prunes under load and runs the per-user scenario', () => {
  const stores = ['memory', 'redis', 'pg', 'mysql', 'mongo', 'file'];
  const r = run('scale.mjs', ['--stores', stores.join(','), '--sizes', '1000', '--user-at', '1000', '--user-sessions', '50', '--rounds', '1', '--duration', '1', '--connections', '2', '--prune-incumbent-files', '--out', path.join(tmp, 'scale.json')]);
  expect(r.status).toBe(0);
  const out = JSON.parse(readFileSync(path.join(tmp, 'scale.json'), 'utf8'));
  expect(out.results.map((x: { store: string }) => x.store)).toEqual(stores);
  for (const row of out.results) {
    expect(row.sessions).toBe(1000);
    expect(row.esRps > 0 && row.sessRps > 0).toBe(true);
    expect((row.bytesPerSession ?? row.sessBytesPerSession) > 0).toBe(true);
    // Every store but Redis (which expires keys itself) has sess's prune pass; requests were served during it.
    if (row.store !== 'redis') expect(row.prune.sess.pruneMs).toBeGreaterThanOrEqual(0);
    if (row.store !== 'redis') expect(row.prune.sess.error).toBeUndefined();
    // The file store's pass runs over files it wrote itself; also over session-file-store's when asked.
    if (row.store === 'file') expect(row.prune.sessOnIncumbentFiles.pruneMs).toBeGreaterThanOrEqual(0);
    for (const side of ['es', 'sess']) {
      expect(row.perUser[side].listed).toBe(50);
      expect(row.perUser[side].destroyed).toBe(49);
    }
  }
}, 320_000);

test('the cluster bench runs 1 and 2 workers on both sides', () => {
  const r = run('cluster.mjs', ['--variants', 'redis-client-recommended', '--workers', '1,2', '--rounds', '1', '--duration', '1', '--out', path.join(tmp, 'cluster.json')], 170_000);
  expect(r.status).toBe(0);
  const out = JSON.parse(readFileSync(path.join(tmp, 'cluster.json'), 'utf8'));
  expect(out.results.map((x: { scenario: string; workers: number }) => `${x.scenario}/${x.workers}`)).toEqual(['read/1', 'read/2', 'write/1', 'write/2']);
  for (const row of out.results) expect(row.esRps > 0 && row.sessRps > 0 && row.sessStoreCpuUs !== null).toBe(true);
}, 180_000);

test('the charts are drawn from the bench JSON as SVG', () => {
  const t = run('run.mjs', ['--variant', 'memory-recommended,redis-client-recommended', '--scenarios', 'read', '--duration', '1', '--rounds', '1', '--connections', '2', '--out', path.join(tmp, 'targets.json')], 170_000);
  expect(t.status).toBe(0);
  const r = run('charts.mjs', ['--results', tmp, '--out', path.join(tmp, 'svg')], 60_000);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  for (const name of ['targets', 'store-cpu', 'scale-rps', 'scale-p99', 'scale-bytes', 'prune', 'prune-time', 'per-user', 'cluster']) {
    const svg = readFileSync(path.join(tmp, 'svg', name + '.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('</svg>');
  }
}, 180_000);

test('the framework bench runs: bare, incumbent and sess on Express, Fastify, Koa and Hono, a row per setup and scenario', () => {
  const r = spawnSync(
    process.execPath,
    [path.join(__dirname, '..', 'src', 'frameworks.mjs'), '--only', 'express-pg,fastify-memory,koa-redis,hono-memory', '--scenarios', 'read,write', '--duration', '1', '--rounds', '1', '--connections', '2', '--json'],
    { encoding: 'utf8', timeout: 170_000, env: { ...process.env, SESS_BENCH_PINNED: '1' } },
  );
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const out = JSON.parse(r.stdout);
  expect(out.results.map((x: { setup: string; scenario: string }) => `${x.setup}/${x.scenario}`)).toEqual([
    'express-pg/read',
    'express-pg/write',
    'fastify-memory/read',
    'fastify-memory/write',
    'koa-redis/read',
    'koa-redis/write',
    'hono-memory/read',
    'hono-memory/write',
  ]);
  for (const row of out.results) {
    expect(row.bareRps > 0 && row.incumbentRps > 0 && row.sessRps > 0).toBe(true);
    expect(Number.isFinite(row.vsIncumbent) && Number.isFinite(row.vsBare)).toBe(true);
  }
  // koa-redis's server CPU is read from Redis; the in-process stores have none.
  expect(out.results.find((x: { setup: string }) => x.setup === 'koa-redis').sessStoreCpuUs).not.toBeNull();
  expect(out.results.find((x: { setup: string }) => x.setup === 'express-pg').sessStoreCpuUs).not.toBeNull();
  for (const row of out.results) expect(row.cpuAboveBareUs).toBe(row.sessCpuUs - row.bareCpuUs);
}, 180_000);

test('the framework bench spreads the requests over many sessions with --sessions, each made by the app and read back', () => {
  const r = spawnSync(
    process.execPath,
    [path.join(__dirname, '..', 'src', 'frameworks.mjs'), '--only', 'express-memory,fastify-memory', '--scenarios', 'read', '--duration', '1', '--rounds', '1', '--connections', '2', '--sessions', '60', '--json'],
    { encoding: 'utf8', timeout: 170_000, env: { ...process.env, SESS_BENCH_PINNED: '1' } },
  );
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const out = JSON.parse(r.stdout);
  expect(out.sessions).toBe(60);
  expect(out.results.map((x: { setup: string }) => x.setup)).toEqual(['express-memory', 'fastify-memory']);
  for (const row of out.results) {
    expect(row.bareRps > 0 && row.incumbentRps > 0 && row.sessRps > 0).toBe(true);
    for (const impl of ['bare', 'incumbent', 'sess']) expect(row[`${impl}Busy`]).toBeGreaterThan(0);
  }
}, 180_000);

test('the micro-benchmark runs the session layer without sockets: every implementation, every scenario, above the bare harness', () => {
  const r = spawnSync(process.execPath, [path.join(__dirname, '..', 'src', 'micro.mjs'), '--ops', '300', '--rounds', '1', '--json'], { encoding: 'utf8', timeout: 120_000 });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const rows = JSON.parse(r.stdout) as Array<{ scenario: string; impl: string; nsPerRequest: number; aboveBareNs: number }>;
  expect(rows.map((x) => `${x.scenario}/${x.impl}`)).toEqual(
    ['read', 'write', 'create'].flatMap((s) => ['bare', 'express-session', 'sess', 'engine'].map((i) => `${s}/${i}`)),
  );
  for (const row of rows) {
    expect(row.nsPerRequest).toBeGreaterThan(0);
    // Every session layer does work the bare harness does not (a cookie to verify or sign, a store call).
    if (row.impl !== 'bare') expect(row.aboveBareNs).toBeGreaterThan(0);
  }
}, 150_000);

test('the profiler runs one app under load and splits its CPU by package and frame', () => {
  const r = spawnSync(process.execPath, [path.join(__dirname, '..', 'src', 'profile.mjs'), 'fastify', 'sess', 'memory', 'read', '--duration', '1', '--connections', '2', '--json'], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, SESS_BENCH_PINNED: '1' },
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const out = JSON.parse(r.stdout) as { rps: number; cpuUsPerRequest: number; byPackage: Array<{ name: string; share: number }> };
  expect(out.rps).toBeGreaterThan(0);
  expect(out.cpuUsPerRequest).toBeGreaterThan(0);
  // sess's own code is on the profile of an app that runs it.
  expect(out.byPackage.map((p) => p.name)).toContain('@sess/core');
}, 150_000);
