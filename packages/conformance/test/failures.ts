/**
 * The failure cases every networked store must survive, through a TCP proxy in front of the real server
 * (so the shared server is never stopped): unreachable at start, gone mid-traffic, stalled. Requests get
 * typed errors within core's storeTimeout (800 ms here), never hang, and the store recovers by itself.
 */
import { expect, test } from '@jest/globals';
import type { SessionStore } from '@sess/core';
import { failureApp as app, serve, timed, until200, viaProxy } from './http';
import { startProxy } from './proxy';

export interface ProxyFailureOptions {
  /** The real server's URL (from test/services). */
  url: string;
  /** Its default port, when the URL has none. */
  defaultPort: number;
  /** A store that owns its client, connected to `url` (the proxy's). */
  make: (url: string) => SessionStore & { close(): Promise<void> };
}

export function proxyFailureTests({ url, defaultPort, make }: ProxyFailureOptions): void {
  /** A proxy to the real server, listening (or not, with `down`). */
  const target = (down = false) => {
    const u = new URL(url);
    return startProxy(u.hostname, Number(u.port || defaultPort), down);
  };

  test('down at start, then up: 503 within the store timeout, then it works without a restart', async () => {
    const proxy = await target(true);
    const store = make(viaProxy(url, proxy));
    const srv = await serve(app(store));
    const down = await timed(srv.url + '/login');
    expect(down.status).toBe(503);
    expect(['SESS_STORE', 'SESS_STORE_TIMEOUT']).toContain(down.body);
    expect(down.ms).toBeLessThan(2000);
    await proxy.up();
    const ok = await until200(srv.url + '/login');
    expect(ok.status).toBe(200);
    expect((await timed(srv.url + '/me', ok.cookie)).body).toBe('ann');
    await srv.close();
    await store.close();
    await proxy.close();
  }, 60_000);

  test('gone mid-traffic, then back: typed errors meanwhile, the same sessions work again after', async () => {
    const proxy = await target();
    const store = make(viaProxy(url, proxy));
    const srv = await serve(app(store));
    const login = await timed(srv.url + '/login');
    expect(login.status).toBe(200);
    await proxy.down();
    const during = await Promise.all(Array.from({ length: 5 }, () => timed(srv.url + '/me', login.cookie)));
    for (const r of during) {
      expect(r.status).toBe(503);
      expect(['SESS_STORE', 'SESS_STORE_TIMEOUT']).toContain(r.body);
      expect(r.ms).toBeLessThan(2000);
    }
    await proxy.up();
    const after = await until200(srv.url + '/me', login.cookie);
    expect(after.body).toBe('ann');
    await srv.close();
    await store.close();
    await proxy.close();
  }, 60_000);

  test('stalled connection (the server answers nothing): StoreTimeoutError in time, then recovery', async () => {
    const proxy = await target();
    const store = make(viaProxy(url, proxy));
    const srv = await serve(app(store));
    const login = await timed(srv.url + '/login');
    proxy.stall();
    const stalled = await timed(srv.url + '/me', login.cookie);
    expect(stalled.status).toBe(503);
    expect(stalled.body).toBe('SESS_STORE_TIMEOUT');
    expect(stalled.ms).toBeLessThan(2000);
    proxy.resume();
    expect((await until200(srv.url + '/me', login.cookie)).body).toBe('ann');
    await srv.close();
    await store.close();
    await proxy.close();
  }, 60_000);
}

/**
 * The slow-server case: a session written, then `hold` makes the backend block the session's rows (a lock
 * held by another connection) and resolves how to let go. A request on `path` (which needs those rows) gets
 * a StoreTimeoutError within storeTimeout; after the release the same session works again.
 */
export async function blockedBackendTest(store: SessionStore & { close(): Promise<void> }, path: string, hold: () => Promise<() => Promise<void>>): Promise<void> {
  const srv = await serve(app(store));
  const login = await timed(srv.url + '/login');
  expect(login.status).toBe(200);
  const release = await hold();
  const slow = await timed(srv.url + path, login.cookie);
  expect(slow.status).toBe(503);
  expect(slow.body).toBe('SESS_STORE_TIMEOUT');
  expect(slow.ms).toBeLessThan(2000);
  await release();
  expect((await until200(srv.url + '/me', login.cookie)).body).toBe('ann');
  await srv.close();
  await store.close();
}
