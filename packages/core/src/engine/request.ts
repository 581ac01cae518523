/**
 * One request's session, as a binding drives it: `start` (tracing), `load` (the cookie's session, or a new
 * one), `setCookie` (state.ts: the Set-Cookie value, as the headers go out) and `commit` (the store operation
 * the end of the response needs); the session methods (`req.session.save()` …) call into it. It knows nothing
 * of any framework's request or response: the binding hands it a {@link SessionHost}.
 */
import type { SessionPatch, SessionRecord, WriteContext } from '../contract.js';
import { shouldSave, shouldTouch } from '../decisions.js';
import { ErrorCodes, SessError } from '../errors.js';
import { idTag } from '../ids.js';
import { log } from '../log.js';
import type { Session, SessionController } from '../session.js';
import { sessionData } from '../session.js';
import type { VerifiedCookie } from '../signature.js';
import { cookieChanged, expiresOf, fingerprint, newSessionId, snapshot } from './record.js';
import { RequestState } from './state.js';
import { RequestTrace, requestChannel } from './trace.js';

/** How a store operation of the engine reports back: an error, or nothing. */
export type Done = (err?: unknown) => void;

export class SessionRequest extends RequestState implements SessionController {
  /** Run `begin` (which loads): traced on `sess:request` when it has subscribers. */
  start(begin: () => void): void {
    if (!requestChannel.hasSubscribers) {
      begin();
      return;
    }
    this.trace = new RequestTrace(this.gw.storeName);
    this.trace.run(begin);
  }

  /**
   * Load the session of the verified cookie (none: a new session). `done()` when the app may go on (with a
   * session, or without one under `onStoreError: 'continue'`), `done(err)` for its error handler. On a store
   * with synchronous ops, `done` may be called before this returns.
   */
  load(verified: VerifiedCookie | undefined, done: Done): void {
    if (verified && !this.o.idPattern.test(verified.id)) {
      log('cookie id does not match the id grammar: ignored');
      verified = undefined;
    }
    this.useCookie(verified);
    if (this.cookieId === undefined) {
      log('no session cookie: new session');
      try {
        this.generate(true);
      } catch (err) {
        done(err);
        return;
      }
      done();
      return;
    }
    if (this.o.concurrency === 'lock' && this.gw.canLock) {
      this.lockAndLoad(this.cookieId).then(
        () => done(),
        (err: unknown) => this.loadFailed(err, done),
      );
      return;
    }
    const sid = this.cookieId;
    if (log.enabled) log('loading %s', idTag(sid));
    this.gw.getThen(sid, (err, record) => {
      if (err) {
        this.loadFailed(err, done);
        return;
      }
      try {
        if (!this.loaded(sid, record!)) this.generate(true);
      } catch (e) {
        this.loadFailed(e, done);
        return;
      }
      done();
    });
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
      this.inflate(record, sid, now, expires);
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

  private loadFailed(err: unknown, done: Done): void {
    if (this.trace && this.trace.failure === undefined) this.trace.failure = err;
    this.disabled = true;
    if (this.o.onStoreError === 'continue' && SessError.isInstance(err) && (err.code === ErrorCodes.STORE || err.code === ErrorCodes.STORE_TIMEOUT)) {
      log('store failed on load: continuing without a session (onStoreError: continue)');
      this.unsetSession();
      done();
      return;
    }
    done(err);
  }

  /**
   * Decide and start what the end of the response needs from the store: true if an operation started
   * (`done` is called when it ends: before this returns on a store with synchronous ops, later on any
   * other), false if there is nothing to do. A throw (the data cannot be serialised) is a failure to report.
   */
  commit(done: Done): boolean {
    if (this.disabled) return false;
    // The app's request object is read once per property (see setCookie).
    const carrier = this.host.carrier;
    const sess = carrier.session ?? undefined;
    const sid = carrier.sessionID;
    if (!sess) {
      if (this.o.unsetDestroy && sid) {
        log('session unset with unset: destroy: destroying');
        this.gw.destroyThen(sid, (err) => {
          if (err === undefined) this.trace?.noteWrite(undefined, 'destroyed');
          done(err);
        });
        return true;
      }
      return false;
    }
    this.endFp = fingerprint(sess);
    this.endSess = sess;
    this.touchCookie(sess);
    if (this.rotateDue && this.originalId === sess.id && typeof sid === 'string') {
      this.rotateDue = false;
      this.rotateNow(sess).then(() => done(), done);
      return true;
    }
    const st = this.state(sess, sid);
    if (shouldSave(st)) {
      this.saveThen(sess, done);
      return true;
    }
    if (this.gw.canTouch && shouldTouch(st)) return this.touchStore(sess, done);
    return false;
  }

  // ---- promise form, for bindings whose framework awaits ------------------------------------

  /**
   * `start` and `load` as a promise, for a binding whose framework awaits (Fastify's async hooks, Koa, Hono):
   * resolves when the app may go on, rejects with what the app's error handling should get.
   */
  begin(verified: VerifiedCookie | undefined): Promise<void> {
    let loaded!: Promise<void>;
    this.start(() => {
      loaded = new Promise<void>((resolve, reject) => this.load(verified, (err) => (err === undefined ? resolve() : reject(err))));
    });
    const trace = this.trace;
    if (!trace) return loaded;
    // A failed load answers the request with an error: no end-of-response write will end the trace.
    return loaded.catch((err: unknown) => {
      trace.end(err);
      throw err;
    });
  }

  /**
   * The end of the response, for a binding whose framework awaits: the store write (`commit`), the lock
   * released, then the Set-Cookie value to send (if any). Rejects with the typed error when the write fails
   * (the request's session is then neither written nor sent).
   */
  async end(): Promise<string | undefined> {
    const trace = this.trace;
    if (trace) trace.ending = true;
    try {
      await new Promise<void>((resolve, reject) => {
        const run = () => {
          if (!this.commit((err) => (err === undefined ? resolve() : reject(err)))) resolve();
        };
        if (trace) trace.inner(run);
        else run();
      });
    } catch (err) {
      this.disable();
      trace?.end(err);
      await this.releaseLock();
      throw err;
    }
    trace?.end(undefined);
    await this.releaseLock();
    return this.setCookie();
  }

  // ---- store writes ------------------------------------------------------------------------

  /** Write the session now (req.session.save(), and the end of a request that changed it). */
  save(sess: Session): Promise<void> {
    // The fingerprint taken at the end of the response is stale for a save the app asks for after it (a
    // socket.io handler saving the handshake request's session): fingerprint the session as it is now.
    this.endFp = undefined;
    return new Promise<void>((resolve, reject) => this.saveThen(sess, (err) => (err === undefined ? resolve() : reject(err))));
  }

  /** `save`, calling back (always asynchronously) instead of returning a promise. */
  private saveThen(sess: Session, done: Done): void {
    let rec: SessionRecord;
    let ctx: WriteContext;
    let patch: SessionPatch | undefined;
    let after: Map<string, string> | undefined;
    try {
      if (log.enabled) log('saving %s', idTag(sess.id));
      const fp = this.endFp !== undefined && this.endSess === sess ? this.endFp : fingerprint(sess);
      this.savedId = sess.id;
      this.savedFp = fp;
      rec = this.record(sess);
      ctx = this.context(sess, rec, fp);
      this.metaDirty = false;
      if (this.loadedCookie !== undefined) this.loadedCookie = rec.cookie;
      if (this.baseline && this.gw.canPatch && this.originalId === sess.id && this.cookieId === sess.id) {
        patch = { set: {}, unset: [], cookie: rec.cookie };
        after = snapshot(sess);
        for (const [k, v] of after) if (this.baseline.get(k) !== v) patch.set[k] = rec[k];
        for (const k of this.baseline.keys()) if (!after.has(k)) patch.unset.push(k);
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
        this.baseline = after;
        this.storedExpires = ctx.expires.getTime();
        this.trace?.noteWrite(sess.id, 'saved');
        done();
      });
      return;
    }
    this.gw.setThen(sess.id, rec, ctx, (err) => {
      if (err) return done(err);
      this.storedExpires = ctx.expires.getTime();
      this.trace?.noteWrite(sess.id, 'saved');
      done();
    });
  }

  /** Whether the loaded session's cookie attributes (or `maxAge`) changed during this request. */
  private cookieChangedSinceLoad(sess: Session): boolean {
    return this.loadedCookie !== undefined && this.originalId === sess.id && cookieChanged(sess.cookie.data, this.loadedCookie);
  }

  /** Refresh the stored session's expiry at the end of a request that did not change it: true if started. */
  private touchStore(sess: Session, done: Done): boolean {
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
          this.trace?.noteWrite(sess.id, 'touched');
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
    const trace = this.trace;
    if (!trace) this.gw.touchThen(sess.id, rec, ctx, done);
    else
      this.gw.touchThen(sess.id, rec, ctx, (err) => {
        if (err === undefined) trace.noteWrite(sess.id, 'touched');
        done(err);
      });
    return true;
  }

  // ---- session methods ---------------------------------------------------------------------

  async reload(sess: Session): Promise<void> {
    this.endFp = undefined;
    const rec = await this.gw.get(sess.id);
    if (!rec || !this.isLive(rec, Date.now())) throw new SessError(ErrorCodes.NO_SESSION, 'failed to load session: it expired or was destroyed', { status: 500 });
    const fresh = this.install(rec, sess.id);
    if (this.loadedCookie !== undefined) this.loadedCookie = rec.cookie;
    if (this.baseline) this.baseline = snapshot(fresh);
  }

  async destroy(sess: Session): Promise<void> {
    this.unsetSession();
    if (log.enabled) log('destroying %s', idTag(sess.id));
    try {
      await this.gw.destroy(sess.id);
      this.trace?.noteWrite(sess.id, 'destroyed');
    } finally {
      await this.releaseLock();
    }
  }

  async regenerate(sess: Session): Promise<void> {
    let failure: unknown;
    try {
      await this.gw.destroy(sess.id);
      this.trace?.noteWrite(sess.id, 'destroyed');
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
    const carrier = this.host.carrier;
    const oldId = sess.id;
    const newId = newSessionId(this.host.request, this.o);
    const data: Record<string, unknown> = { cookie: sess.cookie };
    Object.assign(data, sessionData(sess));
    carrier.sessionID = newId;
    const next = this.newSession(data);
    carrier.session = next;
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
        if (this.baseline) this.baseline = snapshot(fresh);
      }
    }
  }

  private async acquireLock(sid: string): Promise<void> {
    this.heldLock = await this.gw.lock(sid, { ttlMs: this.o.lockTtl, waitMs: this.o.lockTimeout });
    this.lockedId = sid;
    this.host.onClose(() => void this.releaseLock());
  }

  /** Release the session's lock if this request holds it. */
  async releaseLock(): Promise<void> {
    const held = this.heldLock;
    if (!held) return;
    this.heldLock = undefined;
    this.lockedId = undefined;
    await held.release().catch((err: unknown) => log('lock release failed: %s', (err as Error)?.name));
  }
}
