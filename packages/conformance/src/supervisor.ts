/**
 * Keeps a conformance run alive whatever the store under test does. The store is, by definition, the thing
 * that may misbehave: an exception thrown from its timer, a promise it rejects with nobody listening, a
 * callback it calls twice, an operation that settles after its case ended. Each becomes a failure of the case
 * that started it (known from the async context the store's work was started in), or of the case running when
 * it happened; never a crash of the runner.
 */
import { AsyncLocalStorage, createHook } from 'node:async_hooks';

/** A case as the supervisor sees it: where to report what the store did. */
export interface Watched {
  readonly id: string;
  /** Set once the case's result is final (later reports are late failures). */
  ended: boolean;
  /** What went wrong outside the case's own checks, in order. */
  readonly violations: string[];
  /** Called for a violation reported after the case ended. */
  late(what: string): void;
}

function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

export class Supervisor {
  private readonly als = new AsyncLocalStorage<Watched>();
  /** The case each promise was created in (an unhandled rejection names its promise). */
  private readonly promiseOwner = new WeakMap<object, Watched>();
  private current: Watched | undefined;
  /** The process's own last-resort listeners, set aside during the run and put back after it. */
  private saved: { uncaught: NodeJS.UncaughtExceptionListener[]; unhandled: NodeJS.UnhandledRejectionListener[] } | undefined;
  /** Whether this run holds the process's uncaught-exception capture (see install()). */
  private captured = false;
  private last: Watched | undefined;
  private installed = false;
  /** Violations no case could be named for (before the first case). */
  readonly orphans: string[] = [];
  /** Store operations not settled yet (a case gave up on them): the run waits a while for them at its end. */
  readonly outstanding = new Set<Promise<unknown>>();

  private readonly hook = createHook({
    init: (_id, type, _trigger, resource) => {
      if (type !== 'PROMISE') return;
      const owner = this.als.getStore();
      if (owner) this.promiseOwner.set(resource as object, owner);
    },
  });

  private readonly onUncaught = (err: unknown): void => {
    this.report(this.als.getStore(), `uncaught exception from the store: ${describe(err)}`);
  };

  private readonly onUnhandled = (reason: unknown, promise: Promise<unknown>): void => {
    this.report(this.promiseOwner.get(promise) ?? this.als.getStore(), `unhandled promise rejection from the store: ${describe(reason)}`);
  };

  /**
   * Take over the process's last-resort handlers for the run: the listeners already there (a test runner's,
   * which would fail its own test or exit) are set aside, so what the store throws is the store's failure.
   */
  install(): void {
    if (this.installed) return;
    this.installed = true;
    this.hook.enable();
    this.saved = { uncaught: process.listeners('uncaughtException'), unhandled: process.listeners('unhandledRejection') };
    process.removeAllListeners('uncaughtException');
    process.removeAllListeners('unhandledRejection');
    process.on('uncaughtException', this.onUncaught);
    process.on('unhandledRejection', this.onUnhandled);
    // The capture callback comes before any listener, including those of a test runner that runs this in a
    // sandbox of its own (jest), where listeners added here never see the process's exceptions. An unhandled
    // rejection nobody listens for becomes such an exception (Node's default), so it is caught there too.
    if (!process.hasUncaughtExceptionCaptureCallback()) {
      process.setUncaughtExceptionCaptureCallback(this.onUncaught);
      this.captured = true;
    }
  }

  /** Give the process its own handlers back. */
  uninstall(): void {
    if (!this.installed) return;
    this.installed = false;
    this.hook.disable();
    process.off('uncaughtException', this.onUncaught);
    process.off('unhandledRejection', this.onUnhandled);
    if (this.captured) process.setUncaughtExceptionCaptureCallback(null);
    this.captured = false;
    for (const l of this.saved?.uncaught ?? []) process.on('uncaughtException', l);
    for (const l of this.saved?.unhandled ?? []) process.on('unhandledRejection', l);
    this.saved = undefined;
  }

  /** Run `fn` as case `w`: work it starts (timers, sockets, promises) is attributed to it. */
  run<T>(w: Watched, fn: () => Promise<T>): Promise<T> {
    this.current = w;
    this.last = w;
    return this.als.run(w, fn);
  }

  /** The case is over: nothing runs for it any more, except what its store left behind. */
  finish(w: Watched): void {
    w.ended = true;
    if (this.current === w) this.current = undefined;
  }

  /** Report a violation for `owner` (or the case running, or the last one). */
  report(owner: Watched | undefined, what: string): void {
    const w = owner ?? this.current ?? this.last;
    if (!w) {
      this.orphans.push(what);
      return;
    }
    // The same thing happening again in one case adds nothing to its reason.
    if (w.violations.includes(what)) return;
    w.violations.push(what);
    if (w.ended) w.late(what);
  }

  /** A reporter bound to the case whose async context calls it (for callbacks the store calls). */
  reporter(): (what: string) => void {
    const owner = this.als.getStore();
    return (what) => this.report(owner, what);
  }
}
