import { afterAll, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileStore } from '@sess/store-file';

const root = mkdtempSync(path.join(os.tmpdir(), 'sess-file-dur-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const rec = (v: string) => ({ cookie: { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000).toISOString(), httpOnly: true, path: '/' }, v });
const ctx = () => ({ expires: new Date(Date.now() + 60_000) });

test('a process killed (SIGKILL) in the middle of writes leaves the old record or the new one, never a torn one', async () => {
  const entry = path.join(__dirname, '..', 'dist', 'entry.js');
  for (let round = 0; round < 5; round++) {
    const dir = path.join(root, `kill-${round}`);
    const script = `
      const { FileStore } = require(${JSON.stringify(entry)});
      const store = new FileStore({ dir: ${JSON.stringify(dir)}, reapInterval: 0 });
      const big = (c) => ({ cookie: { originalMaxAge: 60000, expires: new Date(Date.now() + 60000).toISOString(), httpOnly: true, path: '/' }, v: c.repeat(400000) });
      let i = 0;
      (async () => { for (;;) { await store.set('victim_id', big(i++ % 2 ? 'a' : 'b'), { expires: new Date(Date.now() + 60000) }); if (i === 3) process.stdout.write('writing\\n'); } })();
    `;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    await new Promise((r) => setTimeout(r, 20 + Math.random() * 80));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const raw = JSON.parse(readFileSync(path.join(dir, 'victim_id.json'), 'utf8'));
    expect(raw.v === 'a'.repeat(400000) || raw.v === 'b'.repeat(400000)).toBe(true);
    const store = new FileStore({ dir, reapInterval: 0 });
    expect(((await store.get('victim_id'))!.v as string).length).toBe(400000);
    // leftovers of the killed write are temporary files the reaper removes once old
    expect(readdirSync(dir).filter((f) => f.endsWith('.json'))).toEqual(['victim_id.json']);
    await store.close();
  }
}, 60_000);

test('concurrent writers to one session (two instances) never produce a torn file', async () => {
  const dir = path.join(root, 'concurrent');
  const a = new FileStore({ dir, reapInterval: 0 });
  const b = new FileStore({ dir, reapInterval: 0 });
  const writes: Promise<void>[] = [];
  for (let i = 0; i < 30; i++) writes.push((i % 2 ? a : b).set('shared_id', rec(String(i).repeat(50_000)), ctx()));
  await Promise.all(writes);
  const v = (await a.get('shared_id'))!.v as string;
  expect(v.length).toBeGreaterThanOrEqual(50_000);
  expect(new Set(v.split('')).size).toBeLessThanOrEqual(2);
  expect(JSON.parse(readFileSync(path.join(dir, 'shared_id.json'), 'utf8')).v).toBe(v);
  await a.close();
  await b.close();
});

test('the reaper removes 100k expired files with bounded concurrency (no EMFILE)', async () => {
  const dir = path.join(root, 'reap');
  const store = new FileStore({ dir, reapInterval: 0, reapConcurrency: 64 });
  const past = Date.now() - 1000;
  const body = JSON.stringify({ cookie: { originalMaxAge: 1000, expires: new Date(past).toISOString(), httpOnly: true, path: '/' }, __lastAccess: past - 1000 });
  for (let i = 0; i < 100_000; i++) writeFileSync(path.join(dir, `expired_${i}.json`), body);
  await store.set('alive_id', rec('x'), ctx());
  expect(await store.reap()).toBe(100_000);
  expect(readdirSync(dir).filter((f) => f.endsWith('.json'))).toEqual(['alive_id.json']);
  await store.close();
}, 300_000);

test('the reaper keeps to reapConcurrency files at once (default 2, half of libuv pool), live files stay', async () => {
  for (const [limit, opts] of [[2, {}], [5, { reapConcurrency: 5 }]] as const) {
    const dir = path.join(root, `reap-limit-${limit}`);
    const store = new FileStore({ dir, reapInterval: 0, ...opts });
    const past = Date.now() - 1000;
    const body = JSON.stringify({ cookie: { originalMaxAge: 1000, expires: new Date(past).toISOString(), httpOnly: true, path: '/' }, __lastAccess: past - 1000 });
    for (let i = 0; i < 300; i++) writeFileSync(path.join(dir, `expired_${i}.json`), body);
    for (let i = 0; i < 20; i++) await store.set(`alive_${i}`, rec('x'), ctx());
    // Count the reaper's reads in flight by wrapping this instance's own reader.
    const inner = store as unknown as { current: (sid: string) => Promise<unknown> };
    const read = inner.current.bind(store);
    let inFlight = 0;
    let most = 0;
    inner.current = async (sid: string) => {
      most = Math.max(most, ++inFlight);
      try {
        await new Promise((r) => setImmediate(r));
        return await read(sid);
      } finally {
        inFlight--;
      }
    };
    expect(await store.reap()).toBe(300);
    expect(most).toBe(limit);
    expect(readdirSync(dir).filter((f) => f.endsWith('.json')).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `alive_${i}.json`).sort());
    await store.close();
  }
});

test('a file this store writes has its expiry as its mtime: the reaper passes it with one stat until then', async () => {
  const dir = path.join(root, 'reap-mtime');
  let clock = Date.now();
  const store = new FileStore({ dir, reapInterval: 0, now: () => clock });
  const expires = clock + 60_000;
  await store.set('ours_live', rec('x'), { expires: new Date(expires) });
  expect(Math.abs(statSync(path.join(dir, 'ours_live.json')).mtimeMs - expires)).toBeLessThan(2);
  await store.touch('ours_live', rec('x'), { expires: new Date(expires + 5_000) });
  expect(Math.abs(statSync(path.join(dir, 'ours_live.json')).mtimeMs - (expires + 5_000))).toBeLessThan(2);
  // session-file-store's files: mtime is their write time, so they are read and judged by their contents
  const past = clock - 1000;
  const body = (last: number) => JSON.stringify({ cookie: { originalMaxAge: 1000, expires: new Date(last + 1000).toISOString(), httpOnly: true, path: '/' }, __lastAccess: last });
  writeFileSync(path.join(dir, 'theirs_expired.json'), body(past - 1000));
  writeFileSync(path.join(dir, 'theirs_live.json'), body(clock - 10));
  // (written when their __lastAccess says, as session-file-store would have)
  utimesSync(path.join(dir, 'theirs_expired.json'), new Date(past - 1000), new Date(past - 1000));
  utimesSync(path.join(dir, 'theirs_live.json'), new Date(clock - 10), new Date(clock - 10));
  const inner = store as unknown as { current: (sid: string) => Promise<unknown> };
  const read = inner.current.bind(store);
  const seen: string[] = [];
  inner.current = (sid: string) => {
    seen.push(sid);
    return read(sid);
  };
  expect(await store.reap()).toBe(1);
  expect(seen.filter((s) => s !== 'theirs_expired').sort()).toEqual(['theirs_live']); // ours_live never read
  expect(readdirSync(dir).filter((f) => f.endsWith('.json')).sort()).toEqual(['ours_live.json', 'theirs_live.json']);
  // once its expiry has passed, it is read and removed like any other
  clock = expires + 6_000;
  seen.length = 0;
  expect(await store.reap()).toBe(2);
  expect(seen).toContain('ours_live');
  expect(readdirSync(dir).filter((f) => f.endsWith('.json'))).toEqual([]);
  await store.close();
});

test('the reaper removes temporary files left by a killed write once they are an hour old, by ctime (a write sets their mtime ahead)', async () => {
  const dir = path.join(root, 'reap-tmp');
  let clock = Date.now();
  const store = new FileStore({ dir, reapInterval: 0, now: () => clock });
  const tmp = path.join(dir, '.left_id.json.0a1b2c3d4e5f.tmp');
  writeFileSync(tmp, '{"cookie":{}');
  utimesSync(tmp, new Date(clock), new Date(clock + 86_400_000)); // as a write does before its rename
  await store.reap();
  expect(readdirSync(dir)).toContain('.left_id.json.0a1b2c3d4e5f.tmp'); // a write may still be in progress
  clock += 2 * 3_600_000;
  await store.reap();
  expect(readdirSync(dir)).not.toContain('.left_id.json.0a1b2c3d4e5f.tmp');
  await store.close();
});

test('reapConcurrency must be a positive integer', () => {
  for (const bad of [0, -1, 1.5, '2']) {
    expect(() => new FileStore({ dir: path.join(root, 'bad'), reapInterval: 0, reapConcurrency: bad as number })).toThrow(/reapConcurrency must be a positive integer/);
  }
});

test('listUser drops an index entry whose session file is gone (destroyed as another user\'s, or reaped)', async () => {
  const dir = path.join(root, 'dangling');
  const store = new FileStore({ dir, reapInterval: 0 });
  await store.set('gone_one', rec('x'), { ...ctx(), userKey: 'ann' });
  await store.set('kept_one', rec('y'), { ...ctx(), userKey: 'ann' });
  const entries = () => (readdirSync(dir, { recursive: true }) as string[]).filter((f) => /(gone|kept)_one$/.test(f) && !f.endsWith('.json'));
  expect(entries()).toHaveLength(2);
  rmSync(path.join(dir, 'gone_one.json'));
  expect((await store.listUser('ann')).map((s) => s.id)).toEqual(['kept_one']);
  expect(entries().map((f) => path.basename(f))).toEqual(['kept_one']);
  expect(await store.destroyUser('ann')).toBe(1);
  expect(entries()).toEqual([]);
  await store.close();
});
