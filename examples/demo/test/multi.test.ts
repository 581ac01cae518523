/**
 * Three demo processes behind a round-robin proxy, sharing one store (guide §10): a user's session moves
 * across all three without loss. Run on every shared store; the file store shares sessions only between
 * processes of one machine (one folder), which the README documents.
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startDemo } from './helpers';
import { serviceTest } from '../../../packages/conformance/test/services';

type Demo = Awaited<ReturnType<typeof startDemo>>;

/** A round-robin HTTP proxy to `backends`. */
async function roundRobin(backends: string[]) {
  let next = 0;
  const server = http.createServer((req, res) => {
    const target = new URL(req.url!, backends[next++ % backends.length]);
    const up = http.request(target, { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode!, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** A tiny browser: one cookie jar, no automatic redirects. */
function client(base: string) {
  let cookie = '';
  return {
    async go(path: string, form?: Record<string, string>) {
      const res = await fetch(base + path, {
        method: form ? 'POST' : 'GET',
        headers: { ...(cookie ? { cookie } : {}), ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}), 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0' },
        body: form ? new URLSearchParams(form).toString() : undefined,
        redirect: 'manual',
      });
      const set = res.headers.getSetCookie().find((c) => c.startsWith('sid='));
      if (set) cookie = set.split(';')[0]!;
      return { status: res.status, instance: res.headers.get('x-demo-instance'), location: res.headers.get('location'), body: await res.text() };
    },
  };
}

const token = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)![1]!;

const stores = [
  ['redis', 'redis'],
  ['pg', 'pg'],
  ['mysql', 'mysql'],
  ['mongo', 'mongo'],
] as const;

for (const [store, service] of stores) {
  describe(`three instances on ${store}`, () => {
    const svc = serviceTest(service);
    if (!svc.available) {
      svc.missing(`multi-instance demo on ${store}`);
      return;
    }
    const demos: Demo[] = [];
    let proxy: Awaited<ReturnType<typeof roundRobin>>;
    afterAll(async () => {
      await proxy?.close();
      await Promise.all(demos.map((d) => d.stop()));
    });

    test('login and cart state follow the user across all three instances', async () => {
      for (const n of ['1', '2', '3']) demos.push(await startDemo({ SESS_DEMO_STORE: store, SESS_DEMO_INSTANCE: n }));
      proxy = await roundRobin(demos.map((d) => d.url));
      const c = client(proxy.url);
      const seen = new Set<string>();
      const login = await c.go('/login');
      seen.add(login.instance!);
      const posted = await c.go('/login', { _csrf: token(login.body), username: 'alice', password: 'wonderland', next: '/account' });
      seen.add(posted.instance!);
      expect(posted.location).toBe('/account');
      let cart = 0;
      for (let i = 0; i < 6; i++) {
        const page = await c.go('/cart');
        seen.add(page.instance!);
        expect(page.body).toContain('Alice');
        const add = await c.go('/cart/add', { _csrf: token(page.body), id: 'tea' });
        seen.add(add.instance!);
        expect(add.status).toBe(302);
        cart++;
      }
      const final = await c.go('/cart');
      expect(final.body).toContain(`× ${cart}`);
      // Every instance served this user, and every one sees the same session.
      expect([...seen].sort()).toEqual(['1', '2', '3']);
      for (let i = 0; i < 3; i++) {
        const acc = await c.go('/account');
        expect(acc.status).toBe(200);
        expect(acc.body).toContain('Role: <b>admin</b>');
      }
    }, 90_000);
  });
}
