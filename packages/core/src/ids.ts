import { createHash, createHmac } from 'node:crypto';
import uid from 'uid-safe';

/**
 * The id grammar: what a session id must look like to reach a store. uid-safe ids (base64url) match;
 * so do UUIDs and most custom `genid` outputs. No separators, dots, NULs or whitespace; 1 to 255 chars.
 */
export const DEFAULT_ID_PATTERN = /^[A-Za-z0-9_-]{1,255}$/;

/** A new session id: 24 random bytes from uid-safe (32 base64url characters), as express-session. */
export function generateSessionId(): string {
  return uid.sync(24);
}

/** A short, non-reversible tag for a session id, for logs and events (never log the id itself). */
export function idTag(sid: string): string {
  return createHash('sha256').update(sid).digest('base64url').slice(0, 12);
}

/** The store key for `sid` under `hashIds`: HMAC-SHA256 of the id, base64url (43 characters). */
export function hashedKey(sid: string, key: string | Buffer): string {
  return createHmac('sha256', key).update(sid).digest('base64url');
}
