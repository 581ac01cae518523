import type { TLSSocket } from 'node:tls';
import type { NextFunction, Request, Response } from 'express';
import onHeaders from 'on-headers';
import { Cookie, serializeCookie } from './cookie.js';
import type { CookieOptions } from './cookie.js';
import type { SessionLock, SessionRecord, WriteContext } from './contract.js';
import { shouldDestroy, shouldSave, shouldSetCookie, shouldTouch } from './decisions.js';
import type { DecisionState } from './decisions.js';
import { BadDataError, ErrorCodes, SessError, SessionTooLargeError } from './errors.js';
import type { StoreGateway } from './gateway.js';
import { generateSessionId, idTag } from './ids.js';
import { log } from './log.js';
import type { ResolvedOptions } from './options.js';
import { Session, kController, sessionData } from './session.js';
import type { SessionController } from './session.js';
import { readSessionCookie, signId } from './signature.js';

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

const asReq = (r: SessRequest): Request => r as unknown as Request;

type EndFn = (chunk?: unknown, encoding?: unknown, cb?: unknown) => unknown;

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
 * The life of one request's session: load, decide, save/touch/destroy, cookie. One instance per
 * request; the session methods (`req.session.save()` …) call into it.
 */
export class Lifecycle implements SessionController {
  private cookieId: string | undefined;
  private resign = false;
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
  private lockedId: string | undefined;

  constructor(
    private readonly req: SessRequest,
    private readonly res: Response,
    private readonly next: NextFunction,
    private readonly o: ResolvedOptions,
    private readonly gw: StoreGateway,
    private readonly cookieOptions: CookieOptions,
  ) {}

  /** Run the request: read the cookie, hook the response, load or create the session, call next. */
  start(): void {
    const { req, o } = this;
    let verified = readSessionCookie(req.headers.cookie, o.name, o.secrets);
    if (verified && !o.idPattern.test(verified.id)) {
      log('cookie id does not match the id grammar: ignored');
      verified = undefined;
    }
    this.cookieId = req.sessionID = verified?.id;
    this.resign = verified !== undefined && verified.secretIndex > 0;
    req[kController] = this;
    onHeaders(this.res, () => this.onHeaders());
    this.hookEnd();

    if (this.cookieId === undefined) {
      log('no session cookie: new session');
      this.safely(() => this.generate(true));
      return;
    }
    this.load(this.cookieId).then(
      () => this.next(),
      (err: unknown) => this.loadFailed(err),
    );
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

  private async load(sid: string): Promise<void> {
    if (this.o.concurrency === 'lock' && this.gw.canLock) await this.acquireLock(sid);
    if (log.enabled) log('loading %s', idTag(sid));
    const record = await this.gw.get(sid);
    const now = Date.now();
    if (record && this.isLive(record, now)) {
      this.gw.emit('load', sid);
      this.inflate(record, now);
      return;
    }
    if (record) {
      log('stored session expired (cookie expiry or absoluteTimeout): new session');
      this.gw.destroy(sid).catch(() => undefined);
    } else {
      log('no stored session: new session');
    }
    this.gw.emit('miss', sid);
    await this.releaseLock();
    this.generate(true);
  }

  private loadFailed(err: unknown): void {
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

  private isLive(record: SessionRecord, now: number): boolean {
    const exp = record.cookie.expires;
    if (exp != null && this.gw.checksCookieExpiry) {
      const t = new Date(exp as string).getTime();
      if (!Number.isNaN(t) && t <= now) return false;
    }
    const meta = record.__sess as SessMeta | undefined;
    if (this.o.absoluteTimeout > 0 && meta && typeof meta.createdAt === 'number' && meta.createdAt + this.o.absoluteTimeout <= now) {
      return false;
    }
    return true;
  }

  /** A new, empty session under a new id. `asOriginal` resets change detection (a fresh request). */
  generate(asOriginal: boolean): void {
    const { req, o } = this;
    const id = o.genid ? o.genid(asReq(req)) : generateSessionId();
    if (typeof id !== 'string' || !o.idPattern.test(id)) {
      throw new BadDataError('genid returned an id that does not match idPattern: return a URL-safe string, or set idPattern to match your ids', {
        code: ErrorCodes.BAD_ID,
      });
    }
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

  private inflate(record: SessionRecord, now: number): void {
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
    const exp = record.cookie.expires;
    this.storedExpires = exp == null ? undefined : new Date(exp as string).getTime();
    this.loadedCookie = this.gw.touchStoresCookie ? undefined : record.cookie;
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
    const header = serializeCookie(o.name, signId(req.sessionID as string, o.secrets[0]!), sess.cookie);
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
    const write = res.write as unknown as EndFn;
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
      const restore = () => {
        (res as unknown as { end: EndFn }).end = original;
      };
      const finalEnd = (...args: unknown[]) => original.call(res, ...args, ...(cb ? [cb] : []));

      let op: Promise<unknown> | undefined;
      try {
        op = this.endOperation();
      } catch (err) {
        return this.failBeforeSend(err, restore, () => finalEnd(chunk, encoding));
      }
      if (!op) {
        void this.releaseLock();
        return finalEnd(chunk, encoding);
      }
      const done = op.finally(() => this.releaseLock());

      if (this.o.saveBeforeSend && !res.headersSent) {
        done.then(
          () => finalEnd(chunk, encoding),
          (err: unknown) => this.failBeforeSend(err, restore, () => finalEnd(chunk, encoding)),
        );
        return res;
      }

      // express-session's streaming: headers and all but the last byte go out first, the rest after the store.
      let sync = true;
      let ret: unknown;
      const writeend = () => {
        if (sync) {
          ret = finalEnd(chunk, encoding);
          sync = false;
          return;
        }
        finalEnd();
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
      // A store that answers within this turn of the event loop (in-process stores) gets the response
      // in one write; a slower one gets express-session's early headers, one event-loop turn later.
      const early = setImmediate(writetop);
      done.then(
        () => {
          clearImmediate(early);
          writeend();
        },
        (err: unknown) => {
          clearImmediate(early);
          setImmediate(() => this.next(err));
          writeend();
        },
      );
      return res;
    };
  }

  /** A failure before anything was sent: the error goes to `next`, which can still answer (503, 500). */
  private failBeforeSend(err: unknown, restore: () => void, endAnyway: () => unknown): unknown {
    this.disabled = true;
    const typed = SessError.isInstance(err) ? err : new BadDataError('session could not be saved', { cause: err });
    if (this.res.headersSent) {
      setImmediate(() => this.next(typed));
      return endAnyway();
    }
    restore();
    setImmediate(() => this.next(typed));
    return true;
  }

  /** Decide and start what the end of the response needs from the store (or nothing). */
  private endOperation(): Promise<unknown> | undefined {
    const req = this.req;
    if (this.disabled) return undefined;
    const st0 = this.state();
    if (shouldDestroy(st0)) {
      log('session unset with unset: destroy: destroying');
      return this.gw.destroy(req.sessionID as string);
    }
    const sess = req.session;
    if (!sess) return undefined;
    this.endFp = fingerprint(sess);
    if (!this.touched) {
      this.touchCookie(sess);
      this.touched = true;
    }
    if (this.rotateDue && this.originalId === sess.id && typeof req.sessionID === 'string') {
      this.rotateDue = false;
      return this.rotateNow(sess);
    }
    const st = this.state();
    if (shouldSave(st)) return this.save(sess);
    if (this.gw.canTouch && shouldTouch(st)) return this.touchStore(sess);
    return undefined;
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
  private context(sess: Session, rec: SessionRecord, fp?: string): WriteContext {
    const ctx: WriteContext = { expires: this.expiry(sess) };
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
  async save(sess: Session): Promise<void> {
    if (log.enabled) log('saving %s', idTag(sess.id));
    const fp = this.endFp !== undefined && this.req.session === sess ? this.endFp : fingerprint(sess);
    this.savedId = sess.id;
    this.savedFp = fp;
    const rec = this.record(sess);
    const ctx = this.context(sess, rec, fp);
    this.metaDirty = false;
    if (this.loadedCookie !== undefined) this.loadedCookie = rec.cookie;
    if (this.baseline && this.gw.canPatch && this.originalId === sess.id && this.cookieId === sess.id) {
      const patch = { set: {} as Record<string, unknown>, unset: [] as string[], cookie: rec.cookie };
      const now = this.snapshot(sess);
      for (const [k, v] of now) if (this.baseline.get(k) !== v) patch.set[k] = rec[k];
      for (const k of this.baseline.keys()) if (!now.has(k)) patch.unset.push(k);
      if (rec.__sess !== undefined) patch.set.__sess = rec.__sess;
      const applied = await this.gw.patch(sess.id, patch, ctx);
      if (!applied) {
        log('session was destroyed meanwhile: not brought back');
        this.disabled = true;
        return;
      }
      this.baseline = now;
      this.storedExpires = ctx.expires.getTime();
      return;
    }
    await this.gw.set(sess.id, rec, ctx);
    this.storedExpires = ctx.expires.getTime();
  }

  private touchStore(sess: Session): Promise<void> | undefined {
    if (this.loadedCookie !== undefined && this.originalId === sess.id && cookieChanged(sess.cookie.data, this.loadedCookie)) {
      // This store's touch would keep only the new expiry: write the cookie too, so the change is kept. An
      // atomic patch of just the cookie never brings back a session destroyed meanwhile (a touch would not).
      if (!this.gw.canPatch) {
        log('cookie attributes changed and the store touches only the expiry: saving instead');
        return this.save(sess);
      }
      log('cookie attributes changed and the store touches only the expiry: patching the cookie instead');
      const rec = this.record(sess);
      const ctx = this.context(sess, rec);
      return this.gw.patch(sess.id, { set: {}, unset: [], cookie: rec.cookie }, ctx).then((applied) => {
        if (applied) {
          this.loadedCookie = rec.cookie;
          this.storedExpires = ctx.expires.getTime();
        } else log('session was destroyed meanwhile: not brought back');
      });
    }
    const target = this.expiry(sess).getTime();
    if (this.o.touchAfter > 0 && this.storedExpires !== undefined && target - this.storedExpires < this.o.touchAfter) {
      // Throttled: the store keeps its expiry; the cookie (if re-sent) says the same, so both agree.
      const c = sess.cookie;
      if (c.expires instanceof Date) {
        const originalMaxAge = c.originalMaxAge;
        c.expires = new Date(this.storedExpires);
        c.originalMaxAge = originalMaxAge;
      }
      return undefined;
    }
    if (log.enabled) log('touching %s', idTag(sess.id));
    const rec = this.record(sess);
    return this.gw.touch(sess.id, rec, this.context(sess, rec));
  }

  // ---- session methods ---------------------------------------------------------------------

  async reload(sess: Session): Promise<void> {
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
    } finally {
      await this.releaseLock();
    }
  }

  async regenerate(sess: Session): Promise<void> {
    let failure: unknown;
    try {
      await this.gw.destroy(sess.id);
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
    const newId = this.o.genid ? this.o.genid(asReq(req)) : generateSessionId();
    if (typeof newId !== 'string' || !this.o.idPattern.test(newId)) {
      throw new BadDataError('genid returned an id that does not match idPattern', { code: ErrorCodes.BAD_ID });
    }
    const data: Record<string, unknown> = { cookie: sess.cookie };
    Object.assign(data, sessionData(sess));
    req.sessionID = newId;
    const next = new Session(asReq(req), data);
    req.session = next;
    this.meta = { ...(this.meta ?? { createdAt: Date.now() }), rotatedAt: Date.now() };
    this.metaDirty = true;
    this.baseline = undefined;
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
