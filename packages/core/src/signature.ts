import { parse } from 'cookie';
import { sign, unsign } from 'cookie-signature';

/** A secret as the `secret` option takes it. */
export type Secret = string | Buffer;

/** The cookie value express-session writes for `sid`: `s:` + sid + `.` + HMAC-SHA256 (before URL-encoding). */
export function signId(sid: string, secret: Secret): string {
  return 's:' + sign(sid, secret as string);
}

/** What a request's session cookie verified to. */
export interface VerifiedCookie {
  /** The session id. */
  id: string;
  /** Index of the secret that verified it (0 = the current signing secret). */
  secretIndex: number;
}

/**
 * Read and verify the session cookie `name` from a Cookie header. Returns `undefined` for a missing,
 * unsigned or forged cookie. Every secret verifies; the first one that matches is reported.
 */
export function readSessionCookie(header: string | undefined, name: string, secrets: readonly Secret[]): VerifiedCookie | undefined {
  if (!header) return undefined;
  const raw = parse(header)[name];
  if (!raw || raw.slice(0, 2) !== 's:') return undefined;
  const value = raw.slice(2);
  for (let i = 0; i < secrets.length; i++) {
    const id = unsign(value, secrets[i] as string);
    if (id !== false) return { id, secretIndex: i };
  }
  return undefined;
}
