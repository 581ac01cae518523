/**
 * Test services: URLs from the environment with loopback defaults, and a synchronous reachability
 * probe so a suite can declare its tests skipped (loudly) when a server is down outside CI. Under
 * CI=true an unreachable server fails the run instead.
 */
import { spawnSync } from 'node:child_process';

export const urls = {
  redis: process.env.SESS_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
  pg: process.env.SESS_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  mysql: process.env.SESS_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test',
  mongo: process.env.SESS_TEST_MONGO_URL ?? 'mongodb://127.0.0.1:27017/test',
  /** memcached, host:port (connect-memcached in the third-party table). */
  memcached: process.env.SESS_TEST_MEMCACHED ?? '127.0.0.1:11211',
  /** One node of the local Redis Cluster (scripts/services.sh cluster); the others are discovered. */
  redisCluster: process.env.SESS_TEST_REDIS_CLUSTER_URL ?? 'redis://127.0.0.1:7000',
  /** A Sentinel watching the master named by SESS_TEST_REDIS_SENTINEL_NAME (default sessmaster). */
  redisSentinel: process.env.SESS_TEST_REDIS_SENTINEL_URL ?? 'redis://127.0.0.1:26379',
};

/** Can a TCP connection be made to the URL's host and port within 2 s? */
export function reachable(url: string): boolean {
  const u = new URL(url.includes('://') ? url : `tcp://${url}`);
  const port = Number(u.port || { 'redis:': 6379, 'postgres:': 5432, 'mysql:': 3306, 'mongodb:': 27017, 'tcp:': 11211 }[u.protocol] || 0);
  const code = `const s=require('net').connect(${port},${JSON.stringify(u.hostname)},()=>{s.end();process.exit(0)});s.on('error',()=>process.exit(1));setTimeout(()=>process.exit(1),2000)`;
  return spawnSync(process.execPath, ['-e', code], { timeout: 5000 }).status === 0;
}

/** `test` when the service answers; otherwise a loud skip, or (under CI) a failing test. */
export function serviceTest(name: keyof typeof urls): { available: boolean; missing: (what: string) => void } {
  const available = reachable(urls[name]);
  return {
    available,
    missing(what: string) {
      const msg = `${name} is not reachable at ${urls[name]}: ${what} cannot run (start it with scripts/services.sh ${name === 'redisCluster' ? 'cluster' : name === 'redisSentinel' ? 'sentinel' : name})`;
      if (process.env.CI === 'true') {
        require('@jest/globals').test(`${name} must be reachable under CI`, () => {
          throw new Error(msg);
        });
      } else {
        console.warn('\n' + '!'.repeat(100) + '\n' + msg + ' — SKIPPED\n' + '!'.repeat(100) + '\n');
        require('@jest/globals').test.skip(`[skipped: ${name} unreachable] ${what}`, () => undefined);
      }
    },
  };
}

/** The MySQL URL as the connection options express-mysql-session's README passes (host, port, user, …). */
export function mysqlOptions(): { host: string; port: number; user: string; password: string; database: string } {
  const u = new URL(urls.mysql);
  return {
    host: u.hostname,
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password),
    database: u.pathname.slice(1) || 'test',
  };
}
