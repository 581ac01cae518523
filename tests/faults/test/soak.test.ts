/**
 * The soak, shortened for CI (src/soak.mjs; the full run is 15 minutes over 10,000 sessions, `pnpm --filter
 * @sess/fault-tests faults`): mixed traffic with the app's Redis connection cut every 20 s. No request may be
 * left unanswered for long, memory must not climb, and no socket, timer or listener may be left behind. The p99 of
 * the first and last minute is reported, not asserted: in CI the soak shares two cores with the other suites, and
 * a latency bound there measures the neighbours (it failed a clean run at 39 -> 130 ms while another passed at
 * 149 -> 84). Latency is the benchmarks' business (bench/, docs/performance.md) and the full soak's report.
 */
import { expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { serviceTest } from '../../../packages/conformance/test/services';

const svc = serviceTest('redis');
if (!svc.available) svc.missing('the soak');
else
  test('soak, 2 minutes, 2,000 sessions, the Redis connection cut every 20 s: bounded memory, no leaks', () => {
    const r = spawnSync(process.execPath, [path.join(__dirname, '..', 'src', 'soak.mjs'), '--minutes', '2', '--sessions', '2000', '--cut-every', '20', '--json'], { encoding: 'utf8', timeout: 240_000 });
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout);
    console.log(`soak (CI form): ${JSON.stringify(s)}`);
    expect(s.cuts).toBeGreaterThanOrEqual(4);
    expect(s.failed / s.requests).toBeLessThan(0.02);
    expect(s.heapMb.end - s.heapMb.start).toBeLessThan(20);
    expect(s.handles.TCPSocketWrap?.end ?? 0).toBeLessThanOrEqual((s.handles.TCPSocketWrap?.start ?? 0) + 4);
    expect(s.handles.Timeout?.end ?? 0).toBeLessThanOrEqual((s.handles.Timeout?.start ?? 0) + 4);
    expect(s.listeners.end).toBe(s.listeners.start);
    expect(typeof s.p99FirstMinuteMs === 'number' && typeof s.p99LastMinuteMs === 'number').toBe(true); // reported above
  }, 260_000);
