/**
 * The on-disk layout, shared with session-file-store:
 *
 *   <dir>/<sid>.json             the record's JSON plus `__lastAccess` (ms), as session-file-store writes it
 *   <dir>/.<sid>.json.<rand>.tmp a write in progress (renamed into place; never matches `*.json`)
 *   <dir>/.sess-locks/<sid>.lock per-session lock: {"owner", "expiresAt"}
 *   <dir>/.sess-users/<hash>/<sid> per-user index entries (empty files)
 *
 * session-file-store only reads `<dir>/*.json`, so the dot-folders are invisible to it.
 */

/** File extension of session files. */
export const EXTENSION = '.json';
/** Key session-file-store keeps the last access time under (ms since epoch). */
export const LAST_ACCESS = '__lastAccess';
/**
 * Key under which this store keeps `{ at, expires }`: the absolute expiry (ms), valid while `at` equals
 * `__lastAccess` (session-file-store rewrites that on its own writes; its expiry rule applies then).
 */
export const EXPIRES = '__sessExpires';
/** Folder of lock files. */
export const LOCK_DIR = '.sess-locks';
/** Folder of the per-user index. */
export const USER_DIR = '.sess-users';
/** Longest id accepted (a file name is at most 255 bytes). */
export const MAX_ID_LENGTH = 200;
/** Ids this store accepts: core's id grammar, length-capped. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,200}$/;
