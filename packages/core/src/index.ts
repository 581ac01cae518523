/**
 * @sess/core: session middleware for Express 4 and 5, a drop-in for express-session.
 *
 * ```ts
 * import session from '@sess/core';
 * app.use(session({ secret: process.env.SESSION_SECRET!, resave: false, saveUninitialized: false }));
 * ```
 */
import { session as createSession } from './middleware.js';
import { Store } from './store.js';
import { MemoryStore } from './memory.js';
import { Session } from './session.js';
import { Cookie } from './cookie.js';

/**
 * The session middleware factory, carrying express-session's compat surface (`session.Store`,
 * `session.MemoryStore`, `session.Session`, `session.Cookie`) so that stores written for
 * express-session (`require('connect-pg-simple')(session)`, subclasses of `session.Store`) work.
 */
const session: typeof createSession & {
  Store: typeof Store;
  MemoryStore: typeof MemoryStore;
  Session: typeof Session;
  Cookie: typeof Cookie;
} = Object.assign(createSession, { Store, MemoryStore, Session, Cookie });

export { session };
export default session;
export { isSession } from './middleware.js';
export type { SessionMiddleware, UserSession } from './middleware.js';
export type { SessionOptions, ConcurrencyMode } from './options.js';
export { Session } from './session.js';
export type { SessionData } from './session.js';
export { Cookie } from './cookie.js';
export type { CookieOptions, CookieData } from './cookie.js';
export { Store, CallbackStoreAdapter, fromCallbackStore, toExpressStore } from './store.js';
export type { CallbackStore, CallbackStoreOptions, ToExpressStoreOptions } from './store.js';
export { MemoryStore } from './memory.js';
export type { MemoryStoreOptions } from './memory.js';
export { NO_CAPABILITIES, isSessionStore, recordExpiry, STORE_EXPIRES, storeExpiresOf, setStoreExpires } from './contract.js';
export type {
  SessionRecord,
  SessionStore,
  StoreCapabilities,
  WriteContext,
  SessionPatch,
  StoredSession,
  SessionLock,
  UserSessionInfo,
  SyncStoreOps,
} from './contract.js';
export {
  SessError,
  ConfigError,
  StoreError,
  StoreTimeoutError,
  BadDataError,
  SessionTooLargeError,
  InvalidSessionIdError,
  CsrfError,
  UnsupportedError,
  LockTimeoutError,
  ErrorCodes,
  toStoreError,
} from './errors.js';
export type { ErrorCode, SessErrorOptions } from './errors.js';
export { DEFAULT_ID_PATTERN, generateSessionId, idTag, hashedKey } from './ids.js';
export { signId, readSessionCookie } from './signature.js';
export type { Secret, VerifiedCookie } from './signature.js';
export type { SessEvent, SessEventName, StoreOperationContext } from './gateway.js';
export { storeChannel } from './gateway.js';
export { requestChannel } from './engine/trace.js';
export { MigratingStore, copySession, scanSessions } from './migrating.js';
export type { MigratingStoreOptions, MigrationStage, CopyResult } from './migrating.js';
export type { RequestContext, RequestOutcome } from './engine/trace.js';
export { SessionEngine, createSessionEngine, engineFrom } from './engine/engine.js';
export type { WithSessionId } from './engine/engine.js';
export { SessionRequest } from './engine/request.js';
export type { Done as SessionDone } from './engine/request.js';
export type { SessionHost, SessionCarrier } from './engine/state.js';
export { forwardedHttps } from './engine/secure.js';
export { flash, flashFor } from './flash.js';
export type { FlashOptions, FlashFunction } from './flash.js';
export { csrf, csrfTokenFor, csrfValid, maskToken, verifyToken } from './csrf.js';
export type { CsrfOptions } from './csrf.js';
export { USER_FIELD, decodeRecord, takeUserKey, cookieExpired, withStoreExpiry, refuseOptions, checkOptions, INCUMBENT_OPTION_HINTS, recordJson, userSessionInfo, pollLock, PruneTimer, TurnBatch } from './store-kit.js';
export type { TurnBatchEntry } from './store-kit.js';
export type { KnownOptions } from './store-kit.js';
export { acceptCallbacks, callEitherWay } from './callback.js';
export type { Callback, StoreCallbacks, AcceptCallbacksOptions } from './callback.js';
export { UNKNOWN_OPTION_WARNING } from './options.js';
