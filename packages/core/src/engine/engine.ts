/**
 * The session engine: the options, the store (behind the gateway), the events and the per-user helpers of one
 * app's sessions, framework-neutral. A binding (Express's `session()`, `@sess/fastify`, `@sess/koa`,
 * `@sess/hono`) makes one engine and, per request, opens a {@link SessionRequest} on it with a
 * {@link SessionHost} that says how its framework carries the session.
 */
import { EventEmitter } from 'node:events';
import type { CookieOptions } from '../cookie.js';
import type { SessionStore, UserSessionInfo } from '../contract.js';
import { ConfigError } from '../errors.js';
import { StoreGateway } from '../gateway.js';
import type { SessEvent, SessEventName } from '../gateway.js';
import { idTag } from '../ids.js';
import { MemoryStore } from '../memory.js';
import { resolveOptions, validateCookieOptions } from '../options.js';
import type { ResolvedOptions, SessionOptions } from '../options.js';
import type { VerifiedCookie } from '../signature.js';
import { fromCallbackStore } from '../store.js';
import type { CallbackStore } from '../store.js';
import { SessionRequest } from './request.js';
import type { SessionHost } from './state.js';

const MEMORY_WARNING =
  'Warning: sess MemoryStore is not designed for a production environment: sessions live in this process only, ' +
  'are lost on restart and are not shared between processes. Use a shared store such as @sess/store-redis.';

/** One of a user's sessions, as `listUserSessions` returns it. */
export interface UserSession extends Omit<UserSessionInfo, 'record'> {
  /** Short hash of the id, safe to show and to pass to `destroyUserSessions({ only })`. */
  tag: string;
  /** True for the session of the request that asked. */
  current: boolean;
  /** The session's data (without the cookie). */
  data: Record<string, unknown>;
}

/** Whatever carries a request's session id: Express's `req`, a Fastify request, a Koa or Hono context's carrier. */
export type WithSessionId = { sessionID?: unknown } | undefined;

/**
 * One app's sessions, framework-neutral: `session()`'s options and store, the events, the per-user helpers,
 * and per request `open(host)`.
 */
export class SessionEngine {
  /** The options, resolved (defaults applied, cookie options validated). */
  readonly options: ResolvedOptions;
  /** The store in the sess contract (an adapter when a callback store was given). */
  readonly store: SessionStore;
  /** The store as it was given (an express-session store itself, not its adapter). */
  readonly rawStore: SessionStore | CallbackStore;
  /** Every store call of the engine goes through here (deadlines, typed errors, events). */
  readonly gateway: StoreGateway;
  private readonly events = new EventEmitter();
  private ready = true;

  constructor(options: SessionOptions) {
    const o = (this.options = resolveOptions(options));
    const rawStore: SessionStore | CallbackStore = options.store ?? new MemoryStore();
    if (typeof rawStore !== 'object' || rawStore === null || typeof (rawStore as CallbackStore).get !== 'function') {
      throw new ConfigError('store must be a session store (an object with get, set and destroy): store: new MemoryStore()');
    }
    this.rawStore = rawStore;
    const store = (this.store = fromCallbackStore(rawStore));
    if (o.concurrency === 'merge' && !store.capabilities.atomicPatch) {
      throw new ConfigError("concurrency: 'merge' needs a store with the atomicPatch capability: use a sess store, or concurrency: 'last-write-wins'");
    }
    if (o.concurrency === 'lock' && !store.capabilities.lock) {
      throw new ConfigError("concurrency: 'lock' needs a store with the lock capability: use a sess store, or concurrency: 'last-write-wins'");
    }
    if (process.env.NODE_ENV === 'production' && rawStore instanceof MemoryStore) console.warn(MEMORY_WARNING);
    this.gateway = new StoreGateway(store, this.events, o.storeTimeout, o.hashIds);

    // express-session's readiness tracking: a store that emits 'disconnect' is bypassed until 'connect'.
    if (typeof (rawStore as CallbackStore).on === 'function') {
      (rawStore as CallbackStore).on!('disconnect', () => {
        this.ready = false;
      });
      (rawStore as CallbackStore).on!('connect', () => {
        this.ready = true;
      });
    }
  }

  /** False while the store said `disconnect` (until `connect`): requests then go on without a session. */
  get storeReady(): boolean {
    return this.ready;
  }

  /**
   * The cookie options for a request: the `cookie` option, or what it returns when it is a function (called
   * with `request`, validated). Throws a ConfigError for invalid ones.
   */
  cookieOptions(request: unknown): CookieOptions {
    const c = this.options.cookie;
    if (typeof c !== 'function') return c;
    const opts = c(request as never);
    validateCookieOptions(opts, this.options.name);
    return opts;
  }

  /** The session cookie of a `Cookie` header, verified with the secrets; undefined if absent or forged. */
  readCookie(header: string | undefined): VerifiedCookie | undefined {
    return this.options.readCookie(header);
  }

  /**
   * The session work of one request, on `host`, with its cookie options (default: {@link cookieOptions} of the
   * host's request; a binding that already computed them, to check the cookie path, passes them).
   */
  open(host: SessionHost, cookieOptions: CookieOptions = this.cookieOptions(host.request)): SessionRequest {
    return new SessionRequest(host, this.options, this.gateway, cookieOptions);
  }

  /** Subscribe to lifecycle events (create, load, miss, save, touch, destroy, rotate, storeError). */
  on(event: SessEventName, listener: (event: SessEvent) => void): this {
    this.events.on(event, listener);
    return this;
  }

  /** Unsubscribe. */
  off(event: SessEventName, listener: (event: SessEvent) => void): this {
    this.events.off(event, listener);
    return this;
  }

  private currentKey(current: WithSessionId): string | undefined {
    return current && typeof current.sessionID === 'string' ? this.gateway.key(current.sessionID) : undefined;
  }

  /** The sessions of a user (needs `userKey` and a store with `userIndex`); `current` marks the asking request's. */
  async listUserSessions(userKey: string | number, current?: WithSessionId): Promise<UserSession[]> {
    const me = this.currentKey(current);
    const list = await this.gateway.listUser(String(userKey));
    return list.map(({ record, ...info }) => {
      const data: Record<string, unknown> = {};
      for (const k of Object.keys(record)) if (k !== 'cookie' && k !== '__sess') data[k] = record[k];
      return { ...info, tag: idTag(info.id), current: info.id === me, data };
    });
  }

  /** Destroy a user's sessions; `except` keeps the given request's session, `only` limits to some tags. Resolves how many. */
  async destroyUserSessions(userKey: string | number, opts: { except?: WithSessionId; only?: string[] } = {}): Promise<number> {
    const me = this.currentKey(opts.except);
    if (opts.only) {
      const list = await this.gateway.listUser(String(userKey));
      const keep = list.filter((s) => !opts.only!.includes(idTag(s.id)) || s.id === me).map((s) => s.id);
      return this.gateway.destroyUser(String(userKey), keep, true);
    }
    return this.gateway.destroyUser(String(userKey), me ? [me] : [], true);
  }
}

/**
 * The engine a binding's options name, for bindings that take `session()`'s options or another binding's
 * engine: `engine` (shared; then no other option may be given, since they would silently not apply), else a new
 * engine for the options.
 */
export function engineFrom(options: Partial<SessionOptions> & { engine?: SessionEngine }): SessionEngine {
  const { engine, ...rest } = options;
  if (engine === undefined) return new SessionEngine(rest as SessionOptions);
  if (!(engine instanceof SessionEngine)) throw new ConfigError('engine must be a SessionEngine: engine: expressSessionMiddleware.engine');
  const extra = Object.keys(rest).filter((k) => (rest as Record<string, unknown>)[k] !== undefined);
  if (extra.length > 0) throw new ConfigError(`with engine, the options are the engine's: remove ${extra.join(', ')}`);
  return engine;
}

/** Make the session engine for `options` (the same options as `session()`). */
export function createSessionEngine(options: SessionOptions): SessionEngine {
  return new SessionEngine(options);
}
