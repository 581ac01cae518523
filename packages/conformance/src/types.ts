import type { CallbackStore, SessionRecord, SessionStore, StoreCapabilities, WriteContext } from '@sess/core';

/** What a factory is given for each case. */
export interface FactoryContext {
  /** A namespace of this case's own (use it as the key prefix, table, collection or directory). */
  namespace: string;
  /** The case's id, for logs. */
  caseId: string;
}

/** Build a store for a case: a sess store or an express-session style callback store. */
export type CreateStore = (ctx: FactoryContext) => SessionStore | CallbackStore | Promise<SessionStore | CallbackStore>;

/** A store factory: a function, or `{ create, destroy }` when the store needs tearing down (clients you created). */
export type StoreFactory =
  | CreateStore
  | {
      create: CreateStore;
      /** Called after the store's own `close()`, to release what the factory created (a client, a pool). */
      destroy?: (store: SessionStore | CallbackStore, ctx: FactoryContext) => void | Promise<void>;
      /** Capabilities, for the jest binding when `create` is asynchronous. */
      capabilities?: Partial<StoreCapabilities>;
      /** Options for adapting a callback store (shared across processes, expiry resolution). */
      adapter?: { shared?: boolean; expiryResolution?: number };
    };

/** Capabilities a case can need, beyond the required methods. */
export type Need = keyof Omit<StoreCapabilities, 'expiryResolution' | 'touchCookie'> | 'close' | 'sync';

/** What a case gets to work with. */
export interface CaseContext {
  /** The store under test, adapted to the sess contract; every call has the case's deadline. */
  store: SessionStore;
  /** This case's namespace. */
  namespace: string;
  /** Another store instance on the same namespace (for shared stores). */
  open(): Promise<SessionStore>;
  /** Another store instance on a different namespace. */
  openOther(): Promise<SessionStore>;
  /** A record that expires in `ms` (its cookie says so), with `data` as its keys. */
  record(data?: Record<string, unknown>, ms?: number): SessionRecord;
  /** A write context expiring in `ms`. */
  ctx(ms?: number, extra?: Partial<WriteContext>): WriteContext;
  /** A fresh session id (uid-safe style). */
  id(): string;
  /** Wait `ms`. */
  sleep(ms: number): Promise<void>;
  /** The store's expiry resolution in ms. */
  resolution: number;
}

/**
 * The contract a case checks. `express-session`: what express-session and the apps written for it rely on (a
 * store failing it breaks apps today). `sess`: what sess's own features need beyond that (touch storing the
 * cookie, enumeration with ids, expiry on read, …). The `sess` level includes the `express-session` one.
 */
export type Level = 'express-session' | 'sess';

/** One conformance case. */
export interface ConformanceCase {
  /** Stable id (never renamed within a major version). */
  id: string;
  /** What it checks. */
  title: string;
  /** The contract it checks (see {@link Level}). */
  level: Level;
  /** What a failure means for the store's users, in one sentence. */
  impact: string;
  /** Capabilities it needs; without them it is skipped, with the reason. */
  needs: Need[];
  /** Its deadline in ms (scaled by the store's expiry resolution where it waits for expiry). */
  timeoutMs: number | ((resolutionMs: number) => number);
  /** The check: throws (node:assert) on failure. */
  run(t: CaseContext): Promise<void>;
}

/** The outcome of one case. */
export interface CaseResult {
  id: string;
  title: string;
  /** The contract the case checks. */
  level: Level;
  status: 'passed' | 'failed' | 'skipped';
  /** Why it failed or was skipped. */
  reason?: string;
  /** For a failure: what it means for the store's users. */
  impact?: string;
  durationMs: number;
}

/** Options of a run. */
export interface RunOptions {
  /** Only cases whose id or title matches. */
  grep?: RegExp;
  /** Per-case deadline override (ms); by default each case has its own. */
  timeoutMs?: number;
  /** Called after each case. */
  onResult?: (r: CaseResult) => void;
  /**
   * Called when something the store did after a case had ended (a late rejection, an exception from its
   * timer, a second callback) turns that case's result into a failure; the result passed is the new one.
   */
  onLate?: (r: CaseResult) => void;
  /**
   * Which contract counts (for {@link summarise} and the CLI's exit code): `'sess'` (default; every case) or
   * `'express-session'` (only what express-session apps rely on). Every case still runs and is reported.
   */
  level?: Level;
}
