import type { SessionLock, SessionRecord, SessionStore, StoreCapabilities, StoredSession, UserSessionInfo, WriteContext } from './contract.js';
import { recordExpiry } from './contract.js';
import { ConfigError, UnsupportedError } from './errors.js';
import { fromCallbackStore } from './store.js';
import type { CallbackStore } from './store.js';
import { cookieExpired } from './store-kit.js';

/** The store lifetime given to a copied session whose store keeps no expiry and whose cookie has none. */
const DEFAULT_COPY_TTL = 24 * 60 * 60 * 1000;

/**
 * Every live session of `store`, one at a time: its `scan()` (constant memory) where it has one, else what its
 * `all()` returns (an express-session store through the adapter), with the cookie's expiry as the store's.
 */
export async function* scanSessions(store: SessionStore | CallbackStore, opts: { batchSize?: number } = {}): AsyncIterable<StoredSession> {
  const s = fromCallbackStore(store);
  if (typeof s.scan === 'function') {
    yield* s.scan(opts);
    return;
  }
  if (typeof s.all !== 'function') throw new UnsupportedError(`${storeName(s)} cannot list its sessions (it has neither scan() nor all())`);
  const all = await s.all();
  const now = Date.now();
  for (const [id, record] of Object.entries(all ?? {})) {
    if (!record || typeof record !== 'object' || cookieExpired(record, now)) continue;
    const e = record.cookie?.expires;
    yield { id, record, expires: e == null ? null : new Date(e as string).getTime() };
  }
}

/** What happened to one session in {@link copySession}. */
export type CopyResult = 'copied' | 'present' | 'expired' | 'gone';

/**
 * Copy one session into `to` with its remaining lifetime, unless `to` has it already (so a copy is
 * idempotent, and never overwrites what the app wrote to the new store). A session destroyed in `from` while
 * it was being copied is removed again (`gone`): with destroys reaching the old store before the new one (as
 * `MigratingStore` does), a copy never brings a destroyed session back.
 */
export async function copySession(from: SessionStore, to: SessionStore, s: StoredSession, now = Date.now()): Promise<CopyResult> {
  const expires = s.expires ?? recordExpiry(s.record, DEFAULT_COPY_TTL, now).getTime();
  if (expires <= now || cookieExpired(s.record, now)) return 'expired';
  if (await to.get(s.id)) return 'present';
  await to.set(s.id, s.record, { expires: new Date(expires), userKey: s.userKey ?? null });
  if (!(await from.get(s.id))) {
    await to.destroy(s.id);
    return 'gone';
  }
  return 'copied';
}

/** The stages of a move between two stores, in order. */
export type MigrationStage = 'dual-write' | 'fallback' | 'cutover';
const STAGES: readonly MigrationStage[] = ['dual-write', 'fallback', 'cutover'];

export interface MigratingStoreOptions {
  /** The store the app runs on today. */
  from: SessionStore | CallbackStore;
  /** The store it moves to. */
  to: SessionStore | CallbackStore;
  /** Where the move stands (see docs/operating.md). Can be changed on a live instance: `store.stage = 'fallback'`. */
  stage: MigrationStage;
  /**
   * The same function as session()'s `userKey` option, if the app uses the per-user index: a session copied on
   * read in `fallback` is then indexed under its user in the new store too.
   */
  userKey?: (record: SessionRecord) => string | number | null | undefined;
}

function storeName(s: object): string {
  return (s as { constructor?: { name?: string } }).constructor?.name || 'Store';
}

/**
 * Moves a live app from one store to another without logging anyone out, in three stages:
 *
 * - `dual-write`: reads from `from`; every write, touch and destroy goes to both (the new store fills up with
 *   the sessions in use);
 * - `fallback`: reads from `to`, falling back to `from` for a session only there, which is then copied to `to`
 *   with its remaining lifetime; writes still go to both, so rolling back to `dual-write` loses nothing;
 * - `cutover`: `to` only (`from` can be retired once `sess migrate` has copied the rest).
 *
 * Destroys (and the per-user `destroyUser`) reach the old store first, then the new one, and a copy re-checks
 * the old store after writing the new one: a session destroyed anywhere is never brought back. Instances may
 * run different adjacent stages during a rolling deploy.
 */
export class MigratingStore implements SessionStore {
  readonly from: SessionStore;
  readonly to: SessionStore;
  readonly capabilities: StoreCapabilities;
  private current: MigrationStage;
  private readonly userKeyOf: MigratingStoreOptions['userKey'];

  constructor(options: MigratingStoreOptions) {
    if (!options || typeof options !== 'object') throw new ConfigError("MigratingStore needs { from, to, stage }: new MigratingStore({ from: oldStore, to: newStore, stage: 'dual-write' })");
    for (const k of Object.keys(options)) {
      if (!['from', 'to', 'stage', 'userKey'].includes(k)) throw new ConfigError(`MigratingStore has no option "${k}"; its options are from, to, stage, userKey`);
    }
    if (!options.from || !options.to) throw new ConfigError("MigratingStore needs both stores: new MigratingStore({ from: oldStore, to: newStore, stage: 'dual-write' })");
    this.from = fromCallbackStore(options.from);
    this.to = fromCallbackStore(options.to);
    if (this.from === this.to) throw new ConfigError('MigratingStore: from and to are the same store');
    this.current = MigratingStore.checkStage(options.stage);
    this.userKeyOf = options.userKey;
    const a = this.from.capabilities;
    const b = this.to.capabilities;
    this.capabilities = Object.freeze({
      touch: true,
      touchCookie: a.touchCookie !== false && b.touchCookie !== false,
      enumerate: true,
      clear: a.clear && b.clear,
      shared: a.shared && b.shared,
      expiryResolution: Math.max(a.expiryResolution || 1, b.expiryResolution || 1),
      // A patch applied to two stores is not one atomic patch: core saves whole records during a move.
      atomicPatch: false,
      lock: a.lock && b.lock,
      userIndex: a.userIndex && b.userIndex,
    });
  }

  private static checkStage(stage: unknown): MigrationStage {
    if (!STAGES.includes(stage as MigrationStage)) throw new ConfigError(`MigratingStore stage must be one of ${STAGES.map((s) => `'${s}'`).join(', ')}; got ${JSON.stringify(stage)}`);
    return stage as MigrationStage;
  }

  /** The current stage; assign to move a live instance on (or back). */
  get stage(): MigrationStage {
    return this.current;
  }

  set stage(stage: MigrationStage) {
    this.current = MigratingStore.checkStage(stage);
  }

  /** The stores writes go to, old first. */
  private writeTargets(): SessionStore[] {
    return this.current === 'cutover' ? [this.to] : [this.from, this.to];
  }

  async get(sid: string): Promise<SessionRecord | null> {
    if (this.current === 'dual-write') return this.from.get(sid);
    const found = await this.to.get(sid);
    if (found || this.current === 'cutover') return found;
    const old = await this.from.get(sid);
    if (!old) return null;
    const userKey = this.userKeyOf ? this.userKeyOf(old) : undefined;
    const result = await copySession(this.from, this.to, {
      id: sid,
      record: structuredClone(old),
      expires: recordExpiry(old, DEFAULT_COPY_TTL).getTime(),
      userKey: userKey == null ? null : String(userKey),
    });
    if (result === 'gone' || result === 'expired') return null;
    // `present`: another instance copied it meanwhile, or the app wrote it: the new store's is the one.
    return result === 'present' ? this.to.get(sid) : old;
  }

  async set(sid: string, record: SessionRecord, ctx: WriteContext): Promise<void> {
    await Promise.all(this.writeTargets().map((s) => s.set(sid, record, ctx)));
  }

  async touch(sid: string, record: SessionRecord, ctx: WriteContext): Promise<void> {
    // A store without touch gets nothing: its record keeps the expiry of its last write.
    await Promise.all(this.writeTargets().map((s) => (s.touch ? s.touch(sid, record, ctx) : undefined)));
  }

  async destroy(sid: string): Promise<void> {
    // Both stores in every stage (an instance still in an earlier stage may read the old one), old first: a
    // copy running meanwhile re-checks the old store after writing the new one.
    await this.from.destroy(sid);
    await this.to.destroy(sid);
  }

  /** The lock of the old store until cutover, so instances in adjacent stages lock the same way. */
  lock(sid: string, opts: { ttlMs: number; waitMs: number }): Promise<SessionLock> {
    const s = this.current === 'cutover' ? this.to : this.from;
    if (!s.lock) throw new UnsupportedError(`${storeName(s)} has no lock()`);
    return s.lock(sid, opts);
  }

  async listUser(userKey: string): Promise<UserSessionInfo[]> {
    const [a, b] = await Promise.all([this.current === 'cutover' ? [] : this.from.listUser?.(userKey) ?? [], this.to.listUser?.(userKey) ?? []]);
    const byId = new Map<string, UserSessionInfo>();
    for (const s of a) byId.set(s.id, s);
    for (const s of b) byId.set(s.id, s); // the new store's wins
    return [...byId.values()];
  }

  async destroyUser(userKey: string, except: string[] = []): Promise<number> {
    // Both stores, old first, in every stage (a cutover may follow a copy the old store still holds).
    const a = (await this.from.destroyUser?.(userKey, except)) ?? 0;
    const b = (await this.to.destroyUser?.(userKey, except)) ?? 0;
    return Math.max(a, b);
  }

  /** The live sessions of the stage's read side: `from`, both (the new store's copy first), or `to`. */
  async *scan(opts: { batchSize?: number } = {}): AsyncIterable<StoredSession> {
    if (this.current === 'dual-write') {
      yield* scanSessions(this.from, opts);
      return;
    }
    // The new store's sessions; then the old store's it does not have (checked one by one: constant memory).
    yield* scanSessions(this.to, opts);
    if (this.current === 'cutover') return;
    for await (const s of scanSessions(this.from, opts)) if (!(await this.to.get(s.id))) yield s;
  }

  async all(): Promise<Record<string, SessionRecord>> {
    const out: Record<string, SessionRecord> = {};
    for await (const s of this.scan()) out[s.id] = s.record;
    return out;
  }

  async ids(): Promise<string[]> {
    const out: string[] = [];
    for await (const s of this.scan()) out.push(s.id);
    return out;
  }

  async length(): Promise<number> {
    let n = 0;
    for await (const _ of this.scan()) n++;
    return n;
  }

  async clear(): Promise<void> {
    await this.from.clear?.();
    await this.to.clear?.();
  }

  async close(): Promise<void> {
    await Promise.all([this.from.close?.(), this.to.close?.()]);
  }
}
