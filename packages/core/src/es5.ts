/**
 * Classes that code written for express-session can subclass the ES5 way. express-session's `Store`,
 * `MemoryStore` and `Cookie` are plain functions, so stores written against them call the base with
 * `Store.call(this, options)` after `util.inherits(MyStore, Store)` (or `MyStore.prototype =
 * Object.create(Store.prototype)`). An ES class throws "Class constructor cannot be invoked without 'new'"
 * there. {@link es5Constructor} gives a class a constructor that works every way.
 */

type AnyClass = abstract new (...args: any[]) => object;

/** A class that ES5-style code may also call: `Base.call(this, …)`, `Base.apply(this, arguments)`. */
export type Es5Callable<C> = { call(thisArg: unknown, ...args: unknown[]): void; apply(thisArg: unknown, args?: ArrayLike<unknown>): void } & C;

/**
 * A constructor function with `Class`'s prototype and statics that
 * - with `new` (or as `super()` of an ES subclass) constructs `Class` as usual;
 * - called on an object that inherits from the prototype (`Base.call(this, …)` in an ES5 subclass's
 *   constructor) runs `init(this, args)`, which must set up what `Class`'s constructor would;
 * - called as a plain function (`Cookie(opts)`) returns a new instance, as express-session's do.
 * `instanceof` works both ways: the function's prototype is `Class.prototype`.
 */
export function es5Constructor<C extends AnyClass>(name: string, Class: C, init: (self: InstanceType<C>, args: unknown[]) => void): Es5Callable<C> {
  const F = {
    [name]: function (this: unknown, ...args: unknown[]): object | void {
      // `new F(…)` and `F(…)` build a `Class` (the same prototype): with `F` as new.target, V8 derived the
      // instance's map on every call (15 µs for `new Cookie()` instead of 0.3). A subclass's `super(…)`
      // passes its own new.target on.
      if (new.target) return Reflect.construct(Class, args, new.target === F ? Class : new.target) as object;
      if (this instanceof Class) {
        init(this as InstanceType<C>, args);
        return;
      }
      return Reflect.construct(Class, args, Class) as object;
    },
  }[name]!;
  F.prototype = Class.prototype;
  Object.defineProperty(Class.prototype, 'constructor', { value: F, writable: true, configurable: true, enumerable: false });
  // Statics (Cookie.fromData) and static inheritance (MemoryStore → Store → EventEmitter) come from Class.
  Object.setPrototypeOf(F, Class);
  return F as unknown as Es5Callable<C>;
}
