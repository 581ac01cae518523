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
