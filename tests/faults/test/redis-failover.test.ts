/**
 * Redis failover under traffic: Sentinel (a primary, two replicas and three Sentinels of our own), the primary
 * killed and a replica promoted; and Cluster (3 primaries with 1 replica each, or 2 with waitReplicas), a primary killed. Counts the
 * acknowledged writes lost without `waitReplicas` (Redis replicates asynchronously) and asserts none with it;
 * the apps recover by themselves, no logout is undone.
 */
import { expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { startApps, sleep, traffic } from './harness';
import { ownCluster, ownSentinel } from './servers';

const STORE_TIMEOUT = 2000;
const hasRedis = spawnSync('redis-server', ['--version']).status === 0;

if (!hasRedis) {
  if (process.env.CI === 'true') test('redis-server must be installed under CI', () => { throw new Error('redis-server not found'); });
  else test.skip('[skipped: no redis-server] Sentinel failover under traffic', () => undefined);
} else {
  for (const wait of [0, 1]) {
    test(`Sentinel failover under traffic, ${wait ? 'waitReplicas: 1' : 'without waitReplicas'}: the apps recover by themselves${wait ? ', 0 acknowledged writes lost' : ''}`, async () => {
      const sentinel = await ownSentinel(`faults${wait}`);
      const apps = await startApps({ SESS_FAULT_STORE: 'redis-sentinel', SESS_FAULT_URL: sentinel.url, SESS_FAULT_NS: `sentinel_${process.pid}`, SESS_FAULT_STORE_TIMEOUT: String(STORE_TIMEOUT), SESS_FAULT_WAIT_REPLICAS: String(wait) });
      try {
        const load = traffic(apps.url);
        await sleep(2500);
        load.mark();
        const { promotedMs } = await sentinel.failover();
        await sleep(6000);
        const r = await load.stop();
        const failed = Object.entries(r.failed).map(([status, n]) => `${n}x ${status === '0' ? 'no answer' : status}`).join(', ') || 'none';
        console.log(`Redis Sentinel failover (${wait ? 'waitReplicas: 1' : 'no waitReplicas'}): replica promoted after ${promotedMs} ms; ${r.requests} requests, failed: ${failed}; requests failed for ${r.outageMs} ms; longest request ${Math.round(r.longestMs)} ms; ${r.acknowledgedWrites} acknowledged writes, ${r.lostWrites} lost; ${r.resurrected} sessions back after logout`);
        if (wait) expect(r.lostWrites).toBe(0);
        expect(r.resurrected).toBe(0);
        // A request makes at most two store operations (its load, its save), each cut off at storeTimeout; the rest is
        // the app and the proxy, slower on a loaded machine.
        expect(r.longestMs).toBeLessThan(2 * STORE_TIMEOUT + 2000);
        expect(r.failed['0'] ?? 0).toBe(0);
        expect(r.acknowledgedWrites).toBeGreaterThan(100);
        expect(r.outageMs).toBeLessThan(promotedMs + 6000);
      } finally {
        await apps.stop();
        await sentinel.stop();
      }
    }, 120_000);
  }

  for (const wait of [0, 1]) {
    // 3 primaries and 3 replicas; with waitReplicas: 1, two replicas each, so that the promoted replica still has
    // one to acknowledge its writes (with one each, the failed-over shard's writes would fail until one is added).
    const replicas = wait ? 2 : 1;
    test(`Redis Cluster (3 primaries, ${3 * replicas} replicas) losing a primary under traffic, ${wait ? 'waitReplicas: 1' : 'without waitReplicas'}: the apps recover by themselves${wait ? ', 0 acknowledged writes lost' : ''}`, async () => {
      const cluster = await ownCluster(replicas);
      const apps = await startApps({ SESS_FAULT_STORE: 'redis-cluster', SESS_FAULT_URL: cluster.url, SESS_FAULT_NS: `cluster_${process.pid}`, SESS_FAULT_STORE_TIMEOUT: String(STORE_TIMEOUT), SESS_FAULT_WAIT_REPLICAS: String(wait) });
      try {
        const load = traffic(apps.url);
        await sleep(2500);
        load.mark();
        const { promotedMs } = await cluster.failover();
        await sleep(6000);
        const r = await load.stop();
        const failed = Object.entries(r.failed).map(([status, n]) => `${n}x ${status === '0' ? 'no answer' : status}`).join(', ') || 'none';
        console.log(`Redis Cluster, 3 primaries and ${3 * replicas} replicas, a primary killed (${wait ? 'waitReplicas: 1' : 'no waitReplicas'}): cluster ok again after ${promotedMs} ms; ${r.requests} requests, failed: ${failed}; requests failed for ${r.outageMs} ms; longest request ${Math.round(r.longestMs)} ms; ${r.acknowledgedWrites} acknowledged writes, ${r.lostWrites} lost; ${r.resurrected} sessions back after logout`);
        if (wait) expect(r.lostWrites).toBe(0);
        expect(r.resurrected).toBe(0);
        // A request makes at most two store operations (its load, its save), each cut off at storeTimeout; the rest is
        // the app and the proxy, slower on a loaded machine.
        expect(r.longestMs).toBeLessThan(2 * STORE_TIMEOUT + 2000);
        expect(r.failed['0'] ?? 0).toBe(0);
        expect(r.acknowledgedWrites).toBeGreaterThan(100);
        expect(r.outageMs).toBeLessThan(promotedMs + 6000);
      } finally {
        await apps.stop();
        await cluster.stop();
      }
    }, 120_000);
  }
}
