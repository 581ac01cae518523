/**
 * @sess/opentelemetry with the OpenTelemetry SDK's in-memory exporters (InMemorySpanExporter, InMemoryMetricExporter), on every store's real server: the
 * spans (names, database semantic conventions, parents), the metrics, errors, and a database driver's context.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { context, trace, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { AggregationTemporality, DataPointType, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type HistogramMetricData, type MetricData } from '@opentelemetry/sdk-metrics';
import session, { MemoryStore, requestChannel, storeChannel, type SessionStore } from '@sess/core';
import { FileStore } from '@sess/store-file';
import { RedisStore } from '@sess/store-redis';
import { PgStore } from '@sess/store-pg';
import { MySQLStore } from '@sess/store-mysql';
import { MongoStore } from '@sess/store-mongo';
import { RedisStore as ConnectRedisStore } from 'connect-redis';
import { createClient } from 'redis';
import Redis from 'ioredis';
// @ts-expect-error pg ships no types (the stores' tests declare them in test/untyped.d.ts)
import pg from 'pg';
import mysql from 'mysql2/promise';
import { MongoClient } from 'mongodb';
import { instrumentSess, type SessInstrumentation } from '@sess/opentelemetry';
import { serviceTest, urls } from '../../conformance/test/services';
import { client, listen } from '../../core/test/helpers';


const contextManager = new AsyncLocalStorageContextManager();
context.setGlobalContextManager(contextManager);
const exporter = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = tracerProvider.getTracer('test-app');

const tmp = mkdtempSync(path.join(os.tmpdir(), 'sess-otel-'));
const ns = `otel${process.pid}`;
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
  context.disable();
});

const closers: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  exporter.reset();
});

/** A meter provider read on demand, and the instrumentation writing to it and to the tracer provider. */
/** The SDK's in-memory metric exporter behind a periodic reader, flushed on demand. */
interface Reader {
  reader: PeriodicExportingMetricReader;
  exporter: InMemoryMetricExporter;
}

function instrument(extra: Parameters<typeof instrumentSess>[0] = {}): { reader: Reader; inst: SessInstrumentation } {
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = { reader: new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 }), exporter: metricExporter };
  const meterProvider = new MeterProvider({ readers: [reader.reader] });
  const inst = instrumentSess({ tracerProvider, meterProvider, ...extra });
  closers.push(() => inst.disable(), () => meterProvider.shutdown());
  return { reader, inst };
}

async function collect({ reader, exporter }: Reader): Promise<MetricData[]> {
  exporter.reset();
  await reader.forceFlush();
  const exported = exporter.getMetrics();
  return exported.at(-1)?.scopeMetrics.flatMap((s) => s.metrics) ?? [];
}

/** The sum of a counter's points whose attributes include `where`. */
function total(ms: MetricData[], name: string, where: Record<string, unknown> = {}): number {
  const m = ms.find((x) => x.descriptor.name === name);
  if (!m) return 0;
  return (m.dataPoints as Array<{ value: unknown; attributes: Record<string, unknown> }>)
    .filter((p) => Object.entries(where).every(([k, v]) => p.attributes[k] === v))
    .reduce((n, p) => n + (typeof p.value === 'number' ? p.value : (p.value as { count: number }).count), 0);
}

/** An app whose every request runs in an HTTP server span, as an HTTP instrumentation makes it. */
async function app(store: object, opts: Record<string, unknown> = {}) {
  const a = express();
  a.use((req, res, next) => {
    tracer.startActiveSpan(`GET ${req.path}`, (span: Span) => {
      res.on('finish', () => span.end());
      next();
    });
  });
  a.use(session({ secret: 's', resave: false, saveUninitialized: false, store: store as never, cookie: { maxAge: 60_000 }, ...opts }));
  const data = (req: express.Request) => req.session as unknown as Record<string, unknown> | undefined;
  a.get('/login', (req, res) => {
    data(req)!.user = 'ann';
    res.send('in');
  });
  a.get('/me', (req, res) => res.send(String(data(req)?.user)));
  a.get('/lock', async (req, res) => {
    await req.session.lock();
    data(req)!.n = Number(data(req)!.n ?? 0) + 1;
    res.send('locked');
  });
  a.get('/logout', (req, res, next) => req.session.destroy((err) => (err ? next(err) : res.send('out'))));
  a.use(((err, _req, res, _next) => res.status(err.status ?? 500).send(err.code)) as express.ErrorRequestHandler);
  const srv = await listen(a);
  closers.push(srv.close);
  return client(srv.url);
}

const byId = (spans: ReadableSpan[]) => new Map(spans.map((s) => [s.spanContext().spanId, s]));
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;
const named = (spans: ReadableSpan[], name: string) => spans.filter((s) => s.name === name);

interface Target {
  name: string;
  system?: string;
  service?: 'redis' | 'pg' | 'mysql' | 'mongo';
  make(): Promise<{ store: SessionStore | object; close(): Promise<void> }>;
}

const targets: Target[] = [
  { name: 'MemoryStore', make: async () => ({ store: new MemoryStore(), close: async () => undefined }) },
  { name: 'FileStore', make: async () => ({ store: new FileStore({ dir: path.join(tmp, 'files'), reapInterval: 0 }), close: async () => undefined }) },
  {
    name: 'RedisStore',
    system: 'redis',
    service: 'redis',
    make: async () => {
      const store = new RedisStore({ url: urls.redis, prefix: `${ns}:` });
      return { store, close: () => store.close() };
    },
  },
  {
    name: 'PgStore',
    system: 'postgresql',
    service: 'pg',
    make: async () => {
      const store = new PgStore({ connectionString: urls.pg, tableName: `${ns}_pg`, createTableIfMissing: true, pruneSessionInterval: false });
      return {
        store,
        async close() {
          await store.close();
          const pool = new pg.Pool({ connectionString: urls.pg });
          await pool.query(`drop table if exists "${ns}_pg"`);
          await pool.end();
        },
      };
    },
  },
  {
    name: 'MySQLStore',
    system: 'mysql',
    service: 'mysql',
    make: async () => {
      const store = new MySQLStore({ uri: urls.mysql, schema: { tableName: `${ns}_mysql` }, pruneSessionInterval: false });
      return {
        store,
        async close() {
          await store.close();
          const conn = await mysql.createConnection(urls.mysql);
          await conn.query(`drop table if exists \`${ns}_mysql\``);
          await conn.end();
        },
      };
    },
  },
  {
    name: 'MongoStore',
    system: 'mongodb',
    service: 'mongo',
    make: async () => {
      const store = new MongoStore({ url: urls.mongo, collectionName: `${ns}_mongo`, errorLog: () => undefined });
      return {
        store,
        async close() {
          await store.close();
          const c = await MongoClient.connect(urls.mongo);
          await c.db().collection(`${ns}_mongo`).drop().catch(() => undefined);
          await c.close();
        },
      };
    },
  },
  {
    // An express-session store through core's adapter, named by its own class.
    name: 'RedisStore',
    system: 'redis',
    service: 'redis',
    make: async () => {
      const redis = createClient({ url: urls.redis });
      await redis.connect();
      const store = new ConnectRedisStore({ client: redis, prefix: `${ns}cr:` });
      return { store, close: async () => void (await redis.quit()) };
    },
  },
];

for (const [i, t] of targets.entries()) {
  const label = i === targets.length - 1 ? 'connect-redis (express-session store)' : t.name;
  describe(label, () => {
    const svc = t.service ? serviceTest(t.service) : { available: true, missing: () => undefined };
    if (!svc.available) {
      svc.missing(`OpenTelemetry spans and metrics on ${label}`);
      return;
    }

    test('spans: sess.request under the HTTP span, store operations under it, with the database conventions', async () => {
      const { reader } = instrument();
      const made = await t.make();
      closers.push(() => made.close());
      const c = await app(made.store);
      expect((await c.get('/login')).body).toBe('in');
      expect((await c.get('/me')).body).toBe('ann');
      const jar = c.jar!;
      expect((await c.get('/logout')).body).toBe('out');
      expect((await c.get('/me', { cookie: jar })).body).toBe('undefined');

      const spans = exporter.getFinishedSpans();
      const ids = byId(spans);
      const requests = named(spans, 'sess.request');
      // An unchanged session is touched, unless the store keeps whole seconds and the expiry would not move.
      const touched = requests[1]?.attributes['sess.outcome'] === 'touched';
      expect(requests.map((s) => s.attributes['sess.outcome'])).toEqual(['created', touched ? 'touched' : 'loaded', 'destroyed', 'missed']);
      for (const r of requests) {
        expect(ids.get(parentOf(r)!)?.name).toMatch(/^GET \//); // the HTTP span is the parent
        expect(r.attributes['sess.store']).toBe(t.name);
      }
      const storeSpans = spans.filter((s) => s.name.startsWith('sess.') && s.name !== 'sess.request');
      expect(storeSpans.map((s) => s.name)).toEqual(['sess.set', 'sess.get', ...(touched ? ['sess.touch'] : []), 'sess.get', 'sess.destroy', 'sess.get']);
      for (const s of storeSpans) {
        expect(s.attributes['db.operation.name']).toBe(s.name.slice('sess.'.length));
        expect(s.attributes['db.system.name']).toBe(t.system);
        expect(s.attributes['sess.store']).toBe(t.name);
        expect(s.attributes['sess.id_tag']).toMatch(/^[\w-]{6,}$/);
        // The load and the end-of-response write are children of the request's session span; an operation the
        // app calls (req.session.destroy()) is a child of the span active where it is called.
        expect(ids.get(parentOf(s)!)?.name).toBe(s.name === 'sess.destroy' ? 'GET /logout' : 'sess.request');
      }
      // No session id and no session data on any span.
      const sid = decodeURIComponent(jar.slice('connect.sid='.length)).slice(2).split('.')[0]!;
      expect(JSON.stringify(spans.map((s) => [s.name, s.attributes, s.events]))).not.toContain(sid);
      expect(JSON.stringify(spans.map((s) => s.attributes))).not.toContain('ann');

      const ms = await collect(reader);
      expect(total(ms, 'sess.sessions.created')).toBe(1);
      expect(total(ms, 'sess.sessions.loaded')).toBe(2);
      expect(total(ms, 'sess.sessions.missed')).toBe(1);
      expect(total(ms, 'sess.sessions.destroyed')).toBe(1);
      expect(total(ms, 'sess.requests', { 'sess.outcome': touched ? 'touched' : 'loaded' })).toBe(1);
      expect(total(ms, 'sess.store.operation.duration', { 'db.operation.name': 'get' })).toBe(3);
      if (t.system) expect(total(ms, 'sess.store.operation.duration', { 'db.system.name': t.system })).toBe(storeSpans.length);
      const duration = ms.find((m) => m.descriptor.name === 'sess.store.operation.duration') as HistogramMetricData;
      expect(duration.dataPointType).toBe(DataPointType.HISTOGRAM);
      expect(duration.descriptor.unit).toBe('s');
      expect(total(ms, 'sess.store.errors')).toBe(0);
    });

    if (t.name !== 'RedisStore' || t.system === 'redis') {
      test("the store's own work runs in the store operation's span (a driver's spans nest under it)", async () => {
        instrument();
        const made = await t.make();
        closers.push(() => made.close());
        const store = made.store as { get: (...a: unknown[]) => unknown };
        const seen: Array<string | undefined> = [];
        const original = store.get;
        // A method replaced on the instance, as a driver instrumentation sees the call.
        store.get = function (this: unknown, ...args: unknown[]) {
          seen.push((trace.getActiveSpan() as unknown as ReadableSpan | undefined)?.name);
          return original.apply(this, args);
        };
        const c = await app(made.store);
        await c.get('/login');
        await c.get('/me');
        expect(seen).toEqual(['sess.get']);
      });
    }

    if (i < targets.length - 1) {
      test('lock wait time: sess.lock spans and the sess.lock.wait.duration histogram', async () => {
        const { reader } = instrument();
        const made = await t.make();
        closers.push(() => made.close());
        const c = await app(made.store);
        await c.get('/login');
        await Promise.all([c.get('/lock'), c.get('/lock'), c.get('/lock')]);
        const spans = exporter.getFinishedSpans();
        expect(named(spans, 'sess.lock')).toHaveLength(3);
        expect(named(spans, 'sess.unlock')).toHaveLength(3);
        const ms = await collect(reader);
        expect(total(ms, 'sess.lock.wait.duration')).toBe(3);
      });
    }
  });
}

describe('failures', () => {
  test('an unreachable Redis: store errors by type, failed requests, spans with the error status', async () => {
    const { reader } = instrument();
    const redis = new Redis({ port: 1, host: '127.0.0.1', maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, lazyConnect: true });
    redis.on('error', () => undefined);
    closers.push(() => redis.disconnect());
    const store = new RedisStore({ client: redis, prefix: `${ns}:` });
    const c = await app(store, { storeTimeout: 2000, saveBeforeSend: true });
    const r = await c.get('/login');
    expect(r.status).toBe(503);
    const spans = exporter.getFinishedSpans();
    const failed = named(spans, 'sess.set')[0]!;
    expect(failed.status.code).toBe(2); // SpanStatusCode.ERROR
    expect(failed.attributes['error.type']).toMatch(/^SESS_STORE/);
    expect(named(spans, 'sess.request')[0]!.attributes['sess.outcome']).toBe('failed');
    const ms = await collect(reader);
    expect(total(ms, 'sess.store.errors', { 'db.operation.name': 'set' })).toBe(1);
    expect(total(ms, 'sess.requests', { 'sess.outcome': 'failed' })).toBe(1);
  });
});

describe('enable and disable', () => {
  beforeAll(() => expect(storeChannel.hasSubscribers || requestChannel.hasSubscribers).toBe(false));

  test('disable() unsubscribes: core publishes nothing again, and no span is made', async () => {
    const { inst } = instrument();
    expect(storeChannel.hasSubscribers && requestChannel.hasSubscribers).toBe(true);
    inst.disable();
    expect(storeChannel.hasSubscribers || requestChannel.hasSubscribers).toBe(false);
    const c = await app(new MemoryStore());
    await c.get('/login');
    expect(exporter.getFinishedSpans().filter((s) => s.name.startsWith('sess.'))).toEqual([]);
    inst.enable();
    await c.get('/me');
    expect(named(exporter.getFinishedSpans(), 'sess.request')).toHaveLength(1);
  });

  test('requestSpans and storeSpans off: metrics only; dbSystem names your own store', async () => {
    class TokyoStore extends MemoryStore {}
    const { reader } = instrument({ requestSpans: false, storeSpans: false, dbSystem: { TokyoStore: 'tokyocabinet' } });
    const c = await app(new TokyoStore());
    await c.get('/login');
    expect(exporter.getFinishedSpans().filter((s) => s.name.startsWith('sess.'))).toEqual([]);
    const ms = await collect(reader);
    expect(total(ms, 'sess.sessions.created', { 'sess.store': 'TokyoStore' })).toBe(1);
    expect(total(ms, 'sess.store.operation.duration', { 'db.system.name': 'tokyocabinet' })).toBe(1);
  });
});
