import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFile } from 'node:fs';
import { promisify } from 'node:util';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import {
  BadDataError,
  ConfigError,
  InvalidSessionIdError,
  LockTimeoutError,
  refuseOptions,
  setStoreExpires,
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
import { EXPIRES, EXTENSION, ID_PATTERN, LAST_ACCESS, LOCK_DIR, USER_DIR } from './schema.js';

/** Options of {@link FileStore}. */
export interface FileStoreOptions {
  /** Folder of the session files. Default `./sessions`. Created if missing. */
  dir?: string;
  /** session-file-store's name for `dir`, accepted as is. */
  path?: string;
  /** fsync each file before it is renamed into place, and the folder after (durable across power loss, slower). Default false. */
  fsync?: boolean;
  /**
   * Lifetime in seconds of sessions written by session-file-store without a cookie maxAge (its `ttl`
   * option, default 3600). Files this store writes carry their own expiry.
   */
  ttl?: number;
  /**
   * Seconds between removals of expired files, as session-file-store counts them (unref'd, jittered).
   * Default 3600; `0` or `-1` (session-file-store's "never") disables.
   */
  reapInterval?: number;
  /** Files read or removed at once by enumeration (all, ids, length, clear, scan). Default 32. */
  concurrency?: number;
  /**
   * Files the reaper reads or removes at once. Default 2: the reaper shares libuv's thread pool (4 threads
   * unless UV_THREADPOOL_SIZE says otherwise) with the requests this process serves, so it keeps to half of
   * it and a pass over many files leaves request latency near where it was. Raise it for a faster pass on
   * a process that serves no requests.
   */
  reapConcurrency?: number;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
}

interface Stored {
  record: SessionRecord;
  expiresAt: number;
  lastAccess: number | null;
  createdAt: number | null;
  userKey: string | null;
}

/**
 * fs.readFile, not fs/promises' readFile: the callback form reads a small file in fewer thread-pool trips
 * (open, fstat, read, close), and a session read is every request's.
 */
const readText = promisify(readFile);

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

/**
 * Run `fn` over what `items` yields, at most `limit` at a time: an array, or a stream read as it goes (a folder
 * of a million files is never held at once). After a failure no new item starts; the first error is thrown once
 * the running ones have finished, and the stream is closed either way.
 */
async function eachLimit<T>(items: Iterable<T> | AsyncIterable<T>, limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const it: Iterator<T> | AsyncIterator<T> = Symbol.asyncIterator in items ? items[Symbol.asyncIterator]() : items[Symbol.iterator]();
  const errors: unknown[] = [];
  const worker = async (): Promise<void> => {
    while (errors.length === 0) {
      const next = await it.next();
      if (next.done) return;
      try {
        await fn(next.value);
      } catch (err) {
        errors.push(err);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: limit }, worker));
  } finally {
    await it.return?.();
  }
  if (errors.length) throw errors[0];
}

/**
 * File session store: one JSON file per session in `dir`, the layout session-file-store uses, so a
 * user can switch in either direction without logging anyone out. Writes go to a temporary file in the
 * same folder and are renamed into place: a crash leaves the old record or the new one, never a torn one.
 */
export class FileStore implements SessionStore {
  readonly capabilities: StoreCapabilities = Object.freeze({
    touch: true,
    enumerate: true,
    clear: true,
    shared: true,
    expiryResolution: 1,
    atomicPatch: true,
    lock: true,
    userIndex: true,
  });

  /** The folder, absolute. */
  readonly dir: string;
  private readonly fsync: boolean;
  private readonly ttlMs: number;
  private readonly concurrency: number;
  private readonly reapConcurrency: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** In-process queue per session, so this process's own writers of one id never interleave a patch. */
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(options: FileStoreOptions = {}) {
    const plain = 'files are plain JSON, readable by session-file-store without its secret; keep secrets out of the session';
    const json = "files are JSON in UTF-8, session-file-store's default";
    refuseOptions('FileStore', options, {
      encrypt: plain,
      secret: plain,
      fileExtension: "files are named <id>.json, session-file-store's default",
      keyFunction: "files are named by the session id, session-file-store's default; hashIds on session() names them by a keyed hash",
      encoder: json,
      decoder: json,
      encoding: json,
      fallbackSessionFn: 'a file that cannot be read is a miss (a new session) or a typed bad-data error, never a made-up session',
    }, { known: ['dir', 'path', 'fsync', 'ttl', 'reapInterval', 'concurrency', 'reapConcurrency', 'now'] });
    if (options.dir !== undefined && options.path !== undefined) throw new ConfigError('FileStore takes dir or path (the same option), not both');
    const dir = options.dir ?? options.path ?? './sessions';
    if (typeof dir !== 'string' || dir.length === 0 || dir.includes('\0')) throw new ConfigError('FileStore dir must be a folder path: new FileStore({ dir: "./sessions" })');
    this.dir = path.resolve(dir);
    this.fsync = Boolean(options.fsync);
    const ttl = options.ttl ?? 3600;
    if (!(ttl > 0)) throw new ConfigError('FileStore ttl is in seconds and must be positive: new FileStore({ ttl: 3600 })');
    this.ttlMs = ttl * 1000;
    this.concurrency = options.concurrency ?? 32;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) throw new ConfigError('FileStore concurrency must be a positive integer');
    this.reapConcurrency = options.reapConcurrency ?? 2;
    if (!Number.isInteger(this.reapConcurrency) || this.reapConcurrency < 1) throw new ConfigError('FileStore reapConcurrency must be a positive integer');
    this.now = options.now ?? Date.now;
    mkdirSync(this.dir, { recursive: true });
    const reapSeconds = options.reapInterval ?? 3600;
    if (typeof reapSeconds !== 'number' || Number.isNaN(reapSeconds)) throw new ConfigError('FileStore reapInterval is in seconds: new FileStore({ reapInterval: 3600 }), or 0 to disable');
    const every = Math.min(reapSeconds * 1000, 2 ** 31 - 1); // setTimeout's limit
    if (every > 0) {
      const schedule = () => {
        // Jitter so that processes sharing a folder do not all reap at once.
        this.timer = setTimeout(() => {
          this.reap()
            .catch(() => undefined)
            .finally(() => {
              if (!this.closed) schedule();
            });
        }, every * (0.75 + Math.random() * 0.5));
        this.timer.unref();
      };
      schedule();
    }
  }

  // ---- paths --------------------------------------------------------------------------------

  /** The file of `sid`; refuses a bad id before any filesystem call, and any path outside `dir`. */
  private file(sid: string): string {
    if (typeof sid !== 'string' || !ID_PATTERN.test(sid)) throw new InvalidSessionIdError();
    return this.inside(path.join(this.dir, sid + EXTENSION));
  }

  private inside(p: string): string {
    const resolved = path.resolve(p);
    if (path.dirname(resolved) !== this.dir && !resolved.startsWith(this.dir + path.sep)) throw new InvalidSessionIdError('session path escapes the store folder');
    return resolved;
  }

  private lockFile(sid: string): string {
    this.file(sid);
    return this.inside(path.join(this.dir, LOCK_DIR, sid + '.lock'));
  }

  private userFolder(userKey: string): string {
    return this.inside(path.join(this.dir, USER_DIR, createHash('sha256').update(userKey).digest('hex').slice(0, 40)));
  }

  // ---- reading and writing ------------------------------------------------------------------

  /** Read and decode a session file; `null` when missing; BadDataError when corrupt (never deleted). */
  private async read(file: string): Promise<Stored | null> {
    let text: string;
    try {
      text = await readText(file, 'utf8');
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
    let raw: Record<string, unknown>;
    try {
      raw = JSON.parse(text) as Record<string, unknown>;
    } catch (err) {
      throw new BadDataError(`a session file in ${this.dir} is not valid JSON; it was left in place for inspection`, { cause: err });
    }
    if (!raw || typeof raw !== 'object' || typeof raw.cookie !== 'object' || raw.cookie === null) {
      throw new BadDataError(`a session file in ${this.dir} is not a session record; it was left in place for inspection`);
    }
    const lastAccess = typeof raw[LAST_ACCESS] === 'number' ? (raw[LAST_ACCESS] as number) : null;
    const meta = (raw.__sess ?? null) as { createdAt?: number; userKey?: string } | null;
    let expiresAt: number;
    const ours = raw[EXPIRES] as { at?: unknown; expires?: unknown } | undefined;
    if (ours && typeof ours.expires === 'number' && ours.at === lastAccess) {
      expiresAt = ours.expires;
    } else {
      // Written (or last rewritten) by session-file-store: its rule, last access + (cookie.originalMaxAge or ttl).
      const cookie = raw.cookie as { originalMaxAge?: unknown };
      const ttl = typeof cookie.originalMaxAge === 'number' && cookie.originalMaxAge ? cookie.originalMaxAge : this.ttlMs;
      expiresAt = (lastAccess ?? 0) + ttl;
    }
    const userKey = typeof raw.__sessUser === 'string' ? raw.__sessUser : null;
    const record: SessionRecord = { cookie: raw.cookie as SessionRecord['cookie'] };
    for (const k of Object.keys(raw)) if (k !== 'cookie' && k !== LAST_ACCESS && k !== EXPIRES && k !== '__sessUser') record[k] = raw[k];
    return { record, expiresAt, lastAccess, createdAt: typeof meta?.createdAt === 'number' ? meta.createdAt : null, userKey };
  }

  private live(s: Stored | null): s is Stored {
    return s !== null && s.expiresAt > this.now();
  }

  /** Write atomically: temporary file in the same folder, optional fsync, rename into place. */
  private async syncDir(): Promise<void> {
    const dir = await fsp.open(this.dir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  /**
   * `expiresAt` becomes the file's modification time: the reaper skips a file whose mtime is still ahead with
   * one `stat`, without reading it (see reap()). Best effort: a filesystem that refuses it leaves the write
   * time, and the reaper then reads the file as it reads session-file-store's.
   */
  private async writeFile(file: string, json: string, expiresAt: number): Promise<void> {
    const tmp = path.join(this.dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      const handle = await fsp.open(tmp, 'wx', 0o600);
      try {
        await handle.writeFile(json, 'utf8');
        await handle.utimes(new Date(this.now()), new Date(expiresAt)).catch(() => undefined);
        if (this.fsync) await handle.sync();
      } finally {
        await handle.close();
      }
      await fsp.rename(tmp, file);
      // The rename is durable only once the folder's entry is on disk too.
      if (this.fsync) await this.syncDir();
    } catch (err) {
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      throw err;
    }
  }

  /** The file's JSON: the record (cookie first), then session-file-store's `__lastAccess`, then ours. */
  private encode(record: SessionRecord, ctx: WriteContext, userKey: string | null, json?: string): string {
    let body = json;
    if (body === undefined || !body.startsWith('{"cookie":') || !body.endsWith('}')) {
      const ordered: SessionRecord = { cookie: record.cookie };
      for (const k of Object.keys(record)) if (k !== 'cookie' && k !== LAST_ACCESS && k !== EXPIRES && k !== '__sessUser') ordered[k] = record[k];
      body = JSON.stringify(ordered);
    }
    const at = this.now();
    // Our expiry is valid only while __lastAccess is ours: session-file-store rewrites it on its writes.
    let tail = `,"${LAST_ACCESS}":${at},"${EXPIRES}":{"at":${at},"expires":${ctx.expires.getTime()}}`;
    if (userKey !== null) tail += `,"__sessUser":${JSON.stringify(userKey)}`;
    return body.slice(0, -1) + tail + '}';
  }

  /** Serialise operations on one id within this process (cross-process safety comes from rename and locks). */
  private serial<T>(sid: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(sid) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.chains.set(sid, tail);
    void tail.then(() => {
      if (this.chains.get(sid) === tail) this.chains.delete(sid);
    });
    return run;
  }

  private async index(sid: string, before: string | null, after: string | null): Promise<void> {
    if (before === after) return;
    if (before !== null) await fsp.rm(path.join(this.userFolder(before), sid), { force: true });
    if (after !== null) {
      const folder = this.userFolder(after);
      await fsp.mkdir(folder, { recursive: true });
      await fsp.writeFile(path.join(folder, sid), '');
    }
  }

  private async put(sid: string, record: SessionRecord, ctx: WriteContext, prev: Stored | null, json?: string): Promise<void> {
    const file = this.file(sid);
    const userKey = ctx.userKey === undefined ? (prev?.userKey ?? null) : ctx.userKey;
    if (!(ctx.expires.getTime() > this.now())) {
      await this.remove(sid, prev);
      return;
    }
    const text = this.encode(record, ctx, userKey, json); // throws before any write for a BigInt and the like
    await this.writeFile(file, text, ctx.expires.getTime());
    await this.index(sid, prev?.userKey ?? null, userKey);
  }

  private async remove(sid: string, prev: Stored | null): Promise<void> {
    await fsp.rm(this.file(sid), { force: true });
    if (prev?.userKey) await this.index(sid, prev.userKey, null);
  }

  /** The stored state, corrupt files counted as absent (reported through `get`, never deleted). */
  private async current(sid: string): Promise<Stored | null> {
    try {
      return await this.read(this.file(sid));
    } catch (err) {
      if (err instanceof BadDataError) return null;
      throw err;
    }
  }

  // ---- contract -----------------------------------------------------------------------------

  get(sid: string): Promise<SessionRecord | null>;
  /** express-session's callback form (added by acceptCallbacks). */
  get(sid: string, cb: Callback<SessionRecord | undefined>): void;
  async get(sid: string): Promise<SessionRecord | null> {
    const s = await this.read(this.file(sid));
    if (!this.live(s)) return null;
    // A browser-session cookie says nothing of its expiry: report ours (touchAfter applies to it too).
    return s.record.cookie.expires == null ? setStoreExpires(s.record, s.expiresAt) : s.record;
  }

  set(sid: string, record: SessionRecord, ctx: WriteContext): Promise<void> {
    this.file(sid);
    return this.serial(sid, async () => this.put(sid, record, ctx, await this.current(sid), ctx.json));
  }

  destroy(sid: string): Promise<void>;
  /** express-session's callback form (added by acceptCallbacks). */
  destroy(sid: string, cb: Callback): void;
  destroy(sid: string): Promise<void> {
    this.file(sid);
    return this.serial(sid, async () => this.remove(sid, await this.current(sid)));
  }

  touch(sid: string, record: SessionRecord, ctx: WriteContext): Promise<void> {
    this.file(sid);
    return this.serial(sid, async () => {
      const s = await this.current(sid);
      if (!this.live(s)) return;
      await this.put(sid, { ...s.record, cookie: record.cookie }, { expires: ctx.expires }, s);
    });
  }

  patch(sid: string, p: SessionPatch, ctx: WriteContext): Promise<boolean> {
    this.file(sid);
    return this.serial(sid, async () => {
      const lock = await this.lock(sid, { ttlMs: 10_000, waitMs: 10_000 });
      try {
        const s = await this.current(sid);
        if (!this.live(s)) return false;
        const next: SessionRecord = { cookie: p.cookie };
        for (const k of Object.keys(s.record)) if (k !== 'cookie') next[k] = s.record[k];
        for (const k of p.unset) delete next[k];
        for (const k of Object.keys(p.set)) next[k] = p.set[k];
        await this.put(sid, next, { expires: ctx.expires, userKey: ctx.userKey }, s);
        return true;
      } finally {
        await lock.release();
      }
    });
  }

  /**
   * Per-session lock across processes: a lock file created exclusively (`wx`) holding its owner token
   * and expiry. A lock whose holder died is taken over once expired; `release()` removes the file only
   * while it still holds this owner's token.
   */
  async lock(sid: string, opts: { ttlMs: number; waitMs: number }): Promise<SessionLock> {
    const file = this.lockFile(sid);
    await fsp.mkdir(path.dirname(file), { recursive: true });
    const owner = randomBytes(16).toString('hex');
    const deadline = this.now() + opts.waitMs;
    let delay = 5;
    for (;;) {
      try {
        const h = await fsp.open(file, 'wx', 0o600);
        try {
          await h.writeFile(JSON.stringify({ owner, expiresAt: this.now() + opts.ttlMs, pid: process.pid }));
        } finally {
          await h.close();
        }
        return { release: () => this.unlock(file, owner) };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      await this.breakIfStale(file);
      if (this.now() >= deadline) throw new LockTimeoutError(opts.waitMs);
      await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(1, deadline - this.now()))));
      delay = Math.min(delay * 2, 50);
    }
  }

  private async readLock(file: string): Promise<{ owner: string; expiresAt: number } | null> {
    try {
      const v = JSON.parse(await fsp.readFile(file, 'utf8')) as { owner?: unknown; expiresAt?: unknown };
      return typeof v.owner === 'string' && typeof v.expiresAt === 'number' ? { owner: v.owner, expiresAt: v.expiresAt } : null;
    } catch (err) {
      if (isMissing(err)) return null;
      return null; // being written: not stale yet
    }
  }

  private async breakIfStale(file: string): Promise<void> {
    const held = await this.readLock(file);
    if (!held || held.expiresAt > this.now()) return;
    await this.removeLock(file, held.owner);
  }

  private async unlock(file: string, owner: string): Promise<void> {
    const held = await this.readLock(file);
    if (held && held.owner === owner) await this.removeLock(file, owner);
  }

  /**
   * Remove the lock file if `owner` still holds it: move it aside first, then check the moved file; a
   * lock someone else took meanwhile is linked back into place.
   */
  private async removeLock(file: string, owner: string): Promise<void> {
    const aside = `${file}.${randomBytes(6).toString('hex')}.aside`;
    try {
      await fsp.rename(file, aside);
    } catch {
      return;
    }
    const moved = await this.readLock(aside);
    if (moved && moved.owner !== owner) await fsp.link(aside, file).catch(() => undefined);
    await fsp.rm(aside, { force: true });
  }

  async listUser(userKey: string): Promise<UserSessionInfo[]> {
    const folder = this.userFolder(userKey);
    let names: string[];
    try {
      names = await fsp.readdir(folder);
    } catch (err) {
      if (isMissing(err)) return [];
      throw err;
    }
    const out: UserSessionInfo[] = [];
    await eachLimit(names.filter((n) => ID_PATTERN.test(n)), this.concurrency, async (sid) => {
      const s = await this.current(sid);
      if (s === null) {
        // The session is gone (destroyed as another user's, or expired and reaped): drop its entry here,
        // queued behind this process's own writers of the id and checked again there.
        await this.serial(sid, async () => {
          if ((await this.current(sid)) === null) await fsp.rm(path.join(folder, sid), { force: true });
        });
        return;
      }
      if (!this.live(s) || s.userKey !== userKey) return;
      out.push({ id: sid, createdAt: s.createdAt, lastSeenAt: s.lastAccess, expiresAt: s.expiresAt, record: s.record });
    });
    return out;
  }

  async destroyUser(userKey: string, except: string[] = []): Promise<number> {
    const keep = new Set(except);
    const doomed = (await this.listUser(userKey)).filter((s) => !keep.has(s.id));
    // `concurrency` at a time (one at a time took 12 s for 10,000 sessions), and not read again: listUser
    // has just read each as this user's. One that changed hands since is removed all the same (as destroy()
    // would); the entry left in its new owner's index names a missing file, which listUser drops.
    const folder = this.userFolder(userKey);
    await eachLimit(doomed, this.concurrency, (s) =>
      this.serial(s.id, async () => {
        await fsp.rm(this.file(s.id), { force: true });
        await fsp.rm(path.join(folder, s.id), { force: true });
      }),
    );
    return doomed.length;
  }

  /** Ids of the session files in `dir` (whatever their state). */
  private async files(): Promise<string[]> {
    const names = await fsp.readdir(this.dir);
    return names.filter((n) => n.endsWith(EXTENSION) && !n.startsWith('.')).map((n) => n.slice(0, -EXTENSION.length)).filter((id) => ID_PATTERN.test(id));
  }

  all(): Promise<Record<string, SessionRecord>>;
  /** express-session's callback form (added by acceptCallbacks). */
  all(cb: Callback<Record<string, SessionRecord>>): void;
  async all(): Promise<Record<string, SessionRecord>> {
    const out: Record<string, SessionRecord> = {};
    await eachLimit(await this.files(), this.concurrency, async (sid) => {
      const s = await this.current(sid);
      if (this.live(s)) out[sid] = s.record;
    });
    return out;
  }

  /**
   * Every live session, the folder read as a stream (`opendir`) and `batchSize` files at a time (constant
   * memory). A corrupt or partly written file is never yielded.
   */
  async *scan(opts: { batchSize?: number } = {}): AsyncIterable<StoredSession> {
    const batchSize = Math.max(1, opts.batchSize ?? 256);
    const dir = await fsp.opendir(this.dir);
    let batch: string[] = [];
    const flush = async (): Promise<StoredSession[]> => {
      const found: StoredSession[] = [];
      await eachLimit(batch, this.concurrency, async (sid) => {
        const s = await this.current(sid).catch(() => null);
        if (this.live(s)) found.push({ id: sid, record: s.record, expires: s.expiresAt, userKey: s.userKey });
      });
      batch = [];
      return found;
    };
    for await (const entry of dir) {
      const name = entry.name;
      if (!entry.isFile() || !name.endsWith(EXTENSION) || name.startsWith('.')) continue;
      const sid = name.slice(0, -EXTENSION.length);
      if (!ID_PATTERN.test(sid)) continue;
      batch.push(sid);
      if (batch.length >= batchSize) yield* await flush();
    }
    if (batch.length) yield* await flush();
  }

  /** Remove expired session files now (the reaper's pass): resolves how many went. */
  prune(): Promise<number> {
    return this.reap();
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

  /** Remove this folder's session files (and this store's lock and index folders); nothing else. */
  clear(): Promise<void>;
  /** express-session's callback form (added by acceptCallbacks). */
  clear(cb: Callback): void;
  async clear(): Promise<void> {
    await eachLimit(await this.files(), this.concurrency, async (sid) => {
      await fsp.rm(path.join(this.dir, sid + EXTENSION), { force: true });
    });
    await fsp.rm(path.join(this.dir, USER_DIR), { recursive: true, force: true });
    await fsp.rm(path.join(this.dir, LOCK_DIR), { recursive: true, force: true });
  }

  /**
   * Remove expired session files (and temporary files older than an hour), at most `reapConcurrency`
   * files at a time, the folder read as a stream (a million names are never held at once). Resolves how
   * many sessions went. Corrupt files are left alone.
   *
   * A file this store wrote has its expiry as its modification time, so one `stat` tells that it is still
   * live and the pass moves on without reading it. A file whose mtime has passed (expired, or written by
   * session-file-store, whose mtime is its write time) is read and judged by its contents, as `get` judges
   * it: the mtime only ever saves a read, it never decides a removal.
   */
  async reap(): Promise<number> {
    let removed = 0;
    const now = this.now();
    await eachLimit(await fsp.opendir(this.dir, { bufferSize: 256 }), this.reapConcurrency, async ({ name }) => {
      if (name.startsWith('.') && name.endsWith('.tmp')) {
        // Its age by ctime: a write sets the temporary file's mtime to the session's expiry before the rename.
        const st = await fsp.stat(path.join(this.dir, name)).catch(() => null);
        if (st && now - st.ctimeMs > 3_600_000) await fsp.rm(path.join(this.dir, name), { force: true });
        return;
      }
      if (!name.endsWith(EXTENSION) || name.startsWith('.')) return;
      const sid = name.slice(0, -EXTENSION.length);
      if (!ID_PATTERN.test(sid)) return;
      const st = await fsp.stat(path.join(this.dir, name)).catch((err: unknown) => {
        if (isMissing(err)) return null;
        throw err;
      });
      if (st === null || st.mtimeMs > now) return; // gone, or written by this store and not yet expired
      const s = await this.current(sid);
      if (s && !this.live(s)) {
        await this.serial(sid, async () => {
          const again = await this.current(sid);
          if (again && !this.live(again)) {
            await this.remove(sid, again);
            removed++;
          }
        });
      }
    });
    return removed;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.all([...this.chains.values()]);
  }
}

acceptCallbacks(FileStore);

export { EXPIRES, EXTENSION, LAST_ACCESS, ID_PATTERN } from './schema.js';
