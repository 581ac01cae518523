import { randomUUID } from 'node:crypto';
import { Store } from './store.js';
import type {
  SessionLock,
  SessionPatch,
  SessionRecord,
  SessionStore,
  StoredSession,
  StoreCapabilities,
  SyncStoreOps,
  UserSessionInfo,
  WriteContext,
} from './contract.js';
import { ConfigError, LockTimeoutError } from './errors.js';
import { es5Constructor } from './es5.js';
import { acceptCallbacks, isStoreMethod } from './callback.js';
import type { Callback } from './callback.js';
import { checkOptions } from './store-kit.js';
import { COOKIE_JSON, setStoreExpires } from './contract.js';
import type { WithCookieJson } from './contract.js';
import { flat, ownCopy } from './strings.js';

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** Most sessions kept; past it the least recently used is dropped. Default 100000. */
  max?: number;
  /** How often expired sessions are pruned, in ms (the timer does not keep the process alive). Default 60000; 0 disables. */
  checkPeriod?: number;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
}

interface Entry {
  sid: string;
  /** Neighbours in recency order (an intrusive list: a read moves an entry without touching the Map). */
  older: Entry | null;
  newer: Entry | null;
  /** The record's JSON, cookie first (`{"cookie":{…},"k":v}`), one flat string. */
  json: string;
  /** Length of the cookie's JSON in it, after `{"cookie":` (a touch replaces just that). */
  headLen: number;
  expiresAt: number;
  createdAt: number;
  lastSeenAt: number;
  userKey: string | null;
}

const COOKIE_PREFIX = '{"cookie":';

function parse(e: Entry): SessionRecord {
  const record = JSON.parse(e.json) as SessionRecord;
  // A browser-session cookie says nothing of its expiry: report the store's (touchAfter applies to it too).
  return record.cookie.expires == null ? setStoreExpires(record, e.expiresAt) : record;
}

interface LockState {
  token: string;
  expiresAt: number;
  waiters: Array<() => void>;
}

const MEMORY_CAPABILITIES: StoreCapabilities = Object.freeze({
  touch: true,
  enumerate: true,
  clear: true,
  shared: false,
  expiryResolution: 1,
  atomicPatch: true,
  lock: true,
  userIndex: true,
});

const MEMORY_OPTIONS = { known: ['max', 'checkPeriod', 'now'] };

/**
 * A bounded in-process store for development and tests: LRU past `max` entries, expired sessions
 * pruned on a timer that does not keep the process alive. Not shared between processes.
 */
class MemoryStoreClass extends Store implements SessionStore {
  declare readonly capabilities: StoreCapabilities;
  declare private readonly sessions: Map<string, Entry>;
  /** Least and most recently used entries. */
  declare private oldest: Entry | null;
  declare private newest: Entry | null;
  declare private readonly users: Map<string, Set<string>>;
  declare private readonly locks: Map<string, LockState>;
  declare private readonly max: number;
  declare private readonly now: () => number;
  declare private timer: NodeJS.Timeout | undefined;
  declare private readonly syncOps: SyncStoreOps;

  constructor(options: MemoryStoreOptions = {}) {
    super();
    MemoryStoreClass.setup(this, options);
  }

  /** What the constructor sets up; also run by `MemoryStore.call(this, options)` in an ES5 subclass. */
  static setup(self: MemoryStoreClass, options: MemoryStoreOptions = {}): void {
    const max = options.max ?? 100_000;
    if (!Number.isInteger(max) || max < 1) {
      throw new ConfigError('MemoryStore max must be a positive integer: new MemoryStore({ max: 10000 })');
    }
    checkOptions('MemoryStore', options, MEMORY_OPTIONS);
    Object.assign(self, {
      capabilities: MEMORY_CAPABILITIES,
      sessions: new Map(),
      oldest: null,
      newest: null,
      users: new Map(),
      locks: new Map(),
      max,
      now: options.now ?? Date.now,
      timer: undefined,
      syncOps: {
        get: (sid: string) => self.getNow(sid),
        set: (sid: string, record: SessionRecord, ctx: WriteContext) => self.write(sid, record, ctx, self.live(sid)),
        destroy: (sid: string) => self.remove(sid),
        touch: (sid: string, record: SessionRecord, ctx: WriteContext) => self.touchNow(sid, record, ctx),
      } satisfies SyncStoreOps,
    });
    const period = options.checkPeriod ?? 60_000;
    if (period > 0) {
      self.timer = setInterval(() => self.prune(), period);
      self.timer.unref();
    }
  }

  /** Remove every expired session now. Resolves how many were removed. */
  prune(): number {
    const now = this.now();
    let n = 0;
    for (const [sid, e] of this.sessions) {
      if (e.expiresAt <= now) {
        this.remove(sid);
        n++;
      }
    }
    return n;
  }

  private live(sid: string): Entry | undefined {
    const e = this.sessions.get(sid);
    if (!e) return undefined;
    if (e.expiresAt <= this.now()) {
      this.remove(sid);
      return undefined;
    }
    return e;
  }

  private remove(sid: string): void {
    const e = this.sessions.get(sid);
    if (!e) return;
    this.sessions.delete(sid);
    this.unlink(e);
    if (e.userKey !== null) this.unindex(e.userKey, sid);
  }

  private unlink(e: Entry): void {
    if (e.older) e.older.newer = e.newer;
    else this.oldest = e.newer;
    if (e.newer) e.newer.older = e.older;
    else this.newest = e.older;
    e.older = e.newer = null;
  }

  private append(e: Entry): void {
    e.older = this.newest;
    e.newer = null;
    if (this.newest) this.newest.newer = e;
    else this.oldest = e;
    this.newest = e;
  }

  /** Mark `e` as the most recently used. */
  private used(e: Entry): void {
    if (this.newest === e) return;
    this.unlink(e);
    this.append(e);
  }

  private unindex(userKey: string, sid: string): void {
    const set = this.users.get(userKey);
    if (!set) return;
    set.delete(sid);
    if (set.size === 0) this.users.delete(userKey);
  }

  private write(sid: string, record: SessionRecord, ctx: WriteContext, prev: Entry | undefined): void {
    const now = this.now();
    const expiresAt = ctx.expires.getTime();
    if (!(expiresAt > now)) {
      this.remove(sid);
      return;
    }
    const known = (ctx as WithCookieJson)[COOKIE_JSON];
    let json: string;
    let head: string;
    if (known !== undefined && known.of === record.cookie && ctx.json !== undefined) {
      // Core's own write: ctx.json starts with the cookie's JSON, which core serialised once already.
      head = known.json;
      json = ctx.json;
    } else {
      head = JSON.stringify(record.cookie);
      const prefix = COOKIE_PREFIX + head;
      json = ctx.json !== undefined && ctx.json.startsWith(prefix) ? ctx.json : JSON.stringify(record);
      if (!json.startsWith(prefix)) {
        // cookie first, as express-session stores it
        const ordered: SessionRecord = { cookie: record.cookie };
        for (const k of Object.keys(record)) if (k !== 'cookie') ordered[k] = record[k];
        json = JSON.stringify(ordered);
      }
    }
    json = flat(json);
    const userKey = ctx.userKey === undefined ? (prev?.userKey ?? null) : ctx.userKey;
    if (prev) {
      if (prev.userKey !== null && prev.userKey !== userKey) this.unindex(prev.userKey, sid);
      prev.json = json;
      prev.headLen = head.length;
      prev.expiresAt = expiresAt;
      prev.lastSeenAt = now;
      prev.userKey = userKey;
      this.used(prev);
    } else {
      const key = ownCopy(sid);
      const e: Entry = { sid: key, older: null, newer: null, json, headLen: head.length, expiresAt, createdAt: now, lastSeenAt: now, userKey };
      this.sessions.set(key, e);
      this.append(e);
    }
    if (userKey !== null) {
      let set = this.users.get(userKey);
      if (!set) this.users.set(userKey, (set = new Set()));
      set.add(sid);
    }
    while (this.sessions.size > this.max && this.oldest) this.remove(this.oldest.sid);
  }

  /**
   * The synchronous operations core uses (no promise per request). Withdrawn in a subclass (which may
   * override `sync` to offer its own) and while anything but the store's own `get`, `set`, `touch` or
   * `destroy` stands in its place (a wrapper counting calls, `jest.spyOn`, a Proxy), so what is there is
   * what core calls.
   */
  get sync(): SyncStoreOps | undefined {
    if (Object.getPrototypeOf(this) !== MemoryStoreClass.prototype) return undefined;
    // Anything in a method's place but its own (on the instance, the prototype, or through a Proxy).
    if (!isStoreMethod(this.get) || !isStoreMethod(this.set) || !isStoreMethod(this.touch) || !isStoreMethod(this.destroy)) return undefined;
    return this.syncOps;
  }

  get(sid: string): Promise<SessionRecord | null>;
  /** express-session's callback form (added by acceptCallbacks). */
  get(sid: string, cb: Callback<SessionRecord | undefined>): void;
  async get(sid: string): Promise<SessionRecord | null> {
    return this.getNow(sid);
  }

  private getNow(sid: string): SessionRecord | null {
    const e = this.live(sid);
    if (!e) return null;
    this.used(e);
    return parse(e);
  }

  async set(sid: string, record: SessionRecord, ctx: WriteContext): Promise<void> {
    this.syncOps.set(sid, record, ctx);
  }

  destroy(sid: string): Promise<void>;
  /** express-session's callback form (added by acceptCallbacks). */
  destroy(sid: string, cb: Callback): void;
  async destroy(sid: string): Promise<void> {
    this.syncOps.destroy(sid);
  }

  async touch(sid: string, record: SessionRecord, ctx: WriteContext): Promise<void> {
    this.touchNow(sid, record, ctx);
  }

  private touchNow(sid: string, record: SessionRecord, ctx: WriteContext): void {
    const e = this.live(sid);
    if (!e) return;
    const now = this.now();
    const expiresAt = ctx.expires.getTime();
    if (!(expiresAt > now)) {
      this.remove(sid);
      return;
    }
    const head = JSON.stringify(record.cookie);
    // Flat: kept as its pieces, the splice would hold a slice of the previous JSON (~250 bytes a touched session).
    e.json = flat(COOKIE_PREFIX + head + e.json.slice(COOKIE_PREFIX.length + e.headLen));
    e.headLen = head.length;
    e.expiresAt = expiresAt;
    e.lastSeenAt = now;
    this.used(e);
  }

  async patch(sid: string, patch: SessionPatch, ctx: WriteContext): Promise<boolean> {
    const e = this.live(sid);
    if (!e) return false;
    const stored = parse(e);
    const next: SessionRecord = { cookie: patch.cookie };
    for (const k of Object.keys(stored)) if (k !== 'cookie') next[k] = stored[k];
    for (const k of patch.unset) delete next[k];
    for (const k of Object.keys(patch.set)) next[k] = patch.set[k];
    // ctx.json is this request's whole record: the point of a patch is not to write that.
    this.write(sid, next, { expires: ctx.expires, userKey: ctx.userKey }, e);
    return true;
  }

  async lock(sid: string, opts: { ttlMs: number; waitMs: number }): Promise<SessionLock> {
    const deadline = this.now() + opts.waitMs;
    for (;;) {
      const held = this.locks.get(sid);
      const now = this.now();
      if (!held || held.expiresAt <= now) {
        const token = randomUUID();
        const state: LockState = { token, expiresAt: now + opts.ttlMs, waiters: held?.waiters ?? [] };
        this.locks.set(sid, state);
        return {
          release: async () => {
            const cur = this.locks.get(sid);
            if (!cur || cur.token !== token) return;
            const next = cur.waiters.shift();
            if (cur.waiters.length === 0 && !next) this.locks.delete(sid);
            else cur.expiresAt = 0;
            next?.();
          },
        };
      }
      const left = Math.min(deadline - now, held.expiresAt - now);
      if (deadline - now <= 0) throw new LockTimeoutError(opts.waitMs);
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          const i = held.waiters.indexOf(wake);
          if (i >= 0) held.waiters.splice(i, 1);
          resolve();
        }, Math.max(1, left));
        const wake = () => {
          clearTimeout(t);
          resolve();
        };
        held.waiters.push(wake);
      });
    }
  }

  async listUser(userKey: string): Promise<UserSessionInfo[]> {
    const out: UserSessionInfo[] = [];
    for (const sid of [...(this.users.get(userKey) ?? [])]) {
      const e = this.live(sid);
      if (!e) continue;
      out.push({ id: sid, createdAt: e.createdAt, lastSeenAt: e.lastSeenAt, expiresAt: e.expiresAt, record: parse(e) });
    }
    return out;
  }

  async destroyUser(userKey: string, except: string[] = []): Promise<number> {
    let n = 0;
    for (const sid of [...(this.users.get(userKey) ?? [])]) {
      if (except.includes(sid)) continue;
      if (this.live(sid)) n++;
      this.remove(sid);
    }
    return n;
  }

  async *scan(): AsyncIterable<StoredSession> {
    const now = this.now();
    // A snapshot of the ids: sessions written meanwhile are not yielded, none is yielded twice.
    for (const sid of [...this.sessions.keys()]) {
      const e = this.sessions.get(sid);
      if (!e || e.expiresAt <= now) continue;
      yield { id: sid, record: parse(e), expires: e.expiresAt, userKey: e.userKey };
    }
  }

  async ids(): Promise<string[]> {
    this.prune();
    return [...this.sessions.keys()];
  }

  all(): Promise<Record<string, SessionRecord>>;
  /** express-session's callback form (added by acceptCallbacks). */
  all(cb: Callback<Record<string, SessionRecord>>): void;
  async all(): Promise<Record<string, SessionRecord>> {
    this.prune();
    const out: Record<string, SessionRecord> = {};
    for (const [sid, e] of this.sessions) out[sid] = parse(e);
    return out;
  }

  length(): Promise<number>;
  /** express-session's callback form (added by acceptCallbacks). */
  length(cb: Callback<number>): void;
  async length(): Promise<number> {
    this.prune();
    return this.sessions.size;
  }

  clear(): Promise<void>;
  /** express-session's callback form (added by acceptCallbacks). */
  clear(cb: Callback): void;
  async clear(): Promise<void> {
    this.sessions.clear();
    this.oldest = this.newest = null;
    this.users.clear();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/**
 * See {@link MemoryStoreClass}. Subclass it as express-session's: `class extends MemoryStore`, or ES5 style
 * with `MemoryStore.call(this, options)`. Every method also takes express-session's callback signature.
 */
export const MemoryStore = es5Constructor('MemoryStore', acceptCallbacks(MemoryStoreClass), (self, [options]) => {
  Store.call(self);
  MemoryStoreClass.setup(self, options as MemoryStoreOptions);
});
export type MemoryStore = MemoryStoreClass;
