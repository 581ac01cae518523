/** Node-style callback, as express-session's methods take them. */
export type Callback<T = void> = (err?: unknown, value?: T) => void;

/**
 * Run `promise` and, when `cb` is given, report to it instead of returning the promise (so a rejection
 * never goes unhandled); without `cb`, return the promise.
 */
export function settle<T, R>(promise: Promise<T>, cb: Callback<T> | undefined, self: R): R | Promise<T> {
  if (typeof cb !== 'function') return promise;
  promise.then(
    (v) => cb(undefined, v),
    (e) => cb(e),
  );
  return self;
}
