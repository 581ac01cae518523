/**
 * The behaviour suite of @sess/conformance (`describeBinding`), written once, run against every binding of the
 * session engine: Express 5 and 4 (@sess/core's `session()`), Fastify (@sess/fastify), Koa (@sess/koa) and Hono
 * (@sess/hono), each on its real framework over HTTP. Each must behave as the engine does when driven with no
 * framework at all.
 */
import { describeBinding } from '@sess/conformance/jest';
import type { SessionOptions } from '@sess/core';
import { type Framework, startApp } from './apps';

const capabilities: Record<Framework, { unset?: boolean; writesBeforeResponse?: boolean }> = {
  express5: { unset: true },
  express4: { unset: true },
  // request.session = null, as on Express.
  fastify: { unset: true, writesBeforeResponse: true },
  // koa-session's ctx.session = null destroys the session whatever `unset` says: not the unset option's behaviour.
  koa: { writesBeforeResponse: true },
  // The app cannot unset the session (c.set does not reach the engine).
  hono: { writesBeforeResponse: true },
};

for (const f of ['express5', 'express4', 'fastify', 'koa', 'hono'] as const) {
  describeBinding(f, (options: SessionOptions) => startApp(f, options), capabilities[f]);
}
