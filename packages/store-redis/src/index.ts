import { createHash, randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { Cluster, Redis } from 'ioredis';
import {
  BadDataError,
  ConfigError,
  INCUMBENT_OPTION_HINTS,
  InvalidSessionIdError,
  StoreError,
  cookieExpired,
  withStoreExpiry,
  setStoreExpires,
  decodeRecord,
  pollLock,
  recordJson,
  refuseOptions,
  takeUserKey,
  userSessionInfo,
  type SessionLock,
  type SessionPatch,
  type SessionRecord,
  type SessionStore,
  type StoredSession,
  type StoreCapabilities,
  type UserSessionInfo,
  type WriteContext, acceptCallbacks
} from '@sess/core';
import type { Callback } from '@sess/core';
import { CAS_SCRIPT, DEFAULT_PREFIX, RELEASE_SCRIPT, TOUCH_SCRIPT, escapeGlob } from './schema.js';

/** Options of {@link RedisStore}. */
export interface RedisStoreOptions {
  /** An ioredis `Redis` (standalone or Sentinel) or `Cluster`. The store never closes a client it was given. */
  client?: Redis | Cluster;
  /** A `redis://` URL, when the store should create (and own) its client. */
  url?: string;
  /** Key prefix. Default `sess:` (connect-redis's). */
  prefix?: string;
  /** Keys per SCAN step for `ids`/`all`/`length`/`clear`. Default 100. */
  scanCount?: number;
  /** ioredis command timeout (ms) for a client this store creates. Default none: core's storeTimeout bounds every operation. */
  commandTimeout?: number;
  /**
   * Send the commands issued within one turn of the event loop to Redis in one socket write (the client's
   * socket is corked until `setImmediate`), as node-redis does by default. Default: true, for a client the
   * store creates (which then runs without ioredis auto-pipelining) and for a `Redis` client it is given
   * (the application's own commands issued in the same turn share that write); false for a given client
   * created with `enableAutoPipelining` (it batches already) and for a Cluster (use ioredis's
   * `enableAutoPipelining` there).
   */
  batchWrites?: boolean;
  /**
   * Opt-in durability across a failover: after each write (set, touch, patch, destroy, destroyUser) and lock, wait with
   * Redis `WAIT` until this many replicas have it, for at most `timeoutMs` (default 500). Fewer in time: the
   * write fails with a StoreError, so it is never acknowledged to the user (with session()'s
   * `saveBeforeSend: true` the request gets the error instead of a success). Redis replicates
   * asynchronously: without it a write acknowledged just before the primary dies can be lost when a replica is
   * promoted (docs/reliability.md measures both). Costs one round trip per write.
   */
  waitReplicas?: number | { replicas: number; timeoutMs?: number };
}

const ID = /^[A-Za-z0-9_-]{1,255}$/;
const CAS_RETRIES = 50;
/** Sessions handled per round of listUser and destroyUser (one MGET, one ZREM, one WAIT). */
const USER_CHUNK = 500;

interface Parsed {
  record: SessionRecord;
  userKey: string | null;
}

/**
 * Redis session store on ioredis, the layout connect-redis uses (`<prefix><sid>` → JSON, TTL in seconds
 * to the expiry, rounded up), so users can switch either way without logging anyone out.
 */
export class RedisStore implements SessionStore {
  readonly capabilities: StoreCapabilities = Object.freeze({
    touch: true,
    enumerate: true,
    clear: true,
    shared: true,
    expiryResolution: 1000,
    atomicPatch: true,
    lock: true,
    userIndex: true,
  });

  /** The ioredis client. */
  readonly client: Redis | Cluster;
  /** The key prefix. */
  readonly prefix: string;
  /** `waitReplicas`, resolved. */
  private waitFor: { replicas: number; timeoutMs: number } | undefined;
  private readonly owned: boolean;
  private readonly scanCount: number;
  private readonly batchWrites: boolean;
  /** The socket corked for this turn of the event loop, if any (see `batchWrites`). */
  private corked: Socket | null = null;
  /** The writes waiting for the next shared WAIT (waitReplicas, one connection), and whether one is scheduled or out. */
  private waiters: Array<{ resolve: (n: number) => void; reject: (err: unknown) => void }> = [];
  private waitBusy = false;
  /** How many times the connection has closed (waitReplicas, one connection): a write's WAIT must answer on its own. */
  private closes = 0;
  /** Set once this instance has written a user key: touches then keep the index's expiry in step. */
  private indexed = false;
  /**
   * Whether the last record read or written had a browser-session cookie (no expiry of its own): the next read
   * then asks for the key's TTL with the value, in one round trip, since such a record needs it. An app's
   * sessions are nearly all one kind, so this guesses right from the first write or read of a process on.
   */
  private browserSessions = false;

  constructor(options: RedisStoreOptions = {}) {
    refuseOptions('RedisStore', options, {
      ttl: INCUMBENT_OPTION_HINTS.ttl,
      disableTouch: INCUMBENT_OPTION_HINTS.disableTouch,
      disableTTL: INCUMBENT_OPTION_HINTS.disableTTL,
      serializer: INCUMBENT_OPTION_HINTS.serializer,
    }, { known: ['client', 'url', 'prefix', 'scanCount', 'commandTimeout', 'batchWrites', 'waitReplicas'] });
    const wait = options.waitReplicas;
    if (wait !== undefined) {
      const replicas = typeof wait === 'number' ? wait : wait?.replicas;
      const timeoutMs = typeof wait === 'number' ? 500 : (wait?.timeoutMs ?? 500);
      if (!Number.isInteger(replicas) || (replicas as number) < 1 || !Number.isInteger(timeoutMs) || timeoutMs < 1) {
        throw new ConfigError('RedisStore waitReplicas must be a number of replicas (at least 1), or { replicas, timeoutMs }: new RedisStore({ waitReplicas: { replicas: 1, timeoutMs: 500 } })');
      }
      this.waitFor = { replicas: replicas as number, timeoutMs };
    }
    if (options.client && options.url) throw new ConfigError('RedisStore takes a client or a url, not both');
    if (options.batchWrites !== undefined && typeof options.batchWrites !== 'boolean') {
      throw new ConfigError('RedisStore batchWrites must be true or false');
    }
    if (options.client) {
      this.client = options.client;
      this.owned = false;
      if (options.batchWrites && options.client instanceof Cluster) {
        throw new ConfigError("RedisStore batchWrites is for one Redis connection; for a Cluster, create it with ioredis's enableAutoPipelining");
      }
      // Most apps give a client (connect-redis's README does): batched by default, or every command is its
      // own packet and Redis's single thread pays a read and a write per command.
      const autoPipelined = (options.client as { options?: { enableAutoPipelining?: boolean } }).options?.enableAutoPipelining === true;
      this.batchWrites = options.batchWrites ?? (!(options.client instanceof Cluster) && !autoPipelined);
    } else {
      const url = options.url ?? 'redis://127.0.0.1:6379';
      if (!/^rediss?:\/\//.test(url)) throw new ConfigError('RedisStore url must be redis:// or rediss://: new RedisStore({ url: "redis://127.0.0.1:6379" })');
      this.batchWrites = options.batchWrites ?? true;
      // Concurrent requests' commands share socket writes either way: by corking (batchWrites) or, without
      // it, by ioredis's auto-pipelining, which costs a pipeline object per batch.
      this.client = new Redis(url, {
        ...(options.commandTimeout ? { commandTimeout: options.commandTimeout } : {}),
        maxRetriesPerRequest: 1,
        enableAutoPipelining: !this.batchWrites,
      });
      this.owned = true;
    }
    // A write's WAIT must answer on the connection the write used (see replicated()): count its closes. (A Cluster
    // aborts a pipeline whose node connection closes; it is not resent.)
    if (this.waitFor && !(this.client instanceof Cluster)) this.client.on('close', () => void this.closes++);
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    if (typeof this.prefix !== 'string') throw new ConfigError('RedisStore prefix must be a string: new RedisStore({ prefix: "sess:" })');
    this.scanCount = options.scanCount ?? 100;
  }

  /** Run a script by its SHA (EVALSHA), loading it on first use (NOSCRIPT). */
  private async script(src: string, keys: string[], args: string[]): Promise<unknown> {
    let sha = RedisStore.shas.get(src);
    if (!sha) {
      sha = createHash('sha1').update(src).digest('hex');
      RedisStore.shas.set(src, sha);
    }
    try {
      return await this.redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!String((err as Error)?.message).startsWith('NOSCRIPT')) throw err;
      return this.redis.eval(src, keys.length, ...keys, ...args);
    }
  }

  private static readonly shas = new Map<string, string>();

  /**
   * The client, for a command. With `batchWrites`, the first command of an event-loop turn corks the
   * connection's socket and `setImmediate` uncorks it: the commands of every request handled in that turn
   * leave in one write, and their replies come back together.
   */
  private get redis(): Redis | Cluster {
    if (this.batchWrites && this.corked === null) {
      const client = this.client as Redis;
      const socket = client.status === 'ready' ? (client.stream as Socket | undefined) : undefined;
      if (socket && typeof socket.cork === 'function' && !socket.destroyed) {
        socket.cork();
        this.corked = socket;
        setImmediate(this.uncork);
      }
    }
    return this.client;
  }

  private readonly uncork = (): void => {
    const socket = this.corked;
    this.corked = null;
    socket?.uncork();
  };

  private key(sid: string): string {
    if (typeof sid !== 'string' || !ID.test(sid)) throw new InvalidSessionIdError();
    return this.prefix + sid;
  }

  private indexKey(userKey: string): string {
    return `sessidx:${this.prefix}user:${userKey}`;
  }

  /**
   * With `waitReplicas`: wait until enough replicas have this connection's writes so far (WAIT), on the node
   * holding `key` for a Cluster; a StoreError when fewer have them in time.
   */
  private async replicated(key: string, operation: string, since: number): Promise<void> {
    const w = this.waitFor;
    if (!w) return;
    let acked: number;
    if (this.client instanceof Cluster) {
      // A pipeline goes to the node serving its key's slot, over the connection the write used.
      const replies = await this.client.pipeline().exists(key).wait(w.replicas, w.timeoutMs).exec();
      const [err, n] = replies?.[1] ?? [new Error('no reply to WAIT'), 0];
      if (err) throw err;
      acked = Number(n);
    } else acked = await this.sharedWait();
    // WAIT counts the writes of the connection it is sent on. Once the connection has closed, ioredis sends the
    // WAIT again on the next one (to the promoted replica, after a failover), where it vouches for nothing written
    // before: a write is not acknowledged when the connection closed between its start and its WAIT's answer.
    if (this.closes !== since) {
      throw new StoreError(operation, `Redis ${operation}: the connection closed before WAIT confirmed the write (waitReplicas): not acknowledged`);
    }
    if (acked < w.replicas) {
      throw new StoreError(operation, `Redis ${operation}: the write reached ${acked} of ${w.replicas} replica${w.replicas === 1 ? '' : 's'} within ${w.timeoutMs} ms (waitReplicas): not acknowledged`);
    }
  }

  /**
   * One `WAIT` for every write that asks within a turn of the event loop: WAIT covers all the writes sent on the
   * connection before it, and it blocks the connection until it answers. One per write would queue them: with a
   * replica lagging, 50 concurrent writes took 50 timeouts in a row (8 s for 100 ms each), and every read behind
   * them on the connection waited too. A write that asks while a WAIT is out joins the next one, sent when that
   * one answers (the WAIT out may have left before the write did).
   */
  private sharedWait(): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.pumpWait();
    });
  }

  private pumpWait(): void {
    if (this.waitBusy || this.waiters.length === 0) return;
    this.waitBusy = true;
    setImmediate(() => {
      const batch = this.waiters;
      this.waiters = [];
      const { replicas, timeoutMs } = this.waitFor!;
      (this.client as Redis).wait(replicas, timeoutMs).then(
        (n) => batch.forEach((b) => b.resolve(n)),
        (err: unknown) => batch.forEach((b) => b.reject(err)),
      ).finally(() => {
        this.waitBusy = false;
        this.pumpWait();
      });
    });
  }

  private lockKey(sid: string): string {
    this.key(sid);
    return `sesslock:${this.prefix}${sid}`;
  }

  /** Decode a stored value; BadDataError for JSON that is not a session record. */
  private parse(value: string): Parsed {
    const record = decodeRecord(value, 'Redis');
    return { record, userKey: takeUserKey(record) };
  }

  private ttlSeconds(ctx: WriteContext): number {
    return Math.ceil((ctx.expires.getTime() - Date.now()) / 1000);
  }

  private async reindex(sid: string, before: string | null, after: string | null, expiresAt: number): Promise<void> {
    if (before !== null && before !== after) await this.redis.zrem(this.indexKey(before), sid);
    if (after !== null) {
      const k = this.indexKey(after);
      // Sent together, in this order (one connection runs them in order): one round trip, not three.
      await Promise.all([this.redis.zadd(k, expiresAt, sid), this.redis.pexpireat(k, expiresAt, 'GT'), this.redis.pexpireat(k, expiresAt, 'NX')]);
    }
  }

  /**
   * Whether a record read from `key` is live. connect-redis touches with EXPIRE alone, so a session it kept
   * alive can hold a cookie that expired long ago: then the key's TTL decides, and the record reports it as
   * its cookie expiry (one PTTL, only for such records).
   */
  private async live(key: string, record: SessionRecord, sentPttl?: Promise<number>): Promise<boolean> {
    if (record.cookie.expires == null) {
      // A browser-session cookie: the key's TTL is the only expiry there is. Reported beside the record
      // (STORE_EXPIRES) so core can leave a recently touched session alone (touchAfter, the touch floor).
      this.browserSessions = true;
      const pttl = await (sentPttl ?? this.redis.pttl(key));
      if (pttl === -2) return false;
      if (pttl > 0) setStoreExpires(record, Date.now() + pttl);
      return true;
    }
    this.browserSessions = false;
    if (!cookieExpired(record)) return true;
    const pttl = await (sentPttl ?? this.redis.pttl(key));
    if (pttl <= 0) return false;
    withStoreExpiry(record, Date.now() + pttl);
    return !cookieExpired(record);
  }

  get(sid: string): Promise<SessionRecord | null>;
  /** express-session's callback form (added by acceptCallbacks). */
  get(sid: string, cb: Callback<SessionRecord | undefined>): void;
  async get(sid: string): Promise<SessionRecord | null> {
    const key = this.key(sid);
    // After a browser-session record, GET and PTTL go out together: one round trip (the same connection answers
    // in order; on a Cluster both name the same slot). A failed PTTL surfaces only if its answer is used.
    const read = this.redis.get(key);
    const sentPttl = this.browserSessions ? this.redis.pttl(key) : undefined;
    sentPttl?.catch(() => undefined);
    const value = await read;
    if (value === null) return null;
    const { record } = this.parse(value);
    return (await this.live(key, record, sentPttl)) ? record : null;
  }

  async set(sid: string, record: SessionRecord, ctx: WriteContext): Promise<void> {
    const since = this.closes;
    const key = this.key(sid);
    this.browserSessions = record.cookie?.expires == null;
    const ttl = this.ttlSeconds(ctx);
    if (ctx.userKey === undefined) {
      const value = recordJson(record, ctx.json); // throws (BigInt, cycles) before any write
      if (ttl <= 0) await this.redis.del(key);
      else await this.redis.set(key, value, 'EX', ttl);
      await this.replicated(key, 'set', since);
      return;
    }
    const userKey = ctx.userKey;
    if (userKey !== null) this.indexed = true;
    const value = recordJson(record, ctx.json, userKey);
    const old = ttl <= 0 ? await this.redis.getdel(key) : await this.redis.set(key, value, 'EX', ttl, 'GET');
    let before: string | null = null;
    if (old !== null) {
      try {
        before = this.parse(old).userKey;
      } catch {
        before = null;
      }
    }
    await this.reindex(sid, before, ttl <= 0 ? null : userKey, ctx.expires.getTime());
    await this.replicated(key, 'set', since);
  }

  destroy(sid: string): Promise<void>;
  /** express-session's callback form (added by acceptCallbacks). */
  destroy(sid: string, cb: Callback): void;
  async destroy(sid: string): Promise<void> {
    const since = this.closes;
    const key = this.key(sid);
    const old = await this.redis.getdel(key);
    if (old !== null) {
      try {
        const { userKey } = this.parse(old);
        if (userKey !== null) await this.redis.zrem(this.indexKey(userKey), sid);
      } catch {
        // a corrupt value is gone either way
      }
    }
    // A logout must survive a failover too: a destroy lost there would bring the session back.
    await this.replicated(key, 'destroy', since);
  }

  /** Compare-and-set loop: read, compute the new value, write only if nobody wrote meanwhile. */
  private async update(sid: string, next: (cur: Parsed) => { value: string; ttl: number } | null): Promise<Parsed | null> {
    const key = this.key(sid);
    for (let attempt = 0; attempt < CAS_RETRIES; attempt++) {
      const cur = await this.redis.get(key);
      if (cur === null) return null;
      const parsed = this.parse(cur);
      if (!(await this.live(key, parsed.record))) return null;
      const out = next(parsed);
      if (!out) return parsed;
      if (out.ttl <= 0) {
        await this.redis.del(key);
        return parsed;
      }
      const ok = await this.script(CAS_SCRIPT, [key], [cur, out.value, String(out.ttl)]);
      if (ok === 1) return parsed;
      await new Promise((r) => setTimeout(r, Math.random() * 2 * (attempt + 1)));
    }
    throw new BadDataError(`session changed ${CAS_RETRIES} times while being updated: too much contention on one session`);
  }

  /** Refresh the TTL and the stored cookie; the data is left as it is. Never recreates a missing session. */
  async touch(sid: string, record: SessionRecord, ctx: WriteContext): Promise<void> {
    const since = this.closes;
    const ttl = this.ttlSeconds(ctx);
    const key = this.key(sid);
    if (ttl <= 0) {
      await this.destroy(sid);
      return;
    }
    // One server-side step for the usual value; the compare-and-set loop for any other shape.
    const done = await this.script(TOUCH_SCRIPT, [key], [JSON.stringify(record.cookie), String(ttl)]);
    if (done === 0) return;
    if (done === 1) {
      // The index entry's expiry moves with the session's. Core names the user when the app set `userKey`
      // (a touched session's data is unchanged, so it is the stored one); otherwise it is read back.
      let userKey: string | null = null;
      if (ctx.userKey !== undefined) userKey = ctx.userKey;
      else if (this.indexed) {
        const value = await this.redis.get(key);
        userKey = value === null ? null : this.safeUser(value);
      }
      if (userKey !== null) await this.reindex(sid, userKey, userKey, ctx.expires.getTime());
      await this.replicated(key, 'touch', since);
      return;
    }
    const prev = await this.update(sid, (cur) => ({ value: recordJson({ ...cur.record, cookie: record.cookie }, undefined, cur.userKey), ttl }));
    if (prev?.userKey) await this.reindex(sid, prev.userKey, prev.userKey, ctx.expires.getTime());
    await this.replicated(key, 'touch', since);
  }

  private safeUser(value: string): string | null {
    try {
      return this.parse(value).userKey;
    } catch {
      return null;
    }
  }

  /** Apply a patch atomically (compare-and-set script, retried on conflict); false if the session is gone. */
  async patch(sid: string, p: SessionPatch, ctx: WriteContext): Promise<boolean> {
    const since = this.closes;
    const ttl = this.ttlSeconds(ctx);
    let userKey: string | null = null;
    const prev = await this.update(sid, (cur) => {
      const next: SessionRecord = { cookie: p.cookie };
      for (const k of Object.keys(cur.record)) if (k !== 'cookie') next[k] = cur.record[k];
      for (const k of p.unset) delete next[k];
      for (const k of Object.keys(p.set)) next[k] = p.set[k];
      userKey = ctx.userKey === undefined ? cur.userKey : ctx.userKey;
      return { value: recordJson(next, undefined, userKey), ttl };
    });
    if (!prev) return false;
    if (prev.userKey !== null || userKey !== null) await this.reindex(sid, prev.userKey, ttl > 0 ? userKey : null, ctx.expires.getTime());
    await this.replicated(this.key(sid), 'patch', since);
    return true;
  }

  /** SET NX PX with an owner token; released (by a script) only by its owner. */
  async lock(sid: string, opts: { ttlMs: number; waitMs: number }): Promise<SessionLock> {
    const since = this.closes;
    const key = this.lockKey(sid);
    const token = randomBytes(16).toString('hex');
    await pollLock(async () => (await this.redis.set(key, token, 'PX', Math.max(1, Math.round(opts.ttlMs)), 'NX')) === 'OK', opts.waitMs);
    if (this.waitFor) {
      // A lock only the dying primary knew of would let a second holder in after a failover.
      try {
        await this.replicated(key, 'lock', since);
      } catch (err) {
        await this.script(RELEASE_SCRIPT, [key], [token]).catch(() => undefined);
        throw err;
      }
    }
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        await this.script(RELEASE_SCRIPT, [key], [token]);
      },
    };
  }

  async listUser(userKey: string): Promise<UserSessionInfo[]> {
    const k = this.indexKey(userKey);
    await this.redis.zremrangebyscore(k, '-inf', Date.now());
    const entries = await this.redis.zrange(k, 0, -1, 'WITHSCORES');
    const out: UserSessionInfo[] = [];
    // USER_CHUNK sessions at a time: one MGET (a GET each on a Cluster, whose keys live in many slots, sent
    // together all the same), and one ZREM for the ids whose session is gone.
    for (let i = 0; i < entries.length; i += USER_CHUNK * 2) {
      const sids: string[] = [];
      const scores: number[] = [];
      for (let j = i; j < Math.min(entries.length, i + USER_CHUNK * 2); j += 2) {
        sids.push(entries[j]!);
        scores.push(Number(entries[j + 1]));
      }
      const keys = sids.map((sid) => this.key(sid));
      const values = this.client instanceof Cluster ? await Promise.all(keys.map((key) => this.redis.get(key))) : await this.redis.mget(keys);
      const gone: string[] = [];
      const infos = await Promise.all(
        sids.map(async (sid, n): Promise<UserSessionInfo | null> => {
          const value = values[n] ?? null;
          if (value === null) {
            gone.push(sid);
            return null;
          }
          let parsed: Parsed;
          try {
            parsed = this.parse(value);
          } catch {
            return null;
          }
          if (parsed.userKey !== userKey || !(await this.live(keys[n]!, parsed.record))) return null;
          return userSessionInfo(sid, parsed.record, scores[n]!);
        }),
      );
      if (gone.length) await this.redis.zrem(k, ...gone);
      for (const info of infos) if (info !== null) out.push(info);
    }
    return out;
  }

  async destroyUser(userKey: string, except: string[] = []): Promise<number> {
    const keep = new Set(except);
    const ids = (await this.listUser(userKey)).map((s) => s.id).filter((id) => !keep.has(id));
    const index = this.indexKey(userKey);
    const cluster = this.client instanceof Cluster;
    // USER_CHUNK at a time: their DELs leave together, then one ZREM from this user's index and one WAIT
    // (waitReplicas) for the chunk. listUser has just read each of them as this user's; one that changed
    // hands since is destroyed all the same (as destroy() would), and the entry left in its new owner's
    // index points at nothing: that owner's next listUser drops it.
    for (let i = 0; i < ids.length; i += USER_CHUNK) {
      const chunk = ids.slice(i, i + USER_CHUNK);
      const since = this.closes;
      const keys = chunk.map((sid) => this.key(sid));
      if (cluster) await Promise.all(keys.map((key) => this.redis.del(key)));
      else await this.redis.del(...keys);
      await this.redis.zrem(index, ...chunk);
      // A logout must survive a failover too. WAIT covers every write before it on the connection; a Cluster
      // answers it per node, so there each key is waited for on its own node.
      if (cluster) await Promise.all(keys.map((key) => this.replicated(key, 'destroy', since)));
      else await this.replicated(keys[keys.length - 1]!, 'destroy', since);
    }
    return ids.length;
  }

  /** Every key matching `pattern`, over every master of a cluster. */
  private async scanKeys(pattern: string): Promise<string[]> {
    const nodes = this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
    const keys = new Set<string>();
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', this.scanCount);
        cursor = next;
        for (const k of batch) keys.add(k);
      } while (cursor !== '0');
    }
    return [...keys];
  }

  private sessionKeys(): Promise<string[]> {
    return this.scanKeys(escapeGlob(this.prefix) + '*');
  }

  all(): Promise<Record<string, SessionRecord>>;
  /** express-session's callback form (added by acceptCallbacks). */
  all(cb: Callback<Record<string, SessionRecord>>): void;
  async all(): Promise<Record<string, SessionRecord>> {
    const out: Record<string, SessionRecord> = {};
    for (const key of await this.sessionKeys()) {
      const sid = key.slice(this.prefix.length);
      if (!ID.test(sid)) continue;
      const value = await this.redis.get(key);
      if (value === null) continue;
      try {
        const { record } = this.parse(value);
        if (await this.live(key, record)) out[sid] = record;
      } catch {
        // not a session value: left out
      }
    }
    return out;
  }

  /**
   * Every live session: SCAN over this prefix (every primary of a Cluster), then one pipeline of GET + PTTL per
   * batch. Constant memory; a key written during the scan may or may not be yielded (SCAN's guarantee).
   */
  async *scan(opts: { batchSize?: number } = {}): AsyncIterable<StoredSession> {
    const count = opts.batchSize ?? this.scanCount;
    const nodes = this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
    const pattern = escapeGlob(this.prefix) + '*';
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
        cursor = next;
        const mine = keys.filter((k) => ID.test(k.slice(this.prefix.length)));
        if (mine.length === 0) continue;
        // The node's own pipeline: a Cluster node holds every key its SCAN returned.
        const pipe = node.pipeline();
        for (const k of mine) pipe.get(k).pttl(k);
        const replies = (await pipe.exec()) ?? [];
        const now = Date.now();
        for (let i = 0; i < mine.length; i++) {
          const key = mine[i]!;
          const value = replies[2 * i]?.[1] as string | null;
          const pttl = replies[2 * i + 1]?.[1] as number;
          if (value === null || value === undefined || (pttl !== -1 && pttl <= 0)) continue;
          let parsed: Parsed;
          try {
            parsed = this.parse(value);
          } catch {
            continue; // not a session value
          }
          const expires = pttl === -1 ? null : now + pttl;
          withStoreExpiry(parsed.record, expires);
          if (cookieExpired(parsed.record, now)) continue;
          yield { id: key.slice(this.prefix.length), record: parsed.record, expires, userKey: parsed.userKey };
        }
      } while (cursor !== '0');
    }
  }

  async ids(): Promise<string[]> {
    return Object.keys(await this.all());
  }

  length(): Promise<number>;
  /** express-session's callback form (added by acceptCallbacks). */
  length(cb: Callback<number>): void;
  async length(): Promise<number> {
    return (await this.ids()).length;
  }

  /** Remove this prefix's sessions, index and lock keys (per key: never a FLUSHDB). */
  clear(): Promise<void>;
  /** express-session's callback form (added by acceptCallbacks). */
  clear(cb: Callback): void;
  async clear(): Promise<void> {
    const keys = [
      ...(await this.sessionKeys()),
      ...(await this.scanKeys(escapeGlob(`sessidx:${this.prefix}`) + '*')),
      ...(await this.scanKeys(escapeGlob(`sesslock:${this.prefix}`) + '*')),
    ];
    for (const k of keys) await this.redis.del(k);
  }

  /** Quit the client if this store created it. */
  async close(): Promise<void> {
    if (this.owned && this.client.status !== 'end') await this.client.quit().catch(() => this.client.disconnect());
  }
}

acceptCallbacks(RedisStore);

export { DEFAULT_PREFIX, USER_FIELD, escapeGlob } from './schema.js';
