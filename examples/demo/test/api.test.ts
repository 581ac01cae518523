/**
 * The demo's Fastify JSON API and its Express site share sessions, as `npm run demo` starts them: log in on the
 * site, and the API knows the user and the cart; a cart change through the API (with the site's CSRF token) shows
 * on the site; logging out through the API ends the session on the site.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDemo } from './helpers';

let demo: Awaited<ReturnType<typeof startDemo>>;
beforeAll(async () => {
  demo = await startDemo({ SESS_DEMO_STORE: 'file', SESSIONS_DIR: mkdtempSync(path.join(os.tmpdir(), 'sess-demo-api-')) });
});
afterAll(async () => {
  await demo?.stop();
});

test('log in on the Express site; the Fastify API reads and changes the same session', async () => {
  let cookie = '';
  const go = async (base: string, p: string, init: { method?: string; form?: Record<string, string>; json?: unknown; headers?: Record<string, string> } = {}) => {
    const res = await fetch(base + p, {
      method: init.method ?? (init.form || init.json ? 'POST' : 'GET'),
      headers: {
        ...(cookie ? { cookie } : {}),
        ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        ...(init.json ? { 'content-type': 'application/json' } : {}),
        ...init.headers,
      },
      body: init.form ? new URLSearchParams(init.form).toString() : init.json ? JSON.stringify(init.json) : undefined,
      redirect: 'manual',
    });
    const set = res.headers.getSetCookie().find((c) => c.startsWith('sid='));
    if (set) cookie = set.split(';')[0]!;
    return { status: res.status, body: await res.text() };
  };
  const login = await go(demo.url, '/login');
  const csrf = /name="_csrf" value="([^"]+)"/.exec(login.body)![1]!;
  expect((await go(demo.url, '/login', { form: { _csrf: csrf, username: 'alice', password: 'wonderland', next: '/account' } })).status).toBe(302);

  expect(JSON.parse((await go(demo.apiUrl, '/me')).body)).toMatchObject({ signedIn: true, name: 'Alice', role: 'admin', served: 'fastify' });
  const token = JSON.parse((await go(demo.url, '/api/me')).body).csrfToken as string;
  expect((await go(demo.apiUrl, '/cart', { json: { id: 'mug' } })).status).toBe(403);
  expect(JSON.parse((await go(demo.apiUrl, '/cart', { json: { id: 'mug' }, headers: { 'x-csrf-token': token } })).body)).toEqual({ mug: 1 });
  expect(JSON.parse((await go(demo.url, '/api/cart')).body).total).toBe(12);

  expect(JSON.parse((await go(demo.apiUrl, '/logout', { method: 'POST', headers: { 'x-csrf-token': token } })).body)).toEqual({ signedIn: false });
  expect(JSON.parse((await go(demo.url, '/api/me')).body)).toMatchObject({ signedIn: false });
});
