import { randomBytes } from 'node:crypto';
import { fromCallbackStore, isSessionStore, type CallbackStore, type SessionStore } from '@sess/core';
import type { Supervisor } from './supervisor.js';
import type { CreateStore, FactoryContext, StoreFactory } from './types.js';

/** The factory in its object form. */
export function normalise(factory: StoreFactory): Exclude<StoreFactory, CreateStore> {
  if (typeof factory === 'function') return { create: factory };
  if (factory && typeof factory === 'object' && typeof factory.create === 'function') return factory;
  throw new TypeError('a store factory is a function returning a store, or { create, destroy? }');
}

/** A namespace for one case: short, lower-case, safe as a key prefix, table, collection or folder name. */
export function newNamespace(): string {
  return 'sessconf_' + randomBytes(5).toString('hex');
}

/** Thrown when a store operation outlives its case's deadline. */
export class HungOperationError extends Error {
  constructor(caseId: string, operation: string, ms: number) {
    super(`case ${caseId}: store.${operation}() did not settle within ${ms} ms`);
    this.name = 'HungOperationError';
  }
}

/**
 * Wrap a store so the case knows which operations are pending: when the case's deadline passes, the
 * failure names the operation that hung rather than just "timeout". With `late`, an operation that settles
 * after the case ended (the case gave up on it) is reported there.
 */
export function tracked(store: SessionStore, pending: Set<string>, late?: { ended(): boolean; report(what: string): void; outstanding?: Set<Promise<unknown>> }): SessionStore {
  return new Proxy(store, {
    get(target, prop) {
      // Read off the store itself: a getter such as MemoryStore's `sync` sees the store's own methods (through
      // this Proxy it would see the wrappers below and, rightly, stand aside for them).
      const value = Reflect.get(target, prop, target);
      if (typeof value !== 'function' || prop === 'constructor') return value;
      return (...args: unknown[]) => {
        const label = String(prop);
        const out = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (out && typeof (out as Promise<unknown>).then === 'function') {
          const token = `${label}#${Math.random()}`;
          pending.add(token);
          const settled = (how: string) => {
            pending.delete(token);
            if (late?.ended()) late.report(`store.${label}() ${how}`);
          };
          const watched = (out as Promise<unknown>).then(
            (v) => {
              settled('resolved');
              return v;
            },
            (e: unknown) => {
              settled(`rejected (${e instanceof Error ? e.message : String(e)})`);
              throw e;
            },
          );
          if (late?.outstanding) {
            const settledAnyway = watched.then(
              () => undefined,
              () => undefined,
            );
            late.outstanding.add(settledAnyway);
            void settledAnyway.then(() => late.outstanding!.delete(settledAnyway));
          }
          return watched;
        }
        return out;
      };
    },
  });
}

/** The express-session store methods whose last argument is a callback. */
const CALLBACK_METHODS = new Set(['get', 'set', 'destroy', 'touch', 'all', 'length', 'clear', 'close']);

/**
 * Watch an express-session (callback) store's calls for what the adapter would silently absorb: a callback
 * called twice, a callback and a rejection for one call, a callback that throws inside the store. Each is
 * reported to the case whose async context made the call.
 */
export function watchCallbacks(raw: CallbackStore, sup: Supervisor): CallbackStore {
  return new Proxy(raw, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string' || !CALLBACK_METHODS.has(prop)) return value;
      return function (this: unknown, ...args: unknown[]) {
        const report = sup.reporter();
        const last = args[args.length - 1];
        let calls = 0;
        let calledBack = false;
        if (typeof last === 'function') {
          args[args.length - 1] = function (this: unknown, ...cbArgs: unknown[]) {
            calls++;
            calledBack = true;
            if (calls === 2) report(`store.${prop}() called its callback twice`);
            if (calls > 1) return undefined;
            return (last as (...a: unknown[]) => unknown).apply(this, cbArgs);
          };
        }
        const out = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (out && typeof (out as Promise<unknown>).then === 'function') {
          (out as Promise<unknown>).then(undefined, (e: unknown) => {
            if (calledBack) report(`store.${prop}() called its callback and also rejected its promise (${e instanceof Error ? e.message : String(e)})`);
          });
        }
        return out;
      };
    },
  });
}

/** Create a store from the factory and adapt it to the sess contract. */
export async function build(
  factory: Exclude<StoreFactory, CreateStore>,
  ctx: FactoryContext,
  sup?: Supervisor,
): Promise<{ raw: SessionStore | CallbackStore; store: SessionStore }> {
  const raw = await factory.create(ctx);
  if (!raw || typeof (raw as { get?: unknown }).get !== 'function') throw new TypeError('the factory did not return a store (an object with get, set and destroy)');
  if (isSessionStore(raw) || !sup) return { raw, store: fromCallbackStore(raw, factory.adapter) };
  return { raw, store: fromCallbackStore(watchCallbacks(raw as CallbackStore, sup), factory.adapter) };
}

/** Close a store and let the factory release what it created. Errors here are reported, not thrown. */
export async function teardown(
  factory: Exclude<StoreFactory, CreateStore>,
  built: { raw: SessionStore | CallbackStore; store: SessionStore },
  ctx: FactoryContext,
): Promise<void> {
  if (typeof built.store.close === 'function') await built.store.close();
  if (factory.destroy) await factory.destroy(built.raw, ctx);
}
