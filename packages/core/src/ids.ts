import { createHash, createHmac } from 'node:crypto';
import v8 from 'node:v8';
import uid from 'uid-safe';
import { flat } from './strings.js';

/**
 * The id grammar: what a session id must look like to reach a store. uid-safe ids (base64url) match;
 * so do UUIDs and most custom `genid` outputs. No separators, dots, NULs or whitespace; 1 to 255 chars.
 */
export const DEFAULT_ID_PATTERN = /^[A-Za-z0-9_-]{1,255}$/;

/** Ids cut from one uid-safe draw (see generateSessionId). */
const IDS_PER_DRAW = 64;
let drawn = '';
let taken = 0;

/**
 * A new session id: 24 random bytes from uid-safe (32 base64url characters), as express-session's
 * `uid.sync(24)`. The bytes of 64 ids are drawn at once (`uid.sync(24 * 64)`) and cut in 32-character
 * pieces: 24 bytes are 32 base64 characters exactly, so each piece is the encoding of its own 24 random bytes,
 * the same as a draw of its own. One draw costs about what one `uid.sync(24)` does (a getrandom call, ~6 us
 * here), so a new session pays a 64th of it (Node's `crypto.randomUUID` keeps a cache the same way).
 */
export function generateSessionId(): string {
  if (taken >= drawn.length) {
    drawn = uid.sync(24 * IDS_PER_DRAW);
    taken = 0;
  }
  const at = taken;
  taken += 32;
  // Cut in pieces of 12, 12 and 8: V8 copies a slice shorter than 13 characters, where a longer one would point
  // into the whole draw and keep its 2 KB alive as long as the id (a Map of ids in an in-memory store keeping one
  // id of each draw held 2.1 KB per id), and the pieces are joined into one flat string.
  return flat(drawn.slice(at, at + 12) + drawn.slice(at + 12, at + 24) + drawn.slice(at + 24, at + 32));
}

// A startup snapshot (node --build-snapshot, of a bundled app) must not carry drawn ids: every process started
// from it would hand out the same ones.
if (v8.startupSnapshot?.isBuildingSnapshot()) {
  v8.startupSnapshot.addSerializeCallback(() => {
    drawn = '';
    taken = 0;
  });
}

/** A short, non-reversible tag for a session id, for logs and events (never log the id itself). */
export function idTag(sid: string): string {
  return createHash('sha256').update(sid).digest('base64url').slice(0, 12);
}

/** The store key for `sid` under `hashIds`: HMAC-SHA256 of the id, base64url (43 characters). */
export function hashedKey(sid: string, key: string | Buffer): string {
  return createHmac('sha256', key).update(sid).digest('base64url');
}
