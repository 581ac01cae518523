// The Redis keys a benchmarked server wrote (its prefixes carry its pid), dropped when it stops: the create
// scenario leaves thousands of sessions, which would outlive the run by their cookie's lifetime and slow every
// SCAN on that Redis (the sess command's tests among them).
/** Drop the keys of the benchmarked server with process id `pid`. */
export async function dropRedisKeys(pid) {
  const { Redis } = await import('ioredis');
  const r = new Redis(process.env.SESS_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  try {
    for (const pattern of [`benches:${pid}:*`, `benchsess:${pid}:*`, `benchwait:${pid}:*`, `sessidx:bench*:${pid}:*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await r.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await r.unlink(...keys);
      } while (cursor !== '0');
    }
  } finally {
    r.disconnect();
  }
}

