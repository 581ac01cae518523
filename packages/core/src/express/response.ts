/**
 * What the Express binding does to Node's response, and only it: a listener just before the headers are
 * written (what `on-headers` does), the app's own `end` called with what is left to send, the small-body
 * test for holding a response while the store writes, and express-session's reading of a secure connection.
 */
import type { TLSSocket } from 'node:tls';
import type { Request, Response } from 'express';
import { forwardedHttps } from '../engine/secure.js';

export type EndFn = (chunk?: unknown, encoding?: unknown, cb?: unknown) => unknown;

/** Call the app's own `end`, with the chunk and encoding left to send (or, `withChunk` false, none). */
export function endWith(res: Response, original: EndFn, chunk: unknown, encoding: unknown, cb: unknown, withChunk = true): unknown {
  if (withChunk) return cb ? original.call(res, chunk, encoding, cb) : original.call(res, chunk, encoding);
  return cb ? original.call(res, cb) : original.call(res);
}

/** Is this request on a secure connection, as express-session decides it (`proxy` option). */
export function isSecure(req: Request, trustProxy: boolean | undefined): boolean {
  if ((req.socket as TLSSocket | undefined)?.encrypted) return true;
  if (trustProxy === false) return false;
  if (trustProxy !== true) return req.secure === true;
  return forwardedHttps(req.headers['x-forwarded-proto']);
}

/**
 * A body up to this size is held, with the headers, while the store writes at the end of a response, and
 * goes out in one socket write when it is done; a larger one streams early, as express-session's does.
 */
const HOLD_BYTES = 16 * 1024;

export function smallBody(chunk: unknown, encoding: unknown): boolean {
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

/** Add a Set-Cookie header line, keeping any the app set. */
export function appendSetCookie(res: Response, header: string): void {
  const prev = res.getHeader('Set-Cookie');
  res.setHeader('Set-Cookie', prev === undefined ? [header] : Array.isArray(prev) ? [...prev, header] : [String(prev), header]);
}
