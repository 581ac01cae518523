/**
 * The demo's observability, on the running demo (file store): sess's metrics at /metrics in the Prometheus
 * text format, and the store latency of the last requests on the Debug page.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDemo } from './helpers';

let demo: Awaited<ReturnType<typeof startDemo>>;
beforeAll(async () => {
  demo = await startDemo({ SESS_DEMO_STORE: 'file', SESSIONS_DIR: mkdtempSync(path.join(os.tmpdir(), 'sess-demo-obs-')) });
}, 30_000);
afterAll(() => demo?.stop());

/** The value of a Prometheus sample whose name and labels match. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([\w:]+)(\{[^}]*\})? (\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    if (Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}

test('/metrics: sessions created, loaded and missed, store latency, in the Prometheus text format; a scrape makes no session', async () => {
  const first = await fetch(demo.url + '/');
  const cookie = first.headers.get('set-cookie')!.split(';')[0]!;
  await fetch(demo.url + '/', { headers: { cookie } });
  await fetch(demo.url + '/', { headers: { cookie: 'sid=s%3Anot-a-real-session.badsignature' } });
  const res = await fetch(demo.url + '/metrics');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  expect(res.headers.get('set-cookie')).toBeNull();
  const text = await res.text();
  expect(text).toMatch(/# HELP sess_sessions_created_total /);
  expect(text).toMatch(/# TYPE sess_store_operation_duration histogram/);
  expect(text).toMatch(/# UNIT sess_store_operation_duration s/);
  // The first visit and the one with a forged cookie (a new visitor to sess) each made a session.
  expect(sample(text, 'sess_sessions_created_total', { sess_store: 'FileStore' })).toBe(2);
  expect(sample(text, 'sess_sessions_loaded_total')).toBe(1);
  expect(sample(text, 'sess_requests_total', { sess_outcome: 'created' })).toBe(2);
  expect(sample(text, 'sess_requests_total', { sess_outcome: 'saved' })).toBe(1); // the visit counter changed
  expect(sample(text, 'sess_sessions_missed_total')).toBe(0); // a cookie with a bad signature is no session at all
  expect(sample(text, 'sess_store_operation_duration_count', { db_operation_name: 'set' })).toBeGreaterThanOrEqual(1);
  expect(sample(text, 'sess_store_errors_total')).toBe(0);
  expect(text).not.toContain(decodeURIComponent(cookie.slice('sid=s:'.length + 2)).split('.')[0]);
});

test('the Debug page lists the last requests with the latency of their store operations', async () => {
  const first = await fetch(demo.url + '/');
  const cookie = first.headers.get('set-cookie')!.split(';')[0]!;
  const html = await (await fetch(demo.url + '/debug', { headers: { cookie } })).text();
  const table = /<table id="debug-latency">([\s\S]*?)<\/table>/.exec(html)![1]!;
  // The first request created the session (a set); the Debug page's own request is not over yet.
  expect(table).toMatch(/<td>created<\/td><td>set \d+\.\d\d ms<\/td>/);
  const again = await (await fetch(demo.url + '/debug', { headers: { cookie } })).text();
  // The previous Debug request loaded the session and counted nothing: a get and (maybe) a touch.
  expect(again).toMatch(/<td>(touched|loaded)<\/td><td>get \d+\.\d\d ms(, touch \d+\.\d\d ms)?<\/td>/);
});
