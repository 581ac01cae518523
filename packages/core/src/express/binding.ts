/**
 * The Express/Connect binding of the engine for one request: reads the cookie (or cookie-parser's), hands
 * the engine `req` as the session's carrier, adds the Set-Cookie value just before the headers are written,
 * and holds the response's `end` until the engine's end-of-response store write is done: a body up to 16 KiB
 * (or any body with `saveBeforeSend`) goes out in one write after it; a larger one streams as
 * express-session's does. The only binding that patches a response: other frameworks offer a hook for it.
 */
import type { NextFunction, Request, Response } from 'express';
import type { CookieOptions } from '../cookie.js';
import type { SessionEngine } from '../engine/engine.js';
import type { Done, SessionRequest } from '../engine/request.js';
import type { SessionCarrier, SessionHost } from '../engine/state.js';
import { BadDataError, SessError } from '../errors.js';
import { cookieParserValue } from '../signature.js';
import { appendSetCookie, beforeHeaders, endWith, isSecure, smallBody } from './response.js';
import type { EndFn } from './response.js';

/** A request cookie-parser went through. */
type CookieParsed = { signedCookies?: Record<string, unknown>; cookies?: Record<string, unknown> };

/** Run the session work of one Express request on `engine`: load, then `next`; write at the end of the response. */
export function runExpressRequest(engine: SessionEngine, req: Request, res: Response, next: NextFunction, cookieOptions: CookieOptions): void {
  new ExpressRequest(engine, req, res, next, cookieOptions).start();
}

/** One Express request's session work; it is its own {@link SessionHost} (no per-request closures for it). */
class ExpressRequest implements SessionHost {
  private readonly sr: SessionRequest;
  private next: NextFunction;
  /** The response's own `end`, put back when an error must reach the app's error handler. */
  private originalEnd: EndFn | undefined;
  readonly carrier: SessionCarrier;

  constructor(
    private readonly engine: SessionEngine,
    readonly request: Request,
    private readonly res: Response,
    next: NextFunction,
    cookieOptions: CookieOptions,
  ) {
    this.carrier = request as unknown as SessionCarrier;
    this.next = next;
    this.sr = engine.open(this, cookieOptions);
  }

  secure(): boolean {
    return isSecure(this.request, this.engine.options.proxy);
  }

  onClose(fn: () => void): void {
    this.res.once('close', fn);
  }

  start(): void {
    this.sr.start(() => this.begin());
  }

  private begin(): void {
    const { request: req, res, sr } = this;
    const trace = sr.trace;
    if (trace) {
      // The app's handlers go on in the request's own context, not in the trace's.
      const next = this.next;
      this.next = ((...args: unknown[]) => trace.outer(() => (next as (...a: unknown[]) => void)(...args))) as NextFunction;
      // A response closed without end() (the client went away, the app never answered): no write comes.
      res.once('close', () => {
        if (!trace.ending) trace.end(undefined);
      });
    }
    const o = this.engine.options;
    let verified = o.readCookie(req.headers.cookie);
    if (verified === undefined && ((req as CookieParsed).signedCookies || (req as CookieParsed).cookies)) {
      verified = cookieParserValue(req as CookieParsed, o.name, o.secrets, o.cookiePrefix);
    }
    beforeHeaders(res, () => {
      const header = sr.setCookie();
      if (header !== undefined) appendSetCookie(res, header);
    });
    this.hookEnd();
    sr.load(verified, (err) => (err === undefined ? this.next() : this.next(err)));
  }

  private hookEnd(): void {
    const { res, sr } = this;
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
      const trace = sr.trace;
      // A store with synchronous ops finishes inside commit; any other calls `later` afterwards.
      let inside = true;
      let finishedInside = false;
      let insideErr: unknown;
      let later: Done | undefined = undefined;
      const finished: Done = (err) => {
        trace?.end(err);
        if (inside) {
          finishedInside = true;
          insideErr = err;
        } else later!(err);
      };
      let started = false;
      if (trace) trace.ending = true;
      try {
        if (trace) trace.inner(() => (started = sr.commit(finished)));
        else started = sr.commit(finished);
      } catch (err) {
        trace?.end(err);
        return this.failBeforeSend(err, () => endWith(res, original, chunk, encoding, cb));
      } finally {
        inside = false;
      }
      if (!started) {
        trace?.end(undefined);
        void sr.releaseLock();
        return endWith(res, original, chunk, encoding, cb);
      }
      const beforeSend = this.engine.options.saveBeforeSend && !res.headersSent;
      if (finishedInside && !sr.holdsLock) {
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
  private endLater(original: EndFn, chunk: unknown, encoding: unknown, cb: unknown, beforeSend: boolean): Done {
    const { res, sr } = this;
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
      if (sr.holdsLock) void sr.releaseLock().then(() => after(err));
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
    this.sr.disable();
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
}
