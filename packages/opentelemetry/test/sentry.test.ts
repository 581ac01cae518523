/**
 * Sentry: docs/observability.md's recipe (a plain subscriber of sess's tracing channels making Sentry spans),
 * with the real @sentry/node in a plain Node process (Sentry's module hooks do not run inside Jest's
 * sandbox) and a transport that keeps the envelopes instead of sending them. sess.request is a child of the
 * HTTP server span Sentry's own http integration makes; the store operations are children of sess.request.
 */
import { expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

interface SentrySpan {
  name: string;
  span_id: string;
  parent_span_id?: string;
  attributes: Record<string, { value: unknown }>;
}

test("sess's spans are in Sentry's trace: sess.request under the HTTP server span, store operations under it", () => {
  const r = spawnSync(process.execPath, [path.join(__dirname, 'fixtures', 'sentry-app.mjs')], { encoding: 'utf8', timeout: 30_000, cwd: path.join(__dirname, '..') });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const out = JSON.parse(r.stdout) as { status: number; raw: string; spans: SentrySpan[] };
  expect(out.status).toBe(200);
  const byName = (n: string) => out.spans.find((s) => s.name === n)!;
  const server = out.spans.find((s) => s.attributes['sentry.op']?.value === 'http.server')!;
  const request = byName('sess.request');
  const set = byName('sess.set');
  expect(request.parent_span_id).toBe(server.span_id);
  expect(request.attributes['sess.outcome']?.value).toBe('created');
  expect(set.parent_span_id).toBe(request.span_id);
  expect(set.attributes['sess.store']?.value).toBe('MemoryStore');
  expect(out.raw).not.toContain('ann');
});
