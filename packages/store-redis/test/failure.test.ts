/**
 * Failure: a Redis of the test's own (spawned here) is down at start, killed mid-traffic, or paused.
 * Requests get typed errors within the store timeout, never hang, and the store works again when Redis
 * is back, without a restart.
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { RedisStore } from '@sess/store-redis';
import { failureApp as app, serve, timed } from '../../conformance/test/http';

const hasRedis = spawnSync('redis-server', ['--version']).status === 0;

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) return child;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('redis-server did not start');
}

const children: ChildProcess[] = [];
afterAll(() => children.forEach((c) => c.kill('SIGKILL')));

const title = 'Redis failures give typed errors in time, then recovery';
if (!hasRedis && process.env.CI === 'true') test('redis-server must be installed under CI (scripts/services.sh installs it)', () => { throw new Error('redis-server not found'); });
(hasRedis ? describe : describe.skip)(hasRedis ? title : `[skipped: redis-server is not installed] ${title}`, () => {
  test('down at start, then up: 503 within the store timeout, then it works without a restart', async () => {
    const port = await freePort();
    const store = new RedisStore({ url: `redis://127.0.0.1:${port}` });
    const srv = await serve(app(store));
    const down = await timed(srv.url + '/login');
    expect(down.status).toBe(503);
    expect(['SESS_STORE', 'SESS_STORE_TIMEOUT']).toContain(down.body);
    expect(down.ms).toBeLessThan(5000);
    children.push(await startRedis(port));
    let ok: Awaited<ReturnType<typeof timed>> | undefined;
    for (let i = 0; i < 50 && ok?.status !== 200; i++) {
      ok = await timed(srv.url + '/login');
      if (ok.status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    expect(ok!.status).toBe(200);
    expect((await timed(srv.url + '/me', ok!.cookie)).body).toBe('ann');
    await srv.close();
    await store.close();
  }, 60_000);

  test('killed mid-traffic, then back: typed errors meanwhile, sessions work again after', async () => {
    const port = await freePort();
    let redis = await startRedis(port);
    children.push(redis);
    const store = new RedisStore({ url: `redis://127.0.0.1:${port}` });
    const srv = await serve(app(store));
    const login = await timed(srv.url + '/login');
    expect(login.status).toBe(200);
    redis.kill('SIGKILL');
    await new Promise((r) => redis.once('exit', r));
    const during = await Promise.all(Array.from({ length: 5 }, () => timed(srv.url + '/me', login.cookie)));
    for (const r of during) {
      expect(r.status).toBe(503);
      expect(r.ms).toBeLessThan(5000);
    }
    redis = await startRedis(port); // an empty Redis: the session is gone, but the store works again
    children.push(redis);
    let after: Awaited<ReturnType<typeof timed>> | undefined;
    for (let i = 0; i < 50 && after?.status !== 200; i++) {
      after = await timed(srv.url + '/login');
      if (after.status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    expect(after!.status).toBe(200);
    expect((await timed(srv.url + '/me', after!.cookie)).body).toBe('ann');
    await srv.close();
    await store.close();
  }, 60_000);

  test('stalled (CLIENT PAUSE): StoreTimeoutError within storeTimeout, then normal service', async () => {
    const port = await freePort();
    children.push(await startRedis(port));
    const store = new RedisStore({ url: `redis://127.0.0.1:${port}` });
    const srv = await serve(app(store));
    const login = await timed(srv.url + '/login');
    await store.client.call('CLIENT', 'PAUSE', '2500', 'ALL');
    const paused = await timed(srv.url + '/me', login.cookie);
    expect(paused.status).toBe(503);
    expect(paused.body).toBe('SESS_STORE_TIMEOUT');
    expect(paused.ms).toBeLessThan(2000);
    await new Promise((r) => setTimeout(r, 2600));
    expect((await timed(srv.url + '/me', login.cookie)).body).toBe('ann');
    await srv.close();
    await store.close();
  }, 60_000);
});
