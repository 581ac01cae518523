/**
 * Redis failover under traffic: Sentinel (a primary, replicas and three Sentinels of our own), the primary
 * killed and a replica promoted; and Cluster (3 primaries with 1 replica each, or 2 with waitReplicas), a primary
 * killed. Counts the acknowledged writes and sessions lost without `waitReplicas` (Redis replicates
 * asynchronously) and asserts none with it; the apps recover by themselves, no logout is undone.
 *
 * `waitReplicas: n` protects a write if the replica promoted is one that acknowledged it. With Sentinel and
 * `waitReplicas: 1` the setup has one replica, and the killed primary comes back as the promoted one's replica
 * (which writes need again). The Cluster keeps two replicas per primary instead, so that the failed-over shard
 * still has one: there a write only one of them acknowledged relies on the election picking it (the replica with
 * the greater offset; not seen to fail here).
 */
import { expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { startApps, summary, sleep, traffic } from './harness';
import { ownCluster, ownSentinel, type FailoverTimes } from './servers';

const STORE_TIMEOUT = 2000;
const hasRedis = spawnSync('redis-server', ['--version']).status === 0;

if (!hasRedis) {
  if (process.env.CI === 'true') test('redis-server must be installed under CI', () => { throw new Error('redis-server not found'); });
  else test.skip('[skipped: no redis-server] Sentinel failover under traffic', () => undefined);
} else {
  /** Traffic through three apps on `kind`, the failover, then the counts; with waitReplicas, no acknowledged write lost. */
  async function scenario(label: string, kind: string, wait: number, server: { url: string; failover(replicas?: number): Promise<FailoverTimes>; stop(): Promise<void> }, promoted: string) {
    const apps = await startApps({ SESS_FAULT_STORE: kind, SESS_FAULT_URL: server.url, SESS_FAULT_NS: `${kind.replace('-', '_')}_${process.pid}`, SESS_FAULT_STORE_TIMEOUT: String(STORE_TIMEOUT), SESS_FAULT_WAIT_REPLICAS: String(wait) });
    try {
      const load = traffic(apps.url);
      await sleep(2500);
      load.mark();
      // With waitReplicas, a write is acknowledged only once the new primary has a replica again: the servers'
      // own recovery, which the apps cannot hasten. The apps are given 6 s from the last time the servers were seen
      // not writable (a replica can drop and re-sync after it first came online).
      const { promotedMs, writableMs, lastLapseMs } = await server.failover(wait);
      await sleep(6000);
      const r = await load.stop();
      const recoveredMs = lastLapseMs();
      const lapse = recoveredMs > writableMs ? `, not writable again until ${recoveredMs} ms` : '';
      console.log(`${label} (${wait ? 'waitReplicas: 1' : 'no waitReplicas'}): ${promoted} after ${promotedMs} ms${wait ? `, a replica online again after ${writableMs} ms` : ''}${lapse}; ${summary(r)}`);
      if (wait) expect([r.lostWrites, r.lostSessions]).toEqual([0, 0]);
      expect(r.resurrected).toBe(0);
      // A request makes at most two store operations (its load, its save), each cut off at storeTimeout; the rest is
      // the app and the proxy, slower on a loaded machine.
      expect(r.longestMs).toBeLessThan(2 * STORE_TIMEOUT + 2000);
      expect(r.failed['0'] ?? 0).toBe(0);
      expect(r.acknowledgedWrites).toBeGreaterThan(100);
      expect(r.outageMs).toBeLessThan(recoveredMs + 6000);
    } finally {
      await apps.stop();
      await server.stop();
    }
  }

  for (const wait of [0, 1]) {
    test(`Sentinel failover under traffic, ${wait ? 'waitReplicas: 1' : 'without waitReplicas'}: the apps recover by themselves${wait ? ', 0 acknowledged writes lost' : ''}`, async () => {
      await scenario(wait ? 'Redis Sentinel failover, one replica, the old primary back as a replica' : 'Redis Sentinel failover', 'redis-sentinel', wait, await ownSentinel(`faults${wait}`, wait ? { replicas: 1, rejoin: true } : {}), 'replica promoted');
    }, 120_000);
  }

  for (const wait of [0, 1]) {
    // 3 primaries and 3 replicas; with waitReplicas: 1, two replicas each, so that the promoted replica still has
    // one to acknowledge its writes (with one each, the failed-over shard's writes would fail until one is added).
    const replicas = wait ? 2 : 1;
    test(`Redis Cluster (3 primaries, ${3 * replicas} replicas) losing a primary under traffic, ${wait ? 'waitReplicas: 1' : 'without waitReplicas'}: the apps recover by themselves${wait ? ', 0 acknowledged writes lost' : ''}`, async () => {
      await scenario(`Redis Cluster, 3 primaries and ${3 * replicas} replicas, a primary killed`, 'redis-cluster', wait, await ownCluster(replicas), 'cluster ok again');
    }, 120_000);
  }
}
