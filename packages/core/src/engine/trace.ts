/**
 * `sess:request`: the tracing channel of one request's session work, and the per-request tracer the engine
 * drives. Only built while the channel has subscribers.
 */
import { AsyncResource } from 'node:async_hooks';
import { tracingChannel } from 'node:diagnostics_channel';
import { BadDataError, SessError } from '../errors.js';

/**
 * How one request's session work ended, on `sess:request`'s `asyncEnd`:
 * - `created`: a new session was stored (no cookie, an unknown one, or `regenerate()`);
 * - `saved`: the loaded session was written (changed, `resave`, rotated);
 * - `touched`: the loaded session's expiry was refreshed in the store;
 * - `loaded`: the loaded session needed no write (unchanged, touch throttled by `touchAfter`);
 * - `missed`: the cookie named a session the store did not have (or expired), and no new one was stored;
 * - `unchanged`: no cookie, and the new session was not stored (`saveUninitialized: false`): no store write;
 * - `destroyed`: the session was destroyed (`destroy()`, `unset: 'destroy'`);
 * - `failed`: a store operation or the session's encoding failed (`error` says why).
 */
export type RequestOutcome = 'created' | 'loaded' | 'missed' | 'saved' | 'touched' | 'unchanged' | 'destroyed' | 'failed';

/**
 * The context of a `sess:request` tracing channel event: the session work of one request. A stable API (see
 * docs/observability.md): fields are only ever added.
 */
export interface RequestContext {
  /** The store's class name, as on `sess:store`. */
  store: string;
  /** On `asyncEnd`: how the request's session work ended. */
  outcome?: RequestOutcome;
  /** On `asyncEnd`: true if the cookie's session was loaded, false if the store did not have it, absent without a cookie. */
  found?: boolean;
  /** The typed error, on `error` (and kept on `asyncEnd`) for the `failed` outcome. */
  error?: SessError;
}

/**
 * `sess:request`, a `node:diagnostics_channel` TracingChannel: the session work of one request, from the
 * cookie read and load to the end of the store write at the end of the response. `start` is published in the
 * request's async context with `runStores` (a span made active there is the parent of the `sess:store`
 * operations of the load and of the end-of-response write; the app's own handlers run in the request's
 * context, not in it); `end` when the load has started; `error` (on `failed`), `asyncStart` and `asyncEnd`
 * with the `outcome` when the store write ends (or the response closes without one). With no subscriber the
 * cost is one `hasSubscribers` check per request.
 */
export const requestChannel = tracingChannel<string, RequestContext>('sess:request');

/**
 * A function running its argument in the async context current when it was made. An AsyncResource's
 * `runInAsyncScope`, not `AsyncResource.bind` (which builds a deprecation wrapper on every call).
 */
function inThisContext(): (fn: () => void) => void {
  const resource = new AsyncResource('sess:request');
  return (fn) => resource.runInAsyncScope(fn);
}

/** A traced request's state and events. */
export class RequestTrace {
  readonly ctx: RequestContext;
  /** Runs a function in the request's own async context (where the app's handlers go on). */
  readonly outer: (fn: () => void) => void;
  /** Runs a function in the context `start` gave (the end-of-response store write). */
  inner: (fn: () => void) => void;
  /** The id of the session loaded (or, after a rotation, its new id). */
  loadedId?: string;
  wrote?: 'created' | 'saved' | 'touched' | 'destroyed';
  /** The end-of-response write began: the trace ends when it does. */
  ending = false;
  /** What made the load fail (the request went on without a session, or to the error handler). */
  failure?: unknown;
  /** `end` was published: the outcome can be (until then it waits, so the events keep their order). */
  private begun = false;
  private finished = false;

  constructor(store: string) {
    this.ctx = { store };
    this.outer = inThisContext();
    this.inner = this.outer;
  }

  /** Publish `start`, run `begin` in its context, publish `end`. */
  run(begin: () => void): void {
    requestChannel.start.runStores(this.ctx, () => {
      this.inner = inThisContext();
      begin();
    });
    this.begun = true;
    requestChannel.end.publish(this.ctx);
    // A request answered synchronously (no cookie, the app ends the response at once) ended before `end`.
    if (this.finished) this.publish();
  }

  /** Publish the end of the request's session work, once: its outcome (and error). */
  end(err: unknown): void {
    if (this.finished) return;
    this.finished = true;
    const { ctx } = this;
    const failure = err ?? this.failure;
    if (failure !== undefined) ctx.error = SessError.isInstance(failure) ? failure : new BadDataError('session could not be loaded or saved', { cause: failure });
    if (ctx.error) ctx.outcome = 'failed';
    else if (this.wrote) ctx.outcome = this.wrote;
    else if (ctx.found === true) ctx.outcome = 'loaded';
    else if (ctx.found === false) ctx.outcome = 'missed';
    else ctx.outcome = 'unchanged';
    if (this.begun) this.publish();
  }

  private publish(): void {
    const { ctx } = this;
    if (ctx.outcome === 'failed') requestChannel.error.publish(ctx);
    requestChannel.asyncStart.publish(ctx);
    requestChannel.asyncEnd.publish(ctx);
  }

  /** Note a successful write of the session with id `id` (undefined: no session left). */
  noteWrite(id: string | undefined, what: 'saved' | 'touched' | 'destroyed'): void {
    this.wrote = what === 'saved' && (id === undefined || id !== this.loadedId) ? 'created' : what;
  }
}
