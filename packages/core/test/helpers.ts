import type { Express } from 'express';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Counters and contents of a spy store. */
export interface SpyLog {
  get: number;
  set: number;
  touch: number;
  destroy: number;
  getIds: string[];
  data: Map<string, string>;
}

type BaseStoreCtor = new () => object;

/**
 * An express-session style callback store that records every call; built on the given base class
 * (express-session's Store or sess's Store) so each middleware gets its own compat base.
 */
export function makeSpyStore(Base: BaseStoreCtor): { store: object; log: SpyLog } {
  const log: SpyLog = { get: 0, set: 0, touch: 0, destroy: 0, getIds: [], data: new Map() };
  class SpyStore extends (Base as new () => object) {
    get(sid: string, cb: (err: unknown, sess?: unknown) => void) {
      log.get++;
      log.getIds.push(sid);
      const raw = log.data.get(sid);
      setImmediate(() => cb(null, raw ? JSON.parse(raw) : undefined));
    }
    set(sid: string, sess: unknown, cb: (err?: unknown) => void) {
      log.set++;
      log.data.set(sid, JSON.stringify(sess));
      setImmediate(() => cb());
    }
    touch(sid: string, sess: { cookie: unknown }, cb: (err?: unknown) => void) {
      log.touch++;
      const raw = log.data.get(sid);
      if (raw) {
        const cur = JSON.parse(raw);
        cur.cookie = JSON.parse(JSON.stringify(sess.cookie));
        log.data.set(sid, JSON.stringify(cur));
      }
      setImmediate(() => cb());
    }
    destroy(sid: string, cb: (err?: unknown) => void) {
      log.destroy++;
      log.data.delete(sid);
      setImmediate(() => cb());
    }
  }
  return { store: new SpyStore(), log };
}

/**
 * Wrap `store`'s get/set/touch/destroy on the instance with a forwarding spy, as apps do to count store calls
 * (`const set = store.set; store.set = function (...args) { n++; return set.apply(this, args) }`): the
 * store's own methods do the work. Returns the wrapper's counts.
 */
export function wrapWithForwardingSpy(store: object): SpyLog {
  const log: SpyLog = { get: 0, set: 0, touch: 0, destroy: 0, getIds: [], data: new Map() };
  const methods = store as Record<'get' | 'set' | 'touch' | 'destroy', (...args: unknown[]) => unknown>;
  for (const m of ['get', 'set', 'touch', 'destroy'] as const) {
    const original = methods[m];
    if (typeof original !== 'function') continue;
    methods[m] = function (this: unknown, ...args: unknown[]) {
      log[m]++;
      if (m === 'get') log.getIds.push(args[0] as string);
      return original.apply(this, args);
    };
  }
  return log;
}

/** A running server for an app, closed with `close()`. */
export async function listen(app: Express | http.RequestListener): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer(app as http.RequestListener);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** The `name=value` part of a Set-Cookie header for `name`, if present. */
export function cookieFrom(setCookie: string[] | undefined, name: string): string | undefined {
  const line = (setCookie ?? []).find((c) => c.startsWith(name + '='));
  return line?.split(';')[0];
}

/** Parse a Set-Cookie line into its attributes (lower-cased names). */
export function attributes(line: string): Record<string, string | true> {
  const out: Record<string, string | true> = {};
  for (const part of line.split(';').slice(1)) {
    const [k, ...v] = part.trim().split('=');
    out[k!.toLowerCase()] = v.length ? v.join('=') : true;
  }
  return out;
}

/** What the test client returns for a request. */
export interface ClientResponse {
  status: number;
  body: string;
  setCookie: string[];
  headers: globalThis.Headers;
}

/** A tiny cookie-jar client for one cookie name. */
export function client(base: string, name = 'connect.sid'): { jar: string | undefined; get(path: string, headers?: Record<string, string>): Promise<ClientResponse> } {
  let jar: string | undefined;
  return {
    get jar() {
      return jar;
    },
    set jar(v: string | undefined) {
      jar = v;
    },
    async get(path: string, headers: Record<string, string> = {}): Promise<ClientResponse> {
      const res = await fetch(base + path, { headers: { ...(jar ? { cookie: jar } : {}), ...headers }, redirect: 'manual' });
      const setCookie = res.headers.getSetCookie();
      const c = cookieFrom(setCookie, name);
      if (c) jar = c;
      return { status: res.status, body: await res.text(), setCookie, headers: res.headers };
    },
  };
}
