/**
 * Jest binding: `describeStore('redis', factory)` declares one jest test per conformance case.
 * Cases the store's capabilities rule out are declared with `test.skip` and the reason in the title,
 * so they show as skipped, never as passed.
 */
import { describe, expect, test } from '@jest/globals';
import type { StoreCapabilities } from '@sess/core';
import { cases } from './cases.js';
import { normalise } from './harness.js';
import { counts, runCase, skipReason } from './runner.js';
import type { RunOptions, StoreFactory } from './types.js';
import { bindingCases, bindingSkipReason, runBindingCase } from './bindings.js';
import type { BindingCapabilities, BindingFactory } from './bindings.js';

/** Options of {@link describeStore}. */
export interface DescribeStoreOptions extends Pick<RunOptions, 'grep' | 'timeoutMs' | 'level'> {
  /** The store's capabilities, when the factory cannot be probed synchronously. */
  capabilities?: Partial<StoreCapabilities>;
  /** Whether the store has close() (default: probed, or true when capabilities are given). */
  hasClose?: boolean;
  /** Whether the store has synchronous ops, `store.sync` (default: probed, or false when capabilities are given). */
  hasSync?: boolean;
}

function probe(factory: StoreFactory, options: DescribeStoreOptions): { caps: Partial<StoreCapabilities>; hasClose: boolean; hasSync: boolean } {
  const f = normalise(factory);
  const caps = options.capabilities ?? f.capabilities;
  if (caps) return { caps, hasClose: options.hasClose ?? true, hasSync: options.hasSync ?? false };
  const made = f.create({ namespace: 'sessconf_probe', caseId: 'probe' });
  if (made && typeof (made as Promise<unknown>).then === 'function') {
    throw new TypeError('describeStore: the factory is asynchronous, so pass the store\'s capabilities: describeStore(name, factory, { capabilities })');
  }
  const store = made as { capabilities?: Partial<StoreCapabilities>; close?: () => unknown; sync?: unknown };
  const out = {
    caps: store.capabilities ?? { touch: typeof (store as { touch?: unknown }).touch === 'function' },
    hasClose: typeof store.close === 'function',
    hasSync: store.sync !== undefined && store.capabilities !== undefined,
  };
  // The probe instance is never used: release it now.
  Promise.resolve()
    .then(() => store.close?.())
    .then(() => f.destroy?.(made as never, { namespace: 'sessconf_probe', caseId: 'probe' }))
    .catch(() => undefined);
  return out;
}

/** Declare the conformance suite as jest tests for the store `factory` makes. */
export function describeStore(name: string, factory: StoreFactory, options: DescribeStoreOptions = {}): void {
  const { caps, hasClose, hasSync } = probe(factory, options);
  describe(`conformance: ${name}`, () => {
    for (const c of cases) {
      if (options.grep && !options.grep.test(c.id) && !options.grep.test(c.title)) continue;
      const title = `${c.id}: ${c.title}`;
      if (!counts(c.level, options.level)) {
        test.skip(`${title} [${c.level} level: not counted at level ${options.level}]`, () => undefined);
        continue;
      }
      const reason = skipReason(c, caps, hasClose, hasSync);
      if (reason) {
        test.skip(`${title} [skipped: ${reason}]`, () => undefined);
        continue;
      }
      const budget = options.timeoutMs ?? (typeof c.timeoutMs === 'function' ? c.timeoutMs(caps.expiryResolution ?? 1000) : c.timeoutMs);
      test(
        title,
        async () => {
          const r = await runCase(factory, c, options.timeoutMs);
          if (r.status === 'skipped') throw new Error(`declared capabilities differ from the store's: ${r.reason}`);
          if (r.status === 'failed') throw new Error(`${r.reason}\nWhat it means for the store's users: ${r.impact}`);
          expect(r.status).toBe('passed');
        },
        budget + 15_000,
      );
    }
  });
}

/**
 * Declare the behaviour suite for bindings as jest tests: one test per case, against the app `factory` starts
 * (see `bindingCases` for the routes it serves). Cases the binding's capabilities rule out show as skipped, with
 * the reason in the title.
 */
export function describeBinding(name: string, factory: BindingFactory, capabilities: BindingCapabilities = {}): void {
  describe(`binding behaviour: ${name}`, () => {
    for (const c of bindingCases) {
      const title = `${c.id}: ${c.title}`;
      const reason = bindingSkipReason(c, capabilities);
      if (reason) {
        test.skip(`${title} [skipped: ${reason}]`, () => undefined);
        continue;
      }
      test(title, async () => {
        const r = await runBindingCase(factory, c, capabilities);
        if (r.status === 'failed') throw new Error(r.reason);
        expect(r.status).toBe('passed');
      }, 60_000);
    }
  });
}

export type { StoreFactory } from './types.js';
export type { BindingApp, BindingFactory, BindingCapabilities } from './bindings.js';
