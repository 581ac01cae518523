import { AsyncLocalStorage, createHook } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import type { SessionRecord, StoreCapabilities } from '@sess/core';
import { cases as allCases } from './cases.js';
import { HungOperationError, build, newNamespace, normalise, teardown, tracked } from './harness.js';
import { Supervisor, type Watched } from './supervisor.js';
import type { CaseContext, CaseResult, ConformanceCase, Level, Need, RunOptions, StoreFactory } from './types.js';

/** Why a case is skipped for a store with these capabilities, or undefined if it runs. */
export function skipReason(c: ConformanceCase, caps: Partial<StoreCapabilities>, hasClose: boolean, hasSync = false): string | undefined {
  for (const need of c.needs) {
    if (need === 'close') {
      if (!hasClose) return 'store has no close()';
    } else if (need === 'sync') {
      if (!hasSync) return 'store has no synchronous ops (store.sync)';
    } else if (!caps[need]) {
      return `store does not declare capabilities.${need}`;
    }
  }
  return undefined;
}

function deadline(c: ConformanceCase, resolution: number, override?: number): number {
  if (override !== undefined) return override;
  return typeof c.timeoutMs === 'function' ? c.timeoutMs(resolution) : c.timeoutMs;
}

/**
 * A failure's reason on one line, whole: an assertion's own message and what it got (and expected), any
 * other error's name and message.
 */
function message(err: unknown): string {
  const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ').trim();
  // Duck-typed: an error from another realm (node:assert under jest's sandbox) is no `instanceof Error` here.
  const isError = typeof err === 'object' && err !== null && typeof (err as Error).message === 'string' && typeof (err as Error).name === 'string';
  if (isError && (err as Error).name === 'AssertionError') {
    const a = err as Error & { actual?: unknown; expected?: unknown; operator?: string };
    const head = a.message.split('\n')[0]!.replace(/:$/, '');
    const show = (v: unknown) => inspect(v, { breakLength: Infinity, depth: 6 });
    // assert.ok: "got false, expected true" says nothing the message does not.
    if (a.operator === '==' && a.expected === true) return head;
    return `${head} (got ${show(a.actual)}, expected ${show(a.expected)})`;
  }
  if (isError) return oneLine(`${(err as Error).name}: ${(err as Error).message}`);
  return oneLine(String(err));
}

/** Handle types that keep a process alive when left open. */
const TRACKED = new Set(['Timeout', 'Immediate', 'TCPWRAP', 'PIPEWRAP', 'TLSWRAP', 'UDPWRAP', 'FILEHANDLE', 'FSEVENTWRAP', 'STATWATCHER', 'PROCESSWRAP']);

/**
 * Watch the handles created while `recording` is on, and forget each one as it is destroyed: what is
 * left (and still ref'd) after the store's close() is what the store leaked. Timers and sockets of the
 * rest of the process never count, whatever they do meanwhile.
 */
function watchHandles() {
  const live = new Map<number, { type: string; resource: { hasRef?: () => boolean } }>();
  let recording = true;
  // Only what the store's own code creates (its async context), not the test runner's timers.
  const context = new AsyncLocalStorage<symbol>();
  const token = Symbol('store-under-test');
  const hook = createHook({
    init(id, type, _trigger, resource) {
      if (recording && TRACKED.has(type) && context.getStore() === token) live.set(id, { type, resource: resource as { hasRef?: () => boolean } });
    },
    destroy(id) {
      live.delete(id);
    },
  }).enable();
  return {
    run<T>(fn: () => Promise<T>): Promise<T> {
      return context.run(token, fn);
    },
    stopRecording() {
      recording = false;
    },
    leaked(): string[] {
      const counts = new Map<string, number>();
      for (const { type, resource } of live.values()) {
        const refd = typeof resource.hasRef === 'function' ? resource.hasRef() : true;
        const name = type === 'TCPWRAP' ? 'socket' : type;
        if (refd) counts.set(name, (counts.get(name) ?? 0) + 1);
      }
      return [...counts].map(([t, n]) => `${n} ${t}`);
    },
    disable() {
      hook.disable();
    },
  };
}

/** Run `fn` with a deadline; on expiry the error names the store operations still pending. */
async function withDeadline(caseId: string, ms: number, pending: Set<string>, fn: () => Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const ops = [...pending].map((p) => p.split('#')[0]!);
          reject(ops.length ? new HungOperationError(caseId, [...new Set(ops)].join('(), store.'), ms) : new Error(`case ${caseId}: did not finish within ${ms} ms`));
        }, ms);
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/** The close case: a store's whole life, then no handle left behind. */
async function runClose(factory: ReturnType<typeof normalise>, c: ConformanceCase, ms: number, sup: Supervisor): Promise<void> {
  const pending = new Set<string>();
  await withDeadline(c.id, ms, pending, async () => {
    const watch = watchHandles();
    try {
      await watch.run(async () => {
        const ctx = { namespace: newNamespace(), caseId: c.id };
        const built = await build(factory, ctx, sup);
        const store = tracked(built.store, pending);
        const sid = randomBytes(24).toString('base64url');
        const rec: SessionRecord = { cookie: { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000).toISOString(), httpOnly: true, path: '/' }, v: 1 };
        await store.set(sid, rec, { expires: new Date(Date.now() + 60_000) });
        await store.get(sid);
        await store.destroy(sid);
        await teardown(factory, built, ctx);
      });
      watch.stopRecording();
      let left: string[] = [];
      for (let i = 0; i < 40; i++) {
        await new Promise((r) => setTimeout(r, 25));
        left = watch.leaked();
        if (left.length === 0) return;
      }
      throw new Error(`after close() the store still holds ${left.join(', ')}`);
    } finally {
      watch.disable();
    }
  });
}

/**
 * Run the suite (or the cases matching `grep`) against stores made by `factory`. Each case gets a
 * fresh store in its own namespace; after it, that namespace is cleared (if the store can) and the
 * store closed. Resolves one result per case: passed, failed (with the reason and what it means for the
 * store's users) or skipped (with why). Whatever the store does (throws from a timer, rejects with nobody
 * listening, calls back twice, settles after its case ended) becomes a failure of the case it belongs to;
 * the run always completes. Results of cases the store disturbed after they ended are updated in place.
 */
export async function runConformance(factory: StoreFactory, options: RunOptions = {}): Promise<CaseResult[]> {
  const f = normalise(factory);
  const results: CaseResult[] = [];
  const selected = allCases.filter((c) => !options.grep || options.grep.test(c.id) || options.grep.test(c.title));
  const sup = new Supervisor();
  sup.install();
  try {
    for (const c of selected) {
      const r = await runCase(f, c, options.timeoutMs, sup, options.onLate);
      results.push(r);
      options.onResult?.(r);
    }
    // What the store still does once the last case is over (a late callback, a timer firing, an operation a
    // case gave up on) is reported too: the run waits a little, and for such operations up to OUTSTANDING_MS.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all([...sup.outstanding]), new Promise((r) => (timer = setTimeout(r, OUTSTANDING_MS)))]);
    clearTimeout(timer);
    await new Promise((r) => setTimeout(r, LATE_GRACE_MS));
  } finally {
    sup.uninstall();
  }
  return results;
}

/** How long a run waits after its last case for what the store does late. */
const LATE_GRACE_MS = 300;
/** How long a run waits at its end for store operations that outlived their case. */
const OUTSTANDING_MS = 5000;

/** Run one case. Exported for the jest binding. */
export async function runCase(factory: StoreFactory, c: ConformanceCase, timeoutOverride?: number, supervisor?: Supervisor, onLate?: (r: CaseResult) => void): Promise<CaseResult> {
  const f = normalise(factory);
  const sup = supervisor ?? new Supervisor();
  const started = Date.now();
  const result: CaseResult = { id: c.id, title: c.title, level: c.level, status: 'passed', durationMs: 0 };
  const fail = (reason: string) => {
    result.status = 'failed';
    result.reason = reason;
    result.impact = c.impact;
  };
  const watched: Watched = {
    id: c.id,
    ended: false,
    violations: [],
    late(what) {
      const note = `after the case ended: ${what}`;
      fail(result.status === 'failed' && result.reason ? `${result.reason}; ${note}` : note);
      onLate?.(result);
    },
  };
  await sup.run(watched, () => caseBody(f, c, timeoutOverride, sup, watched, result, fail));
  result.durationMs = Date.now() - started;
  // What the store did outside the case's own checks fails the case, even one it skipped.
  if (watched.violations.length > 0) fail([result.status === 'failed' ? result.reason : undefined, ...watched.violations].filter(Boolean).join('; '));
  sup.finish(watched);
  return result;
}

async function caseBody(
  f: ReturnType<typeof normalise>,
  c: ConformanceCase,
  timeoutOverride: number | undefined,
  sup: Supervisor,
  watched: Watched,
  result: CaseResult,
  fail: (reason: string) => void,
): Promise<void> {
  const ctx = { namespace: newNamespace(), caseId: c.id };
  let built: Awaited<ReturnType<typeof build>>;
  try {
    built = await build(f, ctx, sup);
  } catch (err) {
    fail(`the factory failed: ${message(err)}`);
    return;
  }
  const caps = built.store.capabilities ?? {};
  const resolution = typeof caps.expiryResolution === 'number' && caps.expiryResolution > 0 ? caps.expiryResolution : 1000;
  const hasClose = typeof built.store.close === 'function';
  const skip = skipReason(c, caps, hasClose, built.store.sync !== undefined);
  const others: Array<Awaited<ReturnType<typeof build>> & { ctx: typeof ctx }> = [];
  const pending = new Set<string>();
  const late = { ended: () => watched.ended, report: (what: string) => sup.report(watched, what), outstanding: sup.outstanding };
  if (skip) {
    result.status = 'skipped';
    result.reason = skip;
  } else if (c.id === 'close-releases') {
    try {
      await teardown(f, built, ctx);
    } catch {
      // the close case builds its own store
    }
    try {
      await runClose(f, c, deadline(c, resolution, timeoutOverride), sup);
    } catch (err) {
      fail(message(err));
    }
    return;
  } else {
    const t: CaseContext = {
      store: tracked(built.store, pending, late),
      namespace: ctx.namespace,
      resolution,
      async open() {
        const b = await build(f, ctx, sup);
        others.push({ ...b, ctx });
        return tracked(b.store, pending, late);
      },
      async openOther() {
        const otherCtx = { namespace: newNamespace(), caseId: c.id };
        const b = await build(f, otherCtx, sup);
        others.push({ ...b, ctx: otherCtx });
        return tracked(b.store, pending, late);
      },
      record(data = {}, ms = 60_000) {
        return { cookie: { originalMaxAge: ms, expires: new Date(Date.now() + ms).toISOString(), httpOnly: true, path: '/' }, ...data };
      },
      ctx(ms = 60_000, extra = {}) {
        return { expires: new Date(Date.now() + ms), ...extra };
      },
      id: () => randomBytes(24).toString('base64url'),
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    };
    try {
      await withDeadline(c.id, deadline(c, resolution, timeoutOverride), pending, () => c.run(t));
    } catch (err) {
      fail(message(err));
    }
  }
  // Clean up this case's namespaces only; failures here never change the outcome.
  for (const b of [{ ...built, ctx }, ...others]) {
    try {
      if (pending.size === 0 && !skip && typeof b.store.clear === 'function' && b.store.capabilities?.clear) {
        await withDeadline(c.id, 5000, new Set(), () => b.store.clear!());
      }
    } catch {
      // ignore
    }
    try {
      await withDeadline(c.id, 5000, new Set(), () => teardown(f, b, b.ctx));
    } catch {
      // ignore
    }
  }
}

/** The cases of the suite (id, title, level, what a failure means, needs). */
export function listCases(): Array<Pick<ConformanceCase, 'id' | 'title' | 'level' | 'impact' | 'needs'>> {
  return allCases.map(({ id, title, level, impact, needs }) => ({ id, title, level, impact, needs: [...needs] as Need[] }));
}

/** Whether a case of `caseLevel` counts when `level` is chosen (the sess level includes express-session's). */
export function counts(caseLevel: Level, level: Level = 'sess'): boolean {
  return level === 'sess' || caseLevel === 'express-session';
}

/** Totals of a run: of the cases that count at `level` (default `'sess'`: every case). */
export function summarise(results: CaseResult[], level: Level = 'sess'): { passed: number; failed: number; skipped: number } {
  const counted = results.filter((r) => counts(r.level, level));
  return {
    passed: counted.filter((r) => r.status === 'passed').length,
    failed: counted.filter((r) => r.status === 'failed').length,
    skipped: counted.filter((r) => r.status === 'skipped').length,
  };
}

