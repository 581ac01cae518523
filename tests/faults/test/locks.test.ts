/**
 * `concurrency: 'lock'` across three app processes on the real Redis and PostgreSQL: one session incremented
 * by concurrent requests spread over the three, read-modify-write each time: no increment is lost.
 */
import { afterAll, expect, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Redis } from 'ioredis';
// @ts-expect-error pg ships no types here
import pg from 'pg';
import { serviceTest, urls } from '../../../packages/conformance/test/services';

const children: ChildProcess[] = [];
const made: Array<{ kind: string; table: string }> = [];
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const { kind, table } of made) {
    if (kind === 'pg') {
      const pool = new pg.Pool({ connectionString: urls.pg });
      await pool.query(`drop table if exists "${table}"`);
      await pool.query(`drop table if exists "${table}_by_user"`);
      await pool.end();
    } else {
      const redis = new Redis(urls.redis);
      const keys = await redis.keys(`${table}:*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
    }
  }
});

/** Increment one session `total` times from 12 concurrent clients over the instances; the final count and failures. */
async function hammer(ports: number[], total: number): Promise<{ n: number; failed: number }> {
  const first = await fetch(`http://127.0.0.1:${ports[0]}/start`);
  const cookie = first.headers.getSetCookie()[0]!.split(';')[0]!;
  let failed = 0;
  let sent = 0;
  await Promise.all(
    Array.from({ length: 12 }, async () => {
      while (sent < total) {
        const i = sent++;
        const r = await fetch(`http://127.0.0.1:${ports[i % ports.length]}/inc`, { headers: { cookie } });
        if (r.status !== 200) failed++;
        await r.text();
      }
    }),
  );
  const n = Number(await (await fetch(`http://127.0.0.1:${ports[1 % ports.length]}/n`, { headers: { cookie } })).text());
  return { n, failed };
}

function instance(kind: string, table: string, mode = 'lock'): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'counter-app.cjs'), kind, table, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    child.stdout!.on('data', (d: Buffer) => {
      const m = /listening (\d+)/.exec(String(d));
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`instance exited with ${code}`)));
  });
}

for (const [kind, svcName] of [['redis', 'redis'], ['pg', 'pg']] as const) {
  const svc = serviceTest(svcName);
  if (!svc.available) {
    svc.missing(`concurrency: 'lock' across three processes on ${kind}`);
    continue;
  }
  test(`concurrency: 'lock' across three processes on ${kind}: 300 concurrent increments of one session, none lost`, async () => {
    const table = `locks_${kind}_${process.pid}`;
    made.push({ kind, table });
    const ports = await Promise.all([0, 1, 2].map(() => instance(kind, table)));
    const TOTAL = 300;
    const { n, failed } = await hammer(ports, TOTAL);
    console.log(`concurrency: 'lock' on ${kind}, 3 processes, ${TOTAL} increments: ${TOTAL - failed} acknowledged, counter ${n}, ${TOTAL - failed - n} lost`);
    expect(failed).toBe(0);
    expect(n).toBe(TOTAL);
  }, 120_000);

  if (kind === 'redis') {
    test('the same without the lock (last-write-wins) loses increments: what the lock prevents', async () => {
      const table = `nolocks_${kind}_${process.pid}`;
      made.push({ kind, table });
      const ports = await Promise.all([0, 1, 2].map(() => instance(kind, table, 'last-write-wins')));
      const { n, failed } = await hammer(ports, 300);
      console.log(`concurrency: 'last-write-wins' on ${kind}, 3 processes, 300 increments: counter ${n}, ${300 - failed - n} lost`);
      expect(failed).toBe(0);
      expect(n).toBeLessThan(300);
    }, 120_000);
  }
}
