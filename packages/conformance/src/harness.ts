import { randomBytes } from 'node:crypto';
import { fromCallbackStore, type CallbackStore, type SessionStore } from '@sess/core';
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
 * failure names the operation that hung rather than just "timeout".
 */
export function tracked(store: SessionStore, pending: Set<string>): SessionStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || prop === 'constructor') return value;
      return (...args: unknown[]) => {
        const label = String(prop);
        const out = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (out && typeof (out as Promise<unknown>).then === 'function') {
          const token = `${label}#${Math.random()}`;
          pending.add(token);
          return (out as Promise<unknown>).finally(() => pending.delete(token));
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
): Promise<{ raw: SessionStore | CallbackStore; store: SessionStore }> {
  const raw = await factory.create(ctx);
  if (!raw || typeof (raw as { get?: unknown }).get !== 'function') throw new TypeError('the factory did not return a store (an object with get, set and destroy)');
  return { raw, store: fromCallbackStore(raw, factory.adapter) };
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
