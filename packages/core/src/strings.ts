/**
 * `s` as one flat string. A string built by concatenation is kept by V8 as its pieces (and a piece cut from a
 * longer string as a slice of it, keeping that alive). Reading a character of a concatenated string makes V8
 * flatten it in place (measured on Node 20; `Number(s)`, flatstr's trick, no longer does).
 */
export function flat(s: string): string {
  _flatSink = s.charCodeAt(0); // kept, so an optimising compiler cannot drop the read as unused
  return s;
}
let _flatSink = 0;

/**
 * A string of its own with `s`'s characters, for a string kept long after the request it came from (a store's
 * key, a cache entry): one cut from a Cookie header, or built by concatenation, would otherwise keep the whole
 * header, or its pieces, alive with it.
 */
export function ownCopy(s: string): string {
  // V8 copies a slice shorter than 13 characters; the join of the two pieces is flattened into a new string.
  return s.length < 13 ? s.slice(0) : flat(s.slice(0, 12) + s.slice(12));
}
