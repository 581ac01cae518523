// The store server's own CPU time, so the bench can print it per request next to req/s: Redis is one thread
// shared by every app instance, and a database's CPU is capacity every app pays for. Read from the server
// itself where it says (Redis INFO), else from /proc: every process of the server's name (PostgreSQL's
// backends, MariaDB, FerretDB). In-process stores (memory, file) have no server: null.
import { readdirSync, readFileSync } from 'node:fs';

const redisUrl = process.env.SESS_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Process names of each networked store's server. */
const SERVER_NAMES = {
  pg: ['postgres'],
  mysql: ['mariadbd', 'mysqld'],
  mongo: ['ferretdb', 'mongod'],
};

let ticksPerSecond = 100;
try {
  // getconf CLK_TCK is 100 on every Linux the bench runs on; /proc/self/stat is in those ticks.
  const { execFileSync } = await import('node:child_process');
  ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // keep 100
}

/** CPU microseconds used so far by every process named one of `names` (user + system), or null without /proc. */
function procCpuMicros(names) {
  let dirs;
  try {
    dirs = readdirSync('/proc');
  } catch {
    return null;
  }
  let ticks = 0;
  for (const d of dirs) {
    if (!/^\d+$/.test(d)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${d}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(open + 1, close);
    if (!names.some((n) => comm === n || comm.startsWith(n))) continue;
    const fields = stat.slice(close + 2).split(' ');
    // fields[0] is state (field 3); utime and stime are fields 14 and 15.
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return (ticks * 1e6) / ticksPerSecond;
}

async function redisCpuMicros(client) {
  const info = await client.info('cpu');
  const num = (k) => Number((info.match(new RegExp(`^${k}:([0-9.]+)`, 'm')) ?? [])[1] ?? 0);
  return (num('used_cpu_user') + num('used_cpu_sys')) * 1e6;
}

/**
 * A meter of the store server's CPU for a variant's `storeKind` ('redis' | 'pg' | 'mysql' | 'mongo' | other):
 * `await meter.read()` gives cumulative CPU µs (null if unknown); `meter.close()` releases its connection.
 */
export async function storeCpuMeter(storeKind) {
  if (storeKind === 'redis') {
    const { Redis } = await import('ioredis');
    const client = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await client.connect();
    } catch {
      client.disconnect();
      return { read: async () => null, close: async () => undefined };
    }
    return { read: () => redisCpuMicros(client), close: async () => void client.disconnect() };
  }
  const names = SERVER_NAMES[storeKind];
  if (!names) return { read: async () => null, close: async () => undefined };
  return { read: async () => procCpuMicros(names), close: async () => undefined };
}
