/**
 * One request's session state, as the engine keeps it: what the cookie said, what was loaded, what was last
 * saved, and what follows from them (the decision table's inputs, the record to store, its write context, the
 * Set-Cookie value). `SessionRequest` (request.ts) adds the store operations on top.
 */
import { Cookie, serializeCookie } from '../cookie.js';
import type { CookieOptions } from '../cookie.js';
import type { SessionLock, SessionRecord, WriteContext } from '../contract.js';
import { shouldSetCookie } from '../decisions.js';
import type { DecisionState } from '../decisions.js';
import { SessionTooLargeError } from '../errors.js';
import type { StoreGateway } from '../gateway.js';
import { log } from '../log.js';
import type { ResolvedOptions } from '../options.js';
import { Session, bindController, kController, sessionData } from '../session.js';
import type { SessionController } from '../session.js';
import { signId } from '../signature.js';
import type { VerifiedCookie } from '../signature.js';
import { expiresOf, fingerprint, newSessionId, recordJsonFrom, snapshot, toRecord } from './record.js';
import type { SessMeta } from './record.js';
import type { RequestTrace } from './trace.js';

/**
 * Where the app finds its session: `session` and `sessionID` are set on it, and the engine's controller (which
 * `req.session.save()` and the other methods call) is kept on it under a symbol. Express's and Fastify's
 * request; a per-request object for a framework whose request is not extensible.
 */
export interface SessionCarrier {
  session?: Session | null;
  sessionID?: string;
  [kController]?: SessionController;
}

/** What a binding tells the engine about one request. */
export interface SessionHost {
  /** Where the session lives for the app (see {@link SessionCarrier}). */
  readonly carrier: SessionCarrier;
  /** What `genid` is called with (Express: `req`). */
  readonly request: unknown;
  /** Whether the request came over a secure connection, with the `proxy` option applied. */
  secure(): boolean;
  /** Call `fn` once the response is over (sent, or abandoned by the client): releases what the request holds. */
  onClose(fn: () => void): void;
  /** The class of the app's session object: `Session` or a subclass adding the framework's own methods. */
  readonly sessionClass?: typeof Session;
}

export class RequestState {
  protected cookieId: string | undefined;
  protected resign = false;
  /** The signed cookie value as received, reused when the same id is sent back under the current secret. */
  protected cookieValue: string | undefined;
  protected originalId: string | undefined;
  protected originalFp: string | undefined;
  protected savedId: string | undefined;
  protected savedFp: string | undefined;
  protected endFp: string | undefined;
  /** The session `endFp` was taken of. */
  protected endSess: Session | undefined;
  protected touched = false;
  protected disabled = false;
  protected meta: SessMeta | undefined;
  protected metaDirty = false;
  protected rotateDue = false;
  protected storedExpires: number | undefined;
  /** The stored cookie as loaded (or last saved), kept only for stores whose touch moves just the expiry. */
  protected loadedCookie: object | undefined;
  protected baseline: Map<string, string> | undefined;
  protected heldLock: SessionLock | undefined;
  protected lockedId: string | undefined;
  /** Set only while `sess:request` has subscribers. */
  trace: RequestTrace | undefined;

  constructor(
    protected readonly host: SessionHost,
    protected readonly o: ResolvedOptions,
    protected readonly gw: StoreGateway,
    protected readonly cookieOptions: CookieOptions,
  ) {}

  /** The carrier's session (undefined once destroyed or unset by the app). */
  get session(): Session | undefined {
    return this.host.carrier.session ?? undefined;
  }

  /** Take the verified cookie (or none) as this request's. */
  protected useCookie(verified: VerifiedCookie | undefined): void {
    this.cookieId = this.host.carrier.sessionID = verified?.id;
    this.resign = verified !== undefined && verified.secretIndex > 0;
    this.cookieValue = verified?.value;
  }

  /**
   * Take the session off the carrier (destroyed, or lost with the store): deleted, as express-session deletes
   * `req.session`; a carrier whose `session` is an accessor of its class (a per-request object of a binding)
   * is told `undefined`.
   */
  protected unsetSession(): void {
    const carrier = this.host.carrier;
    delete carrier.session;
    if (carrier.session !== undefined) carrier.session = undefined;
  }

  /** Stop: the request's session is neither written nor sent (a failure was reported). */
  disable(): void {
    this.disabled = true;
  }

  /** Whether the request holds the session's lock (its release comes before the response goes out). */
  get holdsLock(): boolean {
    return this.heldLock !== undefined;
  }

  protected isLive(record: SessionRecord, now: number, expires = expiresOf(record)): boolean {
    if (expires !== undefined && this.gw.checksCookieExpiry && !Number.isNaN(expires) && expires <= now) return false;
    const meta = record.__sess as SessMeta | undefined;
    if (this.o.absoluteTimeout > 0 && meta && typeof meta.createdAt === 'number' && meta.createdAt + this.o.absoluteTimeout <= now) {
      return false;
    }
    return true;
  }

  /** A new, empty session under a new id. `asOriginal` resets change detection (a fresh request). */
  generate(asOriginal: boolean): void {
    const { host, o } = this;
    const carrier = host.carrier;
    const id = newSessionId(host.request, o);
    carrier.sessionID = id;
    const sess = this.newSession();
    sess.cookie = new Cookie(this.cookieOptions);
    if (this.cookieOptions.secure === 'auto' || this.cookieOptions.sameSite === 'auto') {
      const secure = host.secure();
      if (this.cookieOptions.secure === 'auto') sess.cookie.secure = secure;
      if (this.cookieOptions.sameSite === 'auto') sess.cookie.sameSite = secure ? 'none' : 'lax';
    }
    carrier.session = sess;
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

  protected wantsMeta(): boolean {
    return this.o.absoluteTimeout > 0 || this.o.rotateEvery > 0 || this.o.userKey !== undefined;
  }

  /** The app's session object (the host's class) for the carrier's id, its methods reaching this request. */
  protected newSession(data?: Record<string, unknown>): Session {
    const sess = new (this.host.sessionClass ?? Session)(this.host.carrier as never, data);
    bindController(sess, this as unknown as SessionController);
    return sess;
  }

  protected install(record: SessionRecord, sid: string): Session {
    const carrier = this.host.carrier;
    carrier.sessionID = sid;
    const sess = this.newSession(record);
    sess.cookie = Cookie.fromData(record.cookie as unknown as Record<string, unknown>);
    carrier.session = sess;
    return sess;
  }

  protected inflate(record: SessionRecord, sid: string, now: number, expires: number | undefined): void {
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
    if (this.o.concurrency === 'merge') this.baseline = snapshot(sess);
  }

  // ---- decisions ---------------------------------------------------------------------------

  /** The decision table's inputs, for the carrier's session and id as read once by the caller. */
  protected state(sess: Session | undefined, sessionID: string | undefined): DecisionState {
    const fp = sess ? (this.endFp ?? fingerprint(sess)) : undefined;
    return {
      cookieId: this.cookieId,
      sessionID,
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

  /**
   * The Set-Cookie value this response carries, if any: a binding calls it once, as the response's headers
   * are about to go out. Resets the cookie's expiry first (as express-session does on every request).
   */
  setCookie(): string | undefined {
    if (this.disabled) return undefined;
    // The app's request object is read once per property here: an Express request has a hidden class of its own,
    // so each read of it is a slow lookup.
    const carrier = this.host.carrier;
    const sess = carrier.session ?? undefined;
    if (!sess) return undefined;
    const sid = carrier.sessionID;
    let set: boolean;
    try {
      set = shouldSetCookie(this.state(sess, sid));
    } catch {
      return undefined; // reported by the end-of-response operation
    }
    if (!set) return undefined;
    if (sess.cookie.secure && !this.host.secure()) {
      log('cookie is secure but the connection is not: not sent');
      return undefined;
    }
    this.touchCookie(sess);
    const signed = sid === this.cookieId && !this.resign && this.cookieValue !== undefined ? this.cookieValue : signId(sid as string, this.o.secrets[0]!, this.o.cookiePrefix);
    return serializeCookie(this.o.name, signed, sess.cookie);
  }

  /** Reset the cookie's expiry, as express-session does on every request (once). */
  protected touchCookie(sess: Session): void {
    if (this.touched) return;
    this.touched = true;
    const c = sess.cookie;
    c.maxAge = c.originalMaxAge;
  }

  // ---- what a write stores -----------------------------------------------------------------

  protected expiry(sess: Session): Date {
    const now = Date.now();
    const e = sess.cookie.expires;
    let t = e instanceof Date ? e.getTime() : now + this.o.browserSessionTtl;
    if (this.o.absoluteTimeout > 0 && this.meta) t = Math.min(t, this.meta.createdAt + this.o.absoluteTimeout);
    return new Date(t);
  }

  protected record(sess: Session): SessionRecord {
    return toRecord(sess, this.meta && this.wantsMeta() ? this.meta : undefined);
  }

  /** The write context; `fp` (the data's JSON) is given for full writes, which also get `json` and the size check. */
  protected context(sess: Session, rec: SessionRecord, fp?: string, expires = this.expiry(sess)): WriteContext {
    const ctx: WriteContext = { expires };
    if (fp !== undefined) {
      const json = recordJsonFrom(rec, fp, ctx);
      if (this.o.maxSize > 0) {
        const size = Buffer.byteLength(json);
        if (size > this.o.maxSize) throw new SessionTooLargeError(size, this.o.maxSize);
      }
      ctx.json = json;
    }
    if (this.o.userKey) {
      const k = this.o.userKey(sessionData(sess));
      ctx.userKey = k === null || k === undefined || k === '' ? null : String(k);
    }
    return ctx;
  }
}
