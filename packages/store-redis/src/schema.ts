/**
 * The Redis layout, shared with connect-redis:
 *
 *   <prefix><sid>                      the record's JSON string, TTL = seconds to its expiry, rounded up
 *   sessidx:<prefix>user:<userKey>     per-user index: a sorted set of sids scored by expiry (ms)
 *   sesslock:<prefix><sid>             per-session lock: the owner's token, with a PX expiry
 *
 * Index and lock keys never start with `<prefix>`, so connect-redis's SCAN of `<prefix>*` never sees them.
 */

/** Default key prefix (connect-redis's). */
export const DEFAULT_PREFIX = 'sess:';
/** Key inside the JSON under which the per-user index remembers a session's user. */
export { USER_FIELD } from '@sess/core';

/** Escape Redis glob characters so a prefix matches only itself in SCAN MATCH. */
export function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => '\\' + c);
}

/** Write `value` to KEYS[1] with a TTL (seconds) only if it still holds ARGV[1]: compare-and-set. */
export const CAS_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
if cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
`;

/** Delete KEYS[1] only if it holds ARGV[1] (a lock released by its owner only). */
export const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * Replace the stored cookie (ARGV[1], JSON) and refresh the TTL (ARGV[2], seconds) without touching the
 * data: the value starts with `{"cookie":{…}` (express-session and this store write the cookie first), so
 * the script finds the end of that flat object, minding strings, and splices the new one in. It jumps
 * from one quote or brace to the next with string.find (a cookie is a few short strings), rather than
 * looking at every byte: about half of Redis's time per touch.
 * Returns 1 when done, 0 when the key is missing, -1 when the value has another shape.
 */
export const TOUCH_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local head = '{"cookie":{'
if string.sub(cur, 1, #head) ~= head then return -1 end
local i = #head + 1
while true do
  local j = string.find(cur, '[{}"]', i)
  if not j then return -1 end
  local c = string.byte(cur, j)
  if c == 125 then
    i = j
    break
  end
  if c == 123 then return -1 end
  local k = j + 1
  while true do
    local q = string.find(cur, '["\\\\]', k)
    if not q then return -1 end
    if string.byte(cur, q) == 92 then
      k = q + 2
    else
      k = q + 1
      break
    end
  end
  i = k
end
redis.call('SET', KEYS[1], '{"cookie":' .. ARGV[1] .. string.sub(cur, i + 1), 'EX', ARGV[2])
return 1
`;
