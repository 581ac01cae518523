/**
 * express-session's decision table, in one place: when the store is written, touched or destroyed,
 * and when the cookie is sent. Each function reads the request's lifecycle state only.
 */

/** What the decisions read about a request. */
export interface DecisionState {
  /** The id the cookie carried (verified), if any. */
  cookieId: string | undefined;
  /** `req.sessionID` now. */
  sessionID: unknown;
  /** Whether `req.session` is still set. */
  hasSession: boolean;
  /** `saveUninitialized` option. */
  saveUninitialized: boolean;
  /** `rolling` option. */
  rolling: boolean;
  /** `unset: 'destroy'`. */
  unsetDestroy: boolean;
  /** The session was saved (or loaded unchanged with `resave: false`) at some point. */
  everSaved: boolean;
  /** Data or id differ from what the request started with. */
  modified: boolean;
  /** Data and id are what was last saved. */
  saved: boolean;
  /** The cookie has an expiry (not a browser-session cookie). */
  cookieHasExpiry: boolean;
  /** The cookie was verified with an older secret and must be re-signed. */
  resign: boolean;
}

/** The session was unset by the app and `unset: 'destroy'` asks to destroy it. */
export function shouldDestroy(s: DecisionState): boolean {
  return Boolean(s.sessionID) && s.unsetDestroy && !s.hasSession;
}

/** The whole record must be written to the store. */
export function shouldSave(s: DecisionState): boolean {
  if (typeof s.sessionID !== 'string') return false;
  return !s.saveUninitialized && !s.everSaved && s.cookieId !== s.sessionID ? s.modified : !s.saved;
}

/** The store's expiry must be refreshed (an unchanged, existing session). */
export function shouldTouch(s: DecisionState): boolean {
  if (typeof s.sessionID !== 'string') return false;
  return s.cookieId === s.sessionID && !shouldSave(s);
}

/** A Set-Cookie header goes out with this response. */
export function shouldSetCookie(s: DecisionState): boolean {
  if (typeof s.sessionID !== 'string') return false;
  if (s.cookieId !== s.sessionID) return s.saveUninitialized || s.modified;
  return s.rolling || s.resign || (s.cookieHasExpiry && s.modified);
}
