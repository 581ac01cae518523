import { afterAll, describe, expect, test } from '@jest/globals';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { SessError } from '@sess/core';
import { FileStore } from '@sess/store-file';

const root = mkdtempSync(path.join(os.tmpdir(), 'sess-file-safe-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const ctx = () => ({ expires: new Date(Date.now() + 60_000) });
const rec = (v: unknown = 1) => ({ cookie: { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000).toISOString(), httpOnly: true, path: '/' }, v });

describe('ids are checked before any filesystem call', () => {
  const bad = ['../escape', '..', '.', 'a/b', 'a\\b', 'a\u0000b', 'x'.repeat(201), '', 'a b', 'a.json', '/etc/passwd', 'ok\n'];
  test.each(bad.map((b) => [JSON.stringify(b), b]))('%s is refused by every operation', async (_n, sid) => {
    const dir = path.join(root, 'ids');
    const store = new FileStore({ dir, reapInterval: 0 });
    rmSync(dir, { recursive: true, force: true }); // any filesystem call would now fail with ENOENT or find nothing
    const ops: Array<() => Promise<unknown>> = [
      () => store.get(sid),
      () => store.set(sid, rec(), ctx()),
      () => store.destroy(sid),
      () => store.touch(sid, rec(), ctx()),
      () => store.lock(sid, { ttlMs: 1000, waitMs: 0 }),
      () => store.patch(sid, { set: {}, unset: [], cookie: rec().cookie }, ctx()),
    ];
    for (const op of ops) {
      const err = await Promise.resolve().then(op).then(() => null, (e: unknown) => e);
      expect(SessError.isInstance(err)).toBe(true);
      expect((err as SessError).code).toBe('SESS_BAD_ID');
      expect((err as Error).message).not.toContain(sid || '\u0001');
    }
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(path.join(root, 'escape.json'))).toBe(false);
    await store.close();
  });
});

test('a corrupt file is reported (typed error), never deleted, and left out of listings', async () => {
  const dir = path.join(root, 'corrupt');
  const store = new FileStore({ dir, reapInterval: 0 });
  writeFileSync(path.join(dir, 'broken_id.json'), '{"cookie": {"originalMax');
  writeFileSync(path.join(dir, 'wrongshape.json'), '[1,2,3]');
  await store.set('good_id', rec(), ctx());
  for (const sid of ['broken_id', 'wrongshape']) {
    const err = await store.get(sid).then(() => null, (e: unknown) => e);
    expect((err as SessError).code).toBe('SESS_BAD_DATA');
  }
  expect(await store.ids()).toEqual(['good_id']);
  expect(await store.reap()).toBe(0);
  expect(readdirSync(dir).sort()).toEqual(['broken_id.json', 'good_id.json', 'wrongshape.json']);
  await store.close();
});

test('a stale lock whose holder died is taken over after its ttl; a live one is not', async () => {
  const dir = path.join(root, 'locks');
  const store = new FileStore({ dir, reapInterval: 0 });
  const held = await store.lock('sid_1', { ttlMs: 60_000, waitMs: 100 });
  await expect(store.lock('sid_1', { ttlMs: 1000, waitMs: 100 })).rejects.toMatchObject({ code: 'SESS_LOCK_TIMEOUT' });
  await held.release();
  // a lock file left by a process that was killed
  writeFileSync(path.join(dir, '.sess-locks', 'sid_2.lock'), JSON.stringify({ owner: 'dead', expiresAt: Date.now() - 1, pid: 999999 }));
  const taken = await store.lock('sid_2', { ttlMs: 1000, waitMs: 2000 });
  await taken.release();
  await store.close();
});

describe("session-file-store's options", () => {
  test.each(['encrypt', 'secret', 'fileExtension', 'keyFunction', 'encoder', 'decoder', 'encoding', 'fallbackSessionFn'])('%s fails at construction with why', (key) => {
    expect(() => new FileStore({ dir: path.join(os.tmpdir(), 'sess-never'), [key]: 1 } as never)).toThrow(expect.objectContaining({ code: 'SESS_CONFIG', message: expect.stringContaining(`"${key}"`) }));
  });

  test('path is dir; reapInterval counts seconds, as session-file-store does', async () => {
    const dir = mkdtempSync(path.join(root, 'path-'));
    const store = new FileStore({ path: dir, reapInterval: 10 });
    expect(store.dir).toBe(path.resolve(dir));
    const delay = (store as unknown as { timer: { _idleTimeout: number } }).timer._idleTimeout;
    expect(delay).toBeGreaterThanOrEqual(7500);
    expect(delay).toBeLessThanOrEqual(12_500);
    await store.close();
    const never = new FileStore({ dir, reapInterval: -1 });
    expect((never as unknown as { timer: unknown }).timer ?? null).toBeNull();
    await never.close();
    expect(() => new FileStore({ dir, path: dir })).toThrow(expect.objectContaining({ code: 'SESS_CONFIG' }));
  });
});

test('the reap timer does not keep the process alive', () => {
  const entry = path.join(__dirname, '..', 'dist', 'entry.js');
  const dir = path.join(root, 'timer');
  const r = spawnSync(process.execPath, ['-e', `const { FileStore } = require(${JSON.stringify(entry)}); new FileStore({ dir: ${JSON.stringify(dir)}, reapInterval: 50 }); console.log('exited')`], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  expect(r.stdout.trim()).toBe('exited');
});
