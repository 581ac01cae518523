/**
 * OpenTelemetry for sess: spans and metrics from @sess/core's `sess:request` and `sess:store` tracing
 * channels (`node:diagnostics_channel`). Nothing in core is patched; without this package (or any other
 * subscriber) core publishes nothing.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { tracingChannel } from 'node:diagnostics_channel';
import { SpanKind, SpanStatusCode, context, metrics, trace } from '@opentelemetry/api';
import type { Attributes, Context, Counter, Histogram, Meter, MeterProvider, Span, Tracer, TracerProvider } from '@opentelemetry/api';

/** The instrumentation scope's name (and the tracer's and meter's). */
export const INSTRUMENTATION_NAME = '@sess/opentelemetry';
/** This package's version, the instrumentation scope's version. */
export const VERSION: string = (require('../package.json') as { version: string }).version;

/** What `sess:store` publishes (see @sess/core's `StoreOperationContext`). */
export interface StoreOperationContext {
  operation: string;
  store: string;
  idTag?: string;
  result?: unknown;
  error?: { code?: string; name?: string; message?: string };
}

/** What `sess:request` publishes (see @sess/core's `RequestContext`). */
export interface RequestContext {
  store: string;
  outcome?: string;
  found?: boolean;
  error?: { code?: string; name?: string; message?: string };
}

/**
 * The database system of the store classes sess and the express-session ecosystem ship, as OpenTelemetry's
 * `db.system.name` values. A store not listed has none (give it with the `dbSystem` option).
 */
export const DB_SYSTEMS: Readonly<Record<string, string>> = Object.freeze({
  RedisStore: 'redis', // @sess/store-redis, connect-redis
  RedisSessionStore: 'redis',
  PgStore: 'postgresql', // @sess/store-pg
  PGStore: 'postgresql', // connect-pg-simple
  PostgresStore: 'postgresql',
  MySQLStore: 'mysql', // @sess/store-mysql, express-mysql-session
  MongoStore: 'mongodb', // @sess/store-mongo, connect-mongo
  MongoDBStore: 'mongodb', // connect-mongodb-session
  MemcachedStore: 'memcached', // connect-memcached
  DynamoDBStore: 'aws.dynamodb',
  FirestoreStore: 'gcp.firestore',
  SequelizeStore: 'other_sql',
});

export interface SessInstrumentationConfig {
  /** Where spans go (default: the global tracer provider). */
  tracerProvider?: TracerProvider;
  /** Where metrics go (default: the global meter provider). */
  meterProvider?: MeterProvider;
  /** A span per request's session work, `sess.request` (default true). */
  requestSpans?: boolean;
  /** A span per store operation, `sess.<operation>` (default true). */
  storeSpans?: boolean;
  /** The `db.system.name` of your own store classes, by class name (added to `DB_SYSTEMS`), or a function. */
  dbSystem?: Record<string, string> | ((store: string) => string | undefined);
}

interface Handlers<C extends object> {
  start(ctx: C): void;
  end(ctx: C): void;
  asyncStart(ctx: C): void;
  asyncEnd(ctx: C): void;
  error(ctx: C): void;
}

interface Traced {
  started: number;
  span?: Span;
  context?: Context;
}

const noop = () => undefined;

/** The AsyncLocalStorage behind the global OpenTelemetry context manager, when it has one (the Node SDK's). */
function contextManagerStorage(): AsyncLocalStorage<Context> | undefined {
  const manager = (context as unknown as { _getContextManager?: () => unknown })._getContextManager?.();
  const storage = (manager as { _asyncLocalStorage?: unknown } | undefined)?._asyncLocalStorage;
  return storage instanceof AsyncLocalStorage ? (storage as AsyncLocalStorage<Context>) : undefined;
}

/**
 * Subscribes to `sess:request` and `sess:store` and turns them into spans and metrics:
 *
 * Spans: `sess.request` (the session work of one request: load to the end of its store write; attribute
 * `sess.outcome`), and `sess.<operation>` per store operation (`sess.get`, `sess.set`, `sess.lock`, …) with the
 * database semantic conventions (`db.system.name`, `db.operation.name`) and `sess.store`, `sess.id_tag`. A store
 * operation's parent is the request's span, or the span active where it was called; with the Node SDK's context
 * manager the store operation's span is also the active context, so a database driver's own spans nest under it.
 *
 * Metrics: `sess.sessions.created|loaded|missed|destroyed` (counters), `sess.requests` (by `sess.outcome`),
 * `sess.store.operation.duration` (histogram, seconds), `sess.store.errors` (by `error.type`), and
 * `sess.lock.wait.duration` (histogram, seconds).
 */
export class SessInstrumentation {
  private readonly config: SessInstrumentationConfig;
  private tracer!: Tracer;
  private instruments!: ReturnType<typeof makeInstruments>;
  private readonly traced = new WeakMap<object, Traced>();
  /** The session's own context, for parenting its store operations when the context manager's is not reachable. */
  private readonly active = new AsyncLocalStorage<Context>();
  private boundStorage: AsyncLocalStorage<Context> | undefined;
  private enabled = false;
  private readonly requestHandlers: Handlers<RequestContext>;
  private readonly storeHandlers: Handlers<StoreOperationContext>;

  constructor(config: SessInstrumentationConfig = {}) {
    this.config = { requestSpans: true, storeSpans: true, ...config };
    this.requestHandlers = {
      start: (ctx) => this.begin(ctx, 'request'),
      end: noop,
      asyncStart: noop,
      error: noop,
      asyncEnd: (ctx) => this.requestEnded(ctx),
    };
    this.storeHandlers = {
      start: (ctx) => this.begin(ctx, 'store'),
      end: noop,
      asyncStart: noop,
      error: noop,
      asyncEnd: (ctx) => this.storeEnded(ctx),
    };
  }

  /** The tracer and meter providers (re)read, handlers subscribed. Called by `instrumentSess`. */
  enable(): this {
    if (this.enabled) return this;
    this.enabled = true;
    const { tracerProvider, meterProvider } = this.config;
    this.tracer = (tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_NAME, VERSION);
    this.instruments = makeInstruments((meterProvider ?? metrics.getMeterProvider()).getMeter(INSTRUMENTATION_NAME, VERSION));
    const request = tracingChannel<Context, RequestContext>('sess:request');
    const store = tracingChannel<Context, StoreOperationContext>('sess:store');
    request.subscribe(this.requestHandlers);
    store.subscribe(this.storeHandlers);
    const transformRequest = (ctx: RequestContext) => this.begin(ctx, 'request').context!;
    const transformStore = (ctx: StoreOperationContext) => this.begin(ctx, 'store').context!;
    // The context manager's own storage when it is reachable (the Node SDK's): the session's spans are then the
    // active context of the work under them. Otherwise a storage of ours, so they still nest among themselves.
    this.boundStorage = contextManagerStorage() ?? this.active;
    request.start.bindStore(this.boundStorage, transformRequest);
    store.start.bindStore(this.boundStorage, transformStore);
    return this;
  }

  /** Unsubscribe: core goes back to publishing nothing (if nobody else listens). */
  disable(): this {
    if (!this.enabled) return this;
    this.enabled = false;
    const request = tracingChannel<Context, RequestContext>('sess:request');
    const store = tracingChannel<Context, StoreOperationContext>('sess:store');
    request.unsubscribe(this.requestHandlers);
    store.unsubscribe(this.storeHandlers);
    if (this.boundStorage) {
      request.start.unbindStore(this.boundStorage);
      store.start.unbindStore(this.boundStorage);
      this.boundStorage = undefined;
    }
    return this;
  }

  get isEnabled(): boolean {
    return this.enabled;
  }

  /** The `db.system.name` of a store class, if known. */
  dbSystemOf(store: string): string | undefined {
    const own = this.config.dbSystem;
    const mine = typeof own === 'function' ? own(store) : own?.[store];
    return mine ?? DB_SYSTEMS[store];
  }

  /**
   * The state of a traced context, made on its first event: the bound-store transforms (run first, in the
   * caller's context) and the `start` handler share it.
   */
  private begin(ctx: RequestContext | StoreOperationContext, kind: 'request' | 'store'): Traced {
    let t = this.traced.get(ctx);
    if (t) return t;
    const parent = (this.boundStorage === this.active ? this.active.getStore() : undefined) ?? context.active();
    t = { started: performance.now(), context: parent };
    if (kind === 'request' ? this.config.requestSpans : this.config.storeSpans) {
      t.span = kind === 'request' ? this.requestSpan(ctx as RequestContext, parent) : this.storeSpan(ctx as StoreOperationContext, parent);
      t.context = trace.setSpan(parent, t.span);
    }
    this.traced.set(ctx, t);
    return t;
  }

  private requestSpan(ctx: RequestContext, parent: Context): Span {
    return this.tracer.startSpan('sess.request', { kind: SpanKind.INTERNAL, attributes: { 'sess.store': ctx.store } }, parent);
  }

  private storeSpan(ctx: StoreOperationContext, parent: Context): Span {
    const attributes: Attributes = { 'db.operation.name': ctx.operation, 'sess.store': ctx.store };
    const system = this.dbSystemOf(ctx.store);
    if (system) attributes['db.system.name'] = system;
    if (ctx.idTag) attributes['sess.id_tag'] = ctx.idTag;
    return this.tracer.startSpan(`sess.${ctx.operation}`, { kind: system ? SpanKind.CLIENT : SpanKind.INTERNAL, attributes }, parent);
  }

  private requestEnded(ctx: RequestContext): void {
    const t = this.traced.get(ctx);
    const attrs: Attributes = { 'sess.store': ctx.store, 'sess.outcome': ctx.outcome ?? 'unknown' };
    const m = this.instruments;
    m.requests.add(1, attrs);
    const store = { 'sess.store': ctx.store };
    if (ctx.found === true) m.loaded.add(1, store);
    if (ctx.found === false) m.missed.add(1, store);
    if (ctx.outcome === 'created') m.created.add(1, store);
    if (ctx.outcome === 'destroyed') m.destroyed.add(1, store);
    if (t?.span) {
      t.span.setAttribute('sess.outcome', ctx.outcome ?? 'unknown');
      if (ctx.found !== undefined) t.span.setAttribute('sess.found', ctx.found);
      failSpan(t.span, ctx.error);
      t.span.end();
    }
    this.traced.delete(ctx);
  }

  private storeEnded(ctx: StoreOperationContext): void {
    const t = this.traced.get(ctx);
    const seconds = t ? (performance.now() - t.started) / 1000 : 0;
    const attrs: Attributes = { 'db.operation.name': ctx.operation, 'sess.store': ctx.store };
    const system = this.dbSystemOf(ctx.store);
    if (system) attrs['db.system.name'] = system;
    if (ctx.error) attrs['error.type'] = errorType(ctx.error);
    const m = this.instruments;
    m.duration.record(seconds, attrs);
    if (ctx.error) m.errors.add(1, attrs);
    if (ctx.operation === 'lock') m.lockWait.record(seconds, attrs);
    if (t?.span) {
      if (typeof ctx.result === 'boolean') t.span.setAttribute('sess.found', ctx.result);
      else if (ctx.operation === 'get') t.span.setAttribute('sess.found', ctx.result === true);
      if (typeof ctx.result === 'number') t.span.setAttribute('db.response.returned_rows', ctx.result);
      failSpan(t.span, ctx.error);
      t.span.end();
    }
    this.traced.delete(ctx);
  }
}

/** The error's stable type: sess's error code (`SESS_STORE`, `SESS_STORE_TIMEOUT`, …), else its class name. */
function errorType(error: { code?: string; name?: string }): string {
  return typeof error.code === 'string' ? error.code : error.name || 'Error';
}

function failSpan(span: Span, error: RequestContext['error']): void {
  if (!error) return;
  span.setAttribute('error.type', errorType(error));
  // sess's errors never carry a session id in their message (core redacts them).
  span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  span.recordException({ name: error.name ?? 'Error', message: error.message ?? '', ...(error.code ? { code: error.code } : {}) });
}

function makeInstruments(meter: Meter): {
  created: Counter;
  loaded: Counter;
  missed: Counter;
  destroyed: Counter;
  requests: Counter;
  errors: Counter;
  duration: Histogram;
  lockWait: Histogram;
} {
  const counter = (name: string, description: string) => meter.createCounter(name, { description, unit: '{session}' });
  const seconds = { unit: 's', advice: { explicitBucketBoundaries: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] } };
  return {
    created: counter('sess.sessions.created', 'Sessions created and stored'),
    loaded: counter('sess.sessions.loaded', 'Requests whose cookie named a live stored session'),
    missed: counter('sess.sessions.missed', 'Requests whose cookie named a session the store did not have (expired, destroyed, or forged)'),
    destroyed: counter('sess.sessions.destroyed', 'Sessions destroyed (logout, unset: destroy)'),
    requests: meter.createCounter('sess.requests', { description: "Requests by their session work's outcome", unit: '{request}' }),
    errors: meter.createCounter('sess.store.errors', { description: 'Failed store operations, by error.type (the sess error code)', unit: '{error}' }),
    duration: meter.createHistogram('sess.store.operation.duration', { description: 'Duration of store operations', ...seconds }),
    lockWait: meter.createHistogram('sess.lock.wait.duration', { description: "Time to acquire a session's lock (concurrency: 'lock', req.session.lock())", ...seconds }),
  };
}

/** Instrument sess: a `SessInstrumentation`, enabled. Call once, after your OpenTelemetry SDK is set up. */
export function instrumentSess(config?: SessInstrumentationConfig): SessInstrumentation {
  return new SessInstrumentation(config).enable();
}
