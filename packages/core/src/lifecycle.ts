import { AsyncResource } from 'node:async_hooks';
import { tracingChannel } from 'node:diagnostics_channel';
import type { TLSSocket } from 'node:tls';
import type { NextFunction, Request, Response } from 'express';
import { Cookie, serializeCookie } from './cookie.js';
import type { CookieOptions } from './cookie.js';
import type { SessionLock, SessionPatch, SessionRecord, WriteContext } from './contract.js';
import { storeExpiresOf } from './contract.js';
import { shouldSave, shouldSetCookie, shouldTouch } from './decisions.js';
import type { DecisionState } from './decisions.js';
import { BadDataError, ErrorCodes, SessError, SessionTooLargeError } from './errors.js';
import type { StoreGateway } from './gateway.js';
import { generateSessionId, idTag } from './ids.js';
import { log } from './log.js';
import type { ResolvedOptions } from './options.js';
import { Session, kController, sessionData } from './session.js';
import type { SessionController } from './session.js';
import { cookieParserValue, signId } from './signature.js';

/** sess's own bookkeeping, stored under `__sess` in the record when a feature needs it. */
export interface SessMeta {
  /** When the session was created (ms since epoch). */
  createdAt: number;
  /** When its id was last rotated (ms since epoch). */
  rotatedAt?: number;
}

type SessRequest = Omit<Request, 'session' | 'sessionID'> & {
  session?: Session;
  sessionID?: string;
  sessionStore?: unknown;
  [kController]?: Lifecycle;
};

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

/** A traced request's state, only when `sess:request` has subscribers. */
interface RequestTrace {
  ctx: RequestContext;
  /** Runs a function in the request's own async context (the app's `next`). */
  outer: (fn: () => void) => void;
  /** Runs a function in the context `start` gave (the end-of-response store write). */
  inner: (fn: () => void) => void;
  /** The id of the session loaded (or, after a rotation, its new id). */
  loadedId?: string;
  wrote?: 'created' | 'saved' | 'touched' | 'destroyed';
  /** The response's end() was called: the trace ends when its store write does. */
  ending: boolean;
  /** What made the load fail (the request went on without a session, or to the error handler). */
  failure?: unknown;
  /** `end` was published: the outcome can be (until then it waits, so the events keep their order). */
  begun: boolean;
  finished: boolean;
}

/**
 * A function running its argument in the async context current when it was made. An AsyncResource's
 * `runInAsyncScope`, not `AsyncResource.bind` (which builds a deprecation wrapper on every call).
 */
function inThisContext(): (fn: () => void) => void {
  const resource = new AsyncResource('sess:request');
  return (fn) => resource.runInAsyncScope(fn);
}

/** A request cookie-parser went through. */
type CookieParsed = { signedCookies?: Record<string, unknown>; cookies?: Record<string, unknown> };
const asReq = (r: SessRequest): Request => r as unknown as Request;

type EndFn = (chunk?: unknown, encoding?: unknown, cb?: unknown) => unknown;

/** Call the app's own `end`, with the chunk and encoding left to send (or, `withChunk` false, none). */
function endWith(res: Response, original: EndFn, chunk: unknown, encoding: unknown, cb: unknown, withChunk = true): unknown {
  if (withChunk) return cb ? original.call(res, chunk, encoding, cb) : original.call(res, chunk, encoding);
  return cb ? original.call(res, cb) : original.call(res);
}

/** How the end-of-response store operation reports back: an error, or nothing. */
type EndDone = (err?: unknown) => void;

/** Is this request on a secure connection, as express-session decides it (`proxy` option). */
export function isSecure(req: Request, trustProxy: boolean | undefined): boolean {
  if ((req.socket as TLSSocket | undefined)?.encrypted) return true;
  if (trustProxy === false) return false;
  if (trustProxy !== true) return req.secure === true;
  const header = String(req.headers['x-forwarded-proto'] ?? '');
  const i = header.indexOf(',');
  const proto = (i !== -1 ? header.slice(0, i) : header).toLowerCase().trim();
  return proto === 'https';
}

const COOKIE_ATTRIBUTES = ['partitioned', 'priority', 'secure', 'httpOnly', 'domain', 'path', 'sameSite'] as const;

/**
 * Whether the app changed a cookie attribute other than its expiry, for stores whose touch does not store
 * the cookie. `originalMaxAge` counts as changed only past a second: resetting `maxAge` moves it by a
 * millisecond now and then (express-session's Cookie reads the clock twice), which is not a change.
 */
function cookieChanged(now: object, loaded: object): boolean {
  const a = now as Record<string, unknown>;
  const b = loaded as Record<string, unknown>;
  for (const k of COOKIE_ATTRIBUTES) if ((a[k] ?? null) !== (b[k] ?? null)) return true;
  const x = a.originalMaxAge;
  const y = b.originalMaxAge;
  if (typeof x === 'number' && typeof y === 'number') return Math.abs(x - y) > 1000;
  return (x ?? null) !== (y ?? null);
}

/**
 * A body up to this size is held, with the headers, while the store writes at the end of a response, and
 * goes out in one socket write when it is done; a larger one streams early, as express-session's does.
 */
const HOLD_BYTES = 16 * 1024;

function smallBody(chunk: unknown, encoding: unknown): boolean {
  if (chunk == null) return true;
  if (typeof chunk === 'string') {
    if (chunk.length * 3 <= HOLD_BYTES) return true; // at most 3 bytes per UTF-16 unit in any encoding Node writes
    return chunk.length <= HOLD_BYTES && Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8') <= HOLD_BYTES;
  }
  return chunk instanceof Uint8Array && chunk.byteLength <= HOLD_BYTES;
}

type WriteHeadFn = (this: Response, ...args: unknown[]) => unknown;

/**
 * Call `listener` once, just before the response's headers are written (what the `on-headers` package
 * does, with the same handling of headers given to `writeHead`), without its per-call argument copying
 * in the usual case: Node writing implicit headers calls `writeHead(statusCode)`.
 */
export function beforeHeaders(res: Response, listener: () => void): void {
  const prev = res.writeHead as unknown as WriteHeadFn;
  let fired = false;
  (res as unknown as { writeHead: WriteHeadFn }).writeHead = function writeHead(this: Response, statusCode?: unknown, a?: unknown, b?: unknown): unknown {
    const n = arguments.length;
    this.statusCode = statusCode as number;
    if (n <= 1) {
      if (!fired) {
        fired = true;
        listener();
        if (typeof statusCode === 'number') return prev.call(this, this.statusCode);
      }
      return n === 0 ? prev.call(this) : prev.call(this, statusCode);
    }
    const headerIndex = typeof a === 'string' ? 2 : 1;
    const headers = n > headerIndex ? (headerIndex === 2 ? b : a) : undefined;
    if (Array.isArray(headers)) setHeadersFromArray(this, headers);
    else if (headers) for (const k of Object.keys(headers)) if (k) this.setHeader(k, (headers as Record<string, string>)[k]!);
    const args: unknown[] = headerIndex === 2 ? [statusCode, a] : [statusCode];
    if (!fired) {
      fired = true;
      listener();
      if (typeof args[0] === 'number' && this.statusCode !== args[0]) {
        args[0] = this.statusCode;
        args.length = 1;
      }
    }
    return prev.apply(this, args);
  };
}

function setHeadersFromArray(res: Response, headers: unknown[]): void {
  if (headers.length && Array.isArray(headers[0])) {
    for (const pair of headers as unknown[][]) if (pair[0]) res.setHeader(pair[0] as string, pair[1] as string);
    return;
  }
  if (headers.length % 2 !== 0) throw new TypeError('headers array is malformed');
  for (let i = 0; i < headers.length; i += 2) res.removeHeader(headers[i] as string);
  for (let i = 0; i < headers.length; i += 2) if (headers[i]) res.appendHeader(headers[i] as string, headers[i + 1] as string);
}

/**
 * A record's cookie expiry in ms (NaN if unreadable); for a browser-session cookie, the store's own expiry
 * when it reported one (`STORE_EXPIRES`), else undefined.
 */
function expiresOf(record: SessionRecord): number | undefined {
  const exp = record.cookie.expires;
  if (exp == null) return storeExpiresOf(record);
  return typeof exp === 'string' ? Date.parse(exp) : new Date(exp as unknown as number).getTime();
}

/** JSON of the session's application data (no cookie): what change detection compares. */
function fingerprint(sess: Session): string {
  try {
    return JSON.stringify(sessionData(sess));
  } catch (err) {
    throw new BadDataError(
      'session data cannot be serialised to JSON (a BigInt, a circular reference or a throwing toJSON): keep only plain JSON values in req.session',
      { cause: err },
    );
  }
}

/**
 * A new session id: genid's, or uid-safe's. An id the id grammar refuses would make a cookie that never
 * comes back (express-session URL-encodes whatever genid returns into the cookie; sess ignores a cookie whose
 * id is outside the grammar): that is a configuration mistake, reported on its first use, never a missing cookie.
 */
function newSessionId(req: SessRequest, o: ResolvedOptions): string {
  if (!o.genid) return generateSessionId();
  const id = o.genid(asReq(req));
  if (typeof id !== 'string' || !o.idPattern.test(id)) {
    const got = typeof id === 'string' ? `a string of ${id.length} characters outside it` : `a ${id === null ? 'null' : typeof id}`;
    throw new BadDataError(
      `genid returned an id that the id grammar refuses (idPattern ${String(o.idPattern)}; got ${got}): return an id made of ` +
        'letters, digits, "-" and "_" (uid-safe, crypto.randomUUID()), or set idPattern to a grammar that matches your ids',
      { code: ErrorCodes.BAD_ID },
    );
  }
  return id;
}

/**
 * The life of one request's session: load, decide, save/touch/destroy, cookie. One instance per
 * request; the session methods (`req.session.save()` …) call into it.
 */
export class Lifecycle implements SessionController {
  private cookieId: string | undefined;
  private resign = false;
  /** The signed cookie value as received, reused when the same id is sent back under the current secret. */
  private cookieValue: string | undefined;
  private originalId: string | undefined;
  private originalFp: string | undefined;
  private savedId: string | undefined;
  private savedFp: string | undefined;
  private endFp: string | undefined;
  private touched = false;
  private disabled = false;
  private meta: SessMeta | undefined;
  private metaDirty = false;
  private rotateDue = false;
  private storedExpires: number | undefined;
  /** The stored cookie as loaded (or last saved), kept only for stores whose touch moves just the expiry. */
  private loadedCookie: object | undefined;
  private baseline: Map<string, string> | undefined;
  private heldLock: SessionLock | undefined;
  /** The response's own `end`, put back when an error must reach the app's error handler. */
  private originalEnd: EndFn | undefined;
  private lockedId: string | undefined;
  /** Set only while `sess:request` has subscribers. */
  private trace: RequestTrace | undefined;

  constructor(
    private readonly req: SessRequest,
    private readonly res: Response,
    private next: NextFunction,
    private readonly o: ResolvedOptions,
    private readonly gw: StoreGateway,
    private readonly cookieOptions: CookieOptions,
  ) {}

  /** Run the request: read the cookie, hook the response, load or create the session, call next. */
  start(): void {
    if (!requestChannel.hasSubscribers) {
      this.begin();
      return;
    }
    const ctx: RequestContext = { store: this.gw.storeName };
    const outer = inThisContext();
    const trace: RequestTrace = (this.trace = { ctx, outer, inner: outer, ending: false, begun: false, finished: false });
    const next = this.next;
    this.next = ((...args: unknown[]) => outer(() => (next as (...a: unknown[]) => void)(...args))) as NextFunction;
    // A response closed without end() (the client went away, the app never answered): no write comes.
    this.res.once('close', () => {
      if (!trace.ending) this.traceEnd(undefined);
    });
    requestChannel.start.runStores(ctx, () => {
      trace.inner = inThisContext();
      this.begin();
    });
    trace.begun = true;
    requestChannel.end.publish(ctx);
    // A request answered synchronously (no cookie, the app ends the response at once) ended before `end`.
    if (trace.finished) this.tracePublish();
  }

  /** Publish the end of a traced request's session work, once: its outcome (and error). */
  private traceEnd(err: unknown): void {
    const t = this.trace;
    if (!t || t.finished) return;
    t.finished = true;
    const { ctx } = t;
    const failure = err ?? t.failure;
    if (failure !== undefined) ctx.error = SessError.isInstance(failure) ? failure : new BadDataError('session could not be loaded or saved', { cause: failure });
    if (ctx.error) ctx.outcome = 'failed';
    else if (t.wrote) ctx.outcome = t.wrote;
    else if (ctx.found === true) ctx.outcome = 'loaded';
    else if (ctx.found === false) ctx.outcome = 'missed';
    else ctx.outcome = 'unchanged';
    if (t.begun) this.tracePublish();
  }

  private tracePublish(): void {
    const { ctx } = this.trace!;
    if (ctx.outcome === 'failed') requestChannel.error.publish(ctx);
    requestChannel.asyncStart.publish(ctx);
    requestChannel.asyncEnd.publish(ctx);
  }

  /** Note a successful write of `sess` for the trace. */
  private traceWrote(sess: Session | undefined, what: 'saved' | 'touched' | 'destroyed'): void {
    const t = this.trace;
    if (!t) return;
    t.wrote = what === 'saved' && (sess === undefined || sess.id !== t.loadedId) ? 'created' : what;
  }

  private begin(): void {
    const { req, o } = this;
    let verified = o.readCookie(req.headers.cookie);
    if (verified === undefined && ((req as CookieParsed).signedCookies || (req as CookieParsed).cookies)) {
      verified = cookieParserValue(req as CookieParsed, o.name, o.secrets);
    }
    if (verified && !o.idPattern.test(verified.id)) {
      log('cookie id does not match the id grammar: ignored');
      verified = undefined;
    }
    this.cookieId = req.sessionID = verified?.id;
    this.resign = verified !== undefined && verified.secretIndex > 0;
    this.cookieValue = verified?.value;
    req[kController] = this;
    beforeHeaders(this.res, () => this.onHeaders());
    this.hookEnd();

    if (this.cookieId === undefined) {
      log('no session cookie: new session');
      this.safely(() => this.generate(true));
      return;
    }
    if (this.o.concurrency === 'lock' && this.gw.canLock) {
      this.lockAndLoad(this.cookieId).then(
        () => this.next(),
        (err: unknown) => this.loadFailed(err),
      );
      return;
    }
    const sid = this.cookieId;
    if (log.enabled) log('loading %s', idTag(sid));
    this.gw.getThen(sid, (err, record) => {
      if (err) {
        this.loadFailed(err);
        return;
      }
      try {
        if (!this.loaded(sid, record!)) this.generate(true);
      } catch (e) {
        this.loadFailed(e);
        return;
      }
      this.next();
    });
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.next(err);
      return;
    }
    this.next();
  }

  /** `concurrency: 'lock'`: take the session's lock, then load under it. */
  private async lockAndLoad(sid: string): Promise<void> {
    await this.acquireLock(sid);
    if (log.enabled) log('loading %s', idTag(sid));
    const record = await this.gw.get(sid);
    if (this.loaded(sid, record)) return;
    await this.releaseLock();
    this.generate(true);
  }

  /** Take in what the store returned for the cookie's id: true if it is a live session, now installed. */
  private loaded(sid: string, record: SessionRecord | null): boolean {
    const now = Date.now();
    const expires = record ? expiresOf(record) : undefined;
    const live = record !== null && this.isLive(record, now, expires);
    if (this.trace) {
      this.trace.ctx.found = live;
      if (live) this.trace.loadedId = sid;
    }
    if (live && record) {
      this.gw.emit('load', sid);
      this.inflate(record, now, expires);
      return true;
    }
    if (record) {
      log('stored session expired (cookie expiry or absoluteTimeout): new session');
      this.gw.destroy(sid).catch(() => undefined);
    } else {
      log('no stored session: new session');
    }
    this.gw.emit('miss', sid);
    return false;
  }

  private loadFailed(err: unknown): void {
    if (this.trace && this.trace.failure === undefined) this.trace.failure = err;
    if (this.o.onStoreError === 'continue' && SessError.isInstance(err) && (err.code === ErrorCodes.STORE || err.code === ErrorCodes.STORE_TIMEOUT)) {
      log('store failed on load: continuing without a session (onStoreError: continue)');
      this.disabled = true;
      delete this.req.session;
      this.next();
      return;
    }
    this.disabled = true;
    this.next(err);
  }

  private isLive(record: SessionRecord, now: number, expires = expiresOf(record)): boolean {
    if (expires !== undefined && this.gw.checksCookieExpiry && !Number.isNaN(expires) && expires <= now) return false;
    const meta = record.__sess as SessMeta | undefined;
    if (this.o.absoluteTimeout > 0 && meta && typeof meta.createdAt === 'number' && meta.createdAt + this.o.absoluteTimeout <= now) {
      return false;
    }
    return true;
  }

  /** A new, empty session under a new id. `asOriginal` resets change detection (a fresh request). */
  generate(asOriginal: boolean): void {
    const { req, o } = this;
    const id = newSessionId(req, o);
    req.sessionID = id;
    const sess = new Session(asReq(req));
    sess.cookie = new Cookie(this.cookieOptions);
    const secure = isSecure(asReq(req), o.proxy);
    if (this.cookieOptions.secure === 'auto') sess.cookie.secure = secure;
    if (this.cookieOptions.sameSite === 'auto') sess.cookie.sameSite = secure ? 'none' : 'lax';
    req.session = sess;
    this.meta = { createdAt: Date.now() };
    // A new session carries its meta with its first save; it must not force one (saveUninitialized).
    this.metaDirty = false;
    this.storedExpires = undefined;
    this.loadedCookie = undefined;
    this.baseline = undefined;
    if (asOriginal) {
      this.gw.emit('create', id);
      this.originalId = id;
      this.originalFp = fingerprint(sess);
      this.savedId = undefined;
      this.savedFp = undefined;
    }
  }

  private wantsMeta(): boolean {
    return this.o.absoluteTimeout > 0 || this.o.rotateEvery > 0 || this.o.userKey !== undefined;
  }

  private install(record: SessionRecord, sid: string): Session {
    const req = this.req;
    req.sessionID = sid;
    const sess = new Session(asReq(req), record);
    sess.cookie = Cookie.fromData(record.cookie as unknown as Record<string, unknown>);
    req.session = sess;
    return sess;
  }

  private inflate(record: SessionRecord, now: number, expires: number | undefined): void {
    const sid = this.req.sessionID as string;
    const sess = this.install(record, sid);
    const meta = record.__sess as SessMeta | undefined;
    if (meta && typeof meta.createdAt === 'number') {
      this.meta = meta;
      this.metaDirty = false;
    } else {
      this.meta = { createdAt: now };
      this.metaDirty = this.wantsMeta();
    }
    if (this.o.rotateEvery > 0 && (this.meta.rotatedAt ?? this.meta.createdAt) + this.o.rotateEvery <= now) this.rotateDue = true;
    this.storedExpires = expires;
    this.loadedCookie = record.cookie;
    this.originalId = sid;
    this.originalFp = fingerprint(sess);
    if (!this.o.resave) {
      this.savedId = sid;
      this.savedFp = this.originalFp;
    }
    if (this.o.concurrency === 'merge') this.baseline = this.snapshot(sess);
  }

  private snapshot(sess: Session): Map<string, string> {
    const m = new Map<string, string>();
    for (const [k, v] of Object.entries(sessionData(sess))) m.set(k, JSON.stringify(v) ?? 'undefined');
    return m;
  }

  // ---- decisions ---------------------------------------------------------------------------

  private currentFp(sess: Session): string {
    return this.endFp ?? fingerprint(sess);
  }

  private state(): DecisionState {
    const req = this.req;
    const sess = req.session;
    const fp = sess ? this.currentFp(sess) : undefined;
    return {
      cookieId: this.cookieId,
      sessionID: req.sessionID,
      hasSession: sess != null,
      saveUninitialized: this.o.saveUninitialized,
      rolling: this.o.rolling,
      unsetDestroy: this.o.unsetDestroy,
      everSaved: this.savedFp !== undefined,
      modified: sess != null && (this.originalId !== sess.id || this.originalFp !== fp || this.metaDirty),
      saved: sess != null && this.savedId === sess.id && this.savedFp === fp && !this.metaDirty,
      cookieHasExpiry: sess?.cookie?.expires != null,
      resign: this.resign,
    };
  }

  // ---- cookie ------------------------------------------------------------------------------

  private onHeaders(): void {
    const { req, o } = this;
    const sess = req.session;
    if (this.disabled || !sess) return;
    let set: boolean;
    try {
      set = shouldSetCookie(this.state());
    } catch {
      return; // reported by end()
    }
    if (!set) return;
    if (sess.cookie.secure && !isSecure(asReq(req), o.proxy)) {
      log('cookie is secure but the connection is not: not sent');
      return;
    }
    if (!this.touched) {
      this.touchCookie(sess);
      this.touched = true;
    }
    const sid = req.sessionID as string;
    const signed = sid === this.cookieId && !this.resign && this.cookieValue !== undefined ? this.cookieValue : signId(sid, o.secrets[0]!);
    const header = serializeCookie(o.name, signed, sess.cookie);
    const prev = this.res.getHeader('Set-Cookie');
    this.res.setHeader('Set-Cookie', prev === undefined ? [header] : Array.isArray(prev) ? [...prev, header] : [String(prev), header]);
  }

  /** Reset the cookie's expiry, as express-session does on every request. */
  private touchCookie(sess: Session): void {
    const c = sess.cookie;
    c.maxAge = c.originalMaxAge;
  }

  // ---- response end ------------------------------------------------------------------------

  private hookEnd(): void {
    const res = this.res;
    const original = res.end as unknown as EndFn;
    this.originalEnd = original;
    let ended = false;
    (res as unknown as { end: EndFn }).end = (chunk?: unknown, encoding?: unknown, cb?: unknown): unknown => {
      if (ended) return false;
      ended = true;
      if (typeof chunk === 'function') {
        cb = chunk;
        chunk = undefined;
      } else if (typeof encoding === 'function') {
        cb = encoding;
        encoding = undefined;
      }
      // A store with synchronous ops finishes inside endOperation; any other calls `later` afterwards.
      let inside = true;
      let finishedInside = false;
      let insideErr: unknown;
      let later: EndDone | undefined = undefined;
      const finished: EndDone = (err) => {
        if (this.trace) this.traceEnd(err);
        if (inside) {
          finishedInside = true;
          insideErr = err;
        } else later!(err);
      };
      let started = false;
      if (this.trace) this.trace.ending = true;
      try {
        if (this.trace) this.trace.inner(() => (started = this.endOperation(finished)));
        else started = this.endOperation(finished);
      } catch (err) {
        if (this.trace) this.traceEnd(err);
        return this.failBeforeSend(err, () => endWith(res, original, chunk, encoding, cb));
      } finally {
        inside = false;
      }
      if (!started) {
        if (this.trace) this.traceEnd(undefined);
        void this.releaseLock();
        return endWith(res, original, chunk, encoding, cb);
      }
      const beforeSend = this.o.saveBeforeSend && !res.headersSent;
      if (finishedInside && !this.heldLock) {
        if (insideErr === undefined) return endWith(res, original, chunk, encoding, cb);
        return this.endFailed(insideErr, beforeSend, () => endWith(res, original, chunk, encoding, cb));
      }
      later = this.endLater(original, chunk, encoding, cb, beforeSend);
      if (finishedInside) later(insideErr);
      return res;
    };
  }

  /**
   * The end of a response whose store operation is still running: with `saveBeforeSend`, or for a body of
   * at most 16 KiB, nothing more goes out until it is done (then one write); otherwise express-session's
   * streaming (headers and all but the last byte of the body one event-loop turn later, the rest when the
   * store is done). Returns what to call when it is done.
   */
  private endLater(original: EndFn, chunk: unknown, encoding: unknown, cb: unknown, beforeSend: boolean): EndDone {
    const res = this.res;
    const write = res.write as unknown as EndFn;
    let sync = true;
    let ret: unknown;
    const writeend = () => {
      if (sync) {
        ret = endWith(res, original, chunk, encoding, cb);
        sync = false;
        return;
      }
      endWith(res, original, undefined, undefined, cb, false);
    };
    const writetop = (): unknown => {
      if (!sync) return ret;
      const r = res as unknown as { _header?: unknown; _implicitHeader(): void };
      if (!r._header) r._implicitHeader();
      if (chunk == null) {
        ret = true;
        return ret;
      }
      const contentLength = Number(res.getHeader('Content-Length'));
      if (!Number.isNaN(contentLength) && contentLength > 0) {
        const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string, encoding as BufferEncoding);
        encoding = undefined;
        if (buf.length !== 0) {
          ret = write.call(res, buf.subarray(0, buf.length - 1));
          chunk = buf.subarray(buf.length - 1, buf.length);
          return ret;
        }
        chunk = buf;
      }
      ret = write.call(res, chunk, encoding);
      sync = false;
      return ret;
    };
    // express-session's early headers, one event-loop turn later (not with saveBeforeSend), for a body
    // worth streaming; a small one goes out in one write with the headers when the store is done.
    const early = beforeSend || smallBody(chunk, encoding) ? undefined : setImmediate(writetop);
    const after = (err: unknown) => {
      clearImmediate(early);
      if (err === undefined) writeend();
      else this.endFailed(err, beforeSend, writeend);
    };
    return (err) => {
      if (this.heldLock) void this.releaseLock().then(() => after(err));
      else after(err);
    };
  }

  /**
   * The store operation at the end of a response failed: with `saveBeforeSend` the error handler answers
   * instead (if nothing was sent); otherwise the response completes and the error goes to `next` after.
   */
  private endFailed(err: unknown, beforeSend: boolean, end: () => unknown): unknown {
    if (beforeSend) return this.failBeforeSend(err, end);
    setImmediate(() => this.next(err));
    return end();
  }

  /** A failure before anything was sent: the error goes to `next`, which can still answer (503, 500). */
  private failBeforeSend(err: unknown, endAnyway: () => unknown): unknown {
    this.disabled = true;
    const typed = SessError.isInstance(err) ? err : new BadDataError('session could not be saved', { cause: err });
    if (this.res.headersSent) {
      setImmediate(() => this.next(typed));
      return endAnyway();
    }
    // The app's end() is back, so the error handler can answer.
    (this.res as unknown as { end: EndFn }).end = this.originalEnd!;
    setImmediate(() => this.next(typed));
    return true;
  }

  /**
   * Decide and start what the end of the response needs from the store: true if an operation started
   * (`done` is called when it ends: before this returns on a store with synchronous ops, later on any
   * other), false if there is nothing to do.
   */
  private endOperation(done: EndDone): boolean {
    const req = this.req;
    if (this.disabled) return false;
    const sess = req.session;
    if (!sess) {
      if (this.o.unsetDestroy && req.sessionID) {
        log('session unset with unset: destroy: destroying');
        this.gw.destroyThen(req.sessionID, (err) => {
          if (err === undefined) this.traceWrote(undefined, 'destroyed');
          done(err);
        });
        return true;
      }
      return false;
    }
    this.endFp = fingerprint(sess);
    if (!this.touched) {
      this.touchCookie(sess);
      this.touched = true;
    }
    if (this.rotateDue && this.originalId === sess.id && typeof req.sessionID === 'string') {
      this.rotateDue = false;
      this.rotateNow(sess).then(() => done(), done);
      return true;
    }
    const st = this.state();
    if (shouldSave(st)) {
      this.saveThen(sess, done);
      return true;
    }
    if (this.gw.canTouch && shouldTouch(st)) return this.touchStore(sess, done);
    return false;
  }

  // ---- store writes ------------------------------------------------------------------------

  private expiry(sess: Session): Date {
    const now = Date.now();
    const e = sess.cookie.expires;
    let t = e instanceof Date ? e.getTime() : now + this.o.browserSessionTtl;
    if (this.o.absoluteTimeout > 0 && this.meta) t = Math.min(t, this.meta.createdAt + this.o.absoluteTimeout);
    return new Date(t);
  }

  private userKeyOf(sess: Session): string | null | undefined {
    if (!this.o.userKey) return undefined;
    const k = this.o.userKey(sessionData(sess));
    return k === null || k === undefined || k === '' ? null : String(k);
  }

  private record(sess: Session): SessionRecord {
    const rec: SessionRecord = { cookie: sess.cookie.data };
    for (const k of Object.keys(sess)) if (k !== 'cookie') rec[k] = (sess as unknown as Record<string, unknown>)[k];
    if (this.meta && this.wantsMeta()) rec.__sess = this.meta;
    return rec;
  }

  /** The record's JSON, built from the data fingerprint so the data is serialised once per write. */
  private recordJson(rec: SessionRecord, fp: string): string {
    let json = '{"cookie":' + JSON.stringify(rec.cookie) + (fp === '{}' ? '' : ',' + fp.slice(1, -1));
    if (rec.__sess !== undefined) json += ',"__sess":' + JSON.stringify(rec.__sess);
    return json + '}';
  }

  /** The write context; `fp` (the data's JSON) is given for full writes, which also get `json` and the size check. */
  private context(sess: Session, rec: SessionRecord, fp?: string, expires = this.expiry(sess)): WriteContext {
    const ctx: WriteContext = { expires };
    if (fp !== undefined) {
      const json = this.recordJson(rec, fp);
      if (this.o.maxSize > 0) {
        const size = Buffer.byteLength(json);
        if (size > this.o.maxSize) throw new SessionTooLargeError(size, this.o.maxSize);
      }
      ctx.json = json;
    }
    const uk = this.userKeyOf(sess);
    if (uk !== undefined) ctx.userKey = uk;
    return ctx;
  }

  /** Write the session now (req.session.save(), and the end of a request that changed it). */
  save(sess: Session): Promise<void> {
    // The fingerprint taken at the end of the response is stale for a save the app asks for after it (a
    // socket.io handler saving the handshake request's session): fingerprint the session as it is now.
    this.endFp = undefined;
    return new Promise<void>((resolve, reject) => this.saveThen(sess, (err) => (err === undefined ? resolve() : reject(err))));
  }

  /** `save`, calling back (always asynchronously) instead of returning a promise. */
  private saveThen(sess: Session, done: EndDone): void {
    let rec: SessionRecord;
    let ctx: WriteContext;
    let patch: SessionPatch | undefined;
    let snapshot: Map<string, string> | undefined;
    try {
      if (log.enabled) log('saving %s', idTag(sess.id));
      const fp = this.endFp !== undefined && this.req.session === sess ? this.endFp : fingerprint(sess);
      this.savedId = sess.id;
      this.savedFp = fp;
      rec = this.record(sess);
      ctx = this.context(sess, rec, fp);
      this.metaDirty = false;
      if (this.loadedCookie !== undefined) this.loadedCookie = rec.cookie;
      if (this.baseline && this.gw.canPatch && this.originalId === sess.id && this.cookieId === sess.id) {
        patch = { set: {}, unset: [], cookie: rec.cookie };
        snapshot = this.snapshot(sess);
        for (const [k, v] of snapshot) if (this.baseline.get(k) !== v) patch.set[k] = rec[k];
        for (const k of this.baseline.keys()) if (!snapshot.has(k)) patch.unset.push(k);
        if (rec.__sess !== undefined) patch.set.__sess = rec.__sess;
      }
    } catch (err) {
      queueMicrotask(() => done(err));
      return;
    }
    if (patch) {
      this.gw.patchThen(sess.id, patch, ctx, (err, applied) => {
        if (err) return done(err);
        if (!applied) {
          log('session was destroyed meanwhile: not brought back');
          this.disabled = true;
          return done();
        }
        this.baseline = snapshot;
        this.storedExpires = ctx.expires.getTime();
        this.traceWrote(sess, 'saved');
        done();
      });
      return;
    }
    this.gw.setThen(sess.id, rec, ctx, (err) => {
      if (err) return done(err);
      this.storedExpires = ctx.expires.getTime();
      this.traceWrote(sess, 'saved');
      done();
    });
  }

  /** Whether the loaded session's cookie attributes (or `maxAge`) changed during this request. */
  private cookieChangedSinceLoad(sess: Session): boolean {
    return this.loadedCookie !== undefined && this.originalId === sess.id && cookieChanged(sess.cookie.data, this.loadedCookie);
  }

  /** Refresh the stored session's expiry at the end of a request that did not change it: true if started. */
  private touchStore(sess: Session, done: EndDone): boolean {
    if (!this.gw.touchStoresCookie && this.cookieChangedSinceLoad(sess)) {
      // This store's touch would keep only the new expiry: write the cookie too, so the change is kept. An
      // atomic patch of just the cookie never brings back a session destroyed meanwhile (a touch would not).
      if (!this.gw.canPatch) {
        log('cookie attributes changed and the store touches only the expiry: saving instead');
        this.saveThen(sess, done);
        return true;
      }
      log('cookie attributes changed and the store touches only the expiry: patching the cookie instead');
      const rec = this.record(sess);
      const ctx = this.context(sess, rec);
      this.gw.patchThen(sess.id, { set: {}, unset: [], cookie: rec.cookie }, ctx, (err, applied) => {
        if (err) return done(err);
        if (applied) {
          this.loadedCookie = rec.cookie;
          this.storedExpires = ctx.expires.getTime();
          this.traceWrote(sess, 'touched');
        } else log('session was destroyed meanwhile: not brought back');
        done();
      });
      return true;
    }
    const expires = this.expiry(sess);
    const after = Math.max(this.o.touchAfter, this.gw.touchFloor);
    // A store whose touch stores the cookie keeps a changed cookie by that touch alone: never throttled then.
    if (after > 0 && this.storedExpires !== undefined && expires.getTime() - this.storedExpires < after && !(this.gw.touchStoresCookie && this.cookieChangedSinceLoad(sess))) {
      // Throttled: the store keeps its expiry; the cookie (if re-sent) says the same, so both agree.
      const c = sess.cookie;
      if (c.expires instanceof Date) {
        const originalMaxAge = c.originalMaxAge;
        c.expires = new Date(this.storedExpires);
        c.originalMaxAge = originalMaxAge;
      }
      return false;
    }
    if (log.enabled) log('touching %s', idTag(sess.id));
    const rec = this.record(sess);
    const ctx = this.context(sess, rec, undefined, expires);
    if (!this.trace) this.gw.touchThen(sess.id, rec, ctx, done);
    else
      this.gw.touchThen(sess.id, rec, ctx, (err) => {
        if (err === undefined) this.traceWrote(sess, 'touched');
        done(err);
      });
    return true;
  }

  // ---- session methods ---------------------------------------------------------------------

  async reload(sess: Session): Promise<void> {
    this.endFp = undefined;
    const rec = await this.gw.get(sess.id);
    if (!rec || !this.isLive(rec, Date.now())) throw new SessError(ErrorCodes.NO_SESSION, 'failed to load session: it expired or was destroyed', { status: 500 });
    this.install(rec, sess.id);
    if (this.loadedCookie !== undefined) this.loadedCookie = rec.cookie;
    if (this.baseline) this.baseline = this.snapshot(this.req.session!);
  }

  async destroy(sess: Session): Promise<void> {
    delete this.req.session;
    if (log.enabled) log('destroying %s', idTag(sess.id));
    try {
      await this.gw.destroy(sess.id);
      this.traceWrote(sess, 'destroyed');
    } finally {
      await this.releaseLock();
    }
  }

  async regenerate(sess: Session): Promise<void> {
    let failure: unknown;
    try {
      await this.gw.destroy(sess.id);
      this.traceWrote(sess, 'destroyed');
    } catch (err) {
      failure = err;
    }
    await this.releaseLock();
    this.generate(false);
    if (failure !== undefined) throw failure;
  }

  async rotate(sess: Session): Promise<void> {
    await this.rotateNow(sess);
  }

  /** New id, same data: write the new record, then destroy the old one. */
  private async rotateNow(sess: Session): Promise<void> {
    const req = this.req;
    const oldId = sess.id;
    const newId = newSessionId(req, this.o);
    const data: Record<string, unknown> = { cookie: sess.cookie };
    Object.assign(data, sessionData(sess));
    req.sessionID = newId;
    const next = new Session(asReq(req), data);
    req.session = next;
    this.meta = { ...(this.meta ?? { createdAt: Date.now() }), rotatedAt: Date.now() };
    this.metaDirty = true;
    this.baseline = undefined;
    // The same session under a new id: its write is a save, not a creation.
    if (this.trace && this.trace.loadedId === oldId) this.trace.loadedId = newId;
    await this.save(next);
    await this.gw.destroy(oldId);
    await this.releaseLock();
    this.gw.emit('rotate', newId);
  }

  async lock(sess: Session): Promise<void> {
    if (this.heldLock && this.lockedId === sess.id) return;
    if (!this.gw.canLock) throw new SessError(ErrorCodes.UNSUPPORTED, 'req.session.lock() needs a store with the lock capability', { status: 500 });
    await this.acquireLock(sess.id);
    if (this.cookieId === sess.id && this.originalId === sess.id) {
      // Re-read under the lock so read-modify-write sees the latest data.
      const rec = await this.gw.get(sess.id);
      if (rec && this.isLive(rec, Date.now())) {
        const fresh = this.install(rec, sess.id);
        this.originalFp = fingerprint(fresh);
        if (!this.o.resave) {
          this.savedId = sess.id;
          this.savedFp = this.originalFp;
        }
        if (this.baseline) this.baseline = this.snapshot(fresh);
      }
    }
  }

  private async acquireLock(sid: string): Promise<void> {
    this.heldLock = await this.gw.lock(sid, { ttlMs: this.o.lockTtl, waitMs: this.o.lockTimeout });
    this.lockedId = sid;
    this.res.once('close', () => void this.releaseLock());
  }

  private async releaseLock(): Promise<void> {
    const held = this.heldLock;
    if (!held) return;
    this.heldLock = undefined;
    this.lockedId = undefined;
    await held.release().catch((err: unknown) => log('lock release failed: %s', (err as Error)?.name));
  }
}
