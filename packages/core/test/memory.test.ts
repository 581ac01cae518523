import { describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { MemoryStore, Store, type SessionRecord } from '@sess/core';

const rec = (n: number, expiresIn = 60_000): SessionRecord => ({
  cookie: { originalMaxAge: expiresIn, expires: new Date(Date.now() + expiresIn).toISOString(), httpOnly: true, path: '/' },
  n,
});
const ctx = (ms = 60_000) => ({ expires: new Date(Date.now() + ms) });

describe('MemoryStore', () => {
  test('is bounded: past max the least recently used session goes', async () => {
    const s = new MemoryStore({ max: 3, checkPeriod: 0 });
    await s.set('a', rec(1), ctx());
    await s.set('b', rec(2), ctx());
    await s.set('c', rec(3), ctx());
    await s.get('a'); // a is now most recent
    await s.set('d', rec(4), ctx());
    expect((await s.ids()).sort()).toEqual(['a', 'c', 'd']);
    expect(await s.length()).toBe(3);
    expect(await s.get('b')).toBeNull();
  });

  test('expires on read and on the pruning timer (injectable clock)', async () => {
    let now = Date.now();
    const s = new MemoryStore({ checkPeriod: 0, now: () => now });
    await s.set('a', rec(1), { expires: new Date(now + 1000) });
    await s.set('b', rec(2), { expires: new Date(now + 5000) });
    expect(await s.get('a')).not.toBeNull();
    now += 1000;
    expect(await s.get('a')).toBeNull();
    now += 10_000;
    expect(s.prune()).toBe(1);
    expect(await s.length()).toBe(0);
  });

  test('a write with an expiry in the past deletes instead', async () => {
    const s = new MemoryStore({ checkPeriod: 0 });
    await s.set('a', rec(1), ctx());
    await s.set('a', rec(2), { expires: new Date(Date.now() - 1) });
    expect(await s.get('a')).toBeNull();
  });

  test('returns copies: changing a loaded record does not change the store', async () => {
    const s = new MemoryStore({ checkPeriod: 0 });
    await s.set('a', rec(1), ctx());
    const r = (await s.get('a'))!;
    r.n = 99;
    expect((await s.get('a'))!.n).toBe(1);
  });

  test('touch refreshes expiry and cookie without rewriting data, and never recreates', async () => {
    const s = new MemoryStore({ checkPeriod: 0 });
    await s.set('a', rec(1), ctx(1000));
    await s.touch('a', { ...rec(2, 90_000) }, ctx(90_000));
    const r = (await s.get('a'))!;
    expect(r.n).toBe(1);
    expect(r.cookie.originalMaxAge).toBe(90_000);
    await s.destroy('a');
    await s.touch('a', rec(3), ctx());
    expect(await s.get('a')).toBeNull();
  });

  test('touch splices a longer or shorter cookie in front of the same data, every time', async () => {
    const s = new MemoryStore({ checkPeriod: 0 });
    const data = { user: { id: 7, name: 'a "quoted" }{ name' }, cart: [1, 2] };
    await s.set('a', { ...rec(1), ...data }, ctx());
    const cookies = [
      { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000).toISOString(), httpOnly: true, path: '/', domain: 'sub.example.com', sameSite: 'strict' },
      { originalMaxAge: null, path: '/' },
      { originalMaxAge: 5_000, expires: new Date(Date.now() + 5_000).toISOString(), secure: true, httpOnly: true, path: '/a}b"c' },
    ];
    for (const cookie of cookies) {
      await s.touch('a', { cookie } as unknown as SessionRecord, ctx());
      const r = (await s.get('a'))!;
      expect(JSON.parse(JSON.stringify(r))).toEqual({ cookie, n: 1, ...data });
    }
  });

  test('is a compat Store (EventEmitter) and its timer does not keep the process alive', () => {
    expect(new MemoryStore({ checkPeriod: 0 })).toBeInstanceOf(Store);
    const src = path.join(__dirname, '..', 'dist', 'entry.js');
    const r = spawnSync(process.execPath, ['-e', `const { MemoryStore } = require(${JSON.stringify(src)}); new MemoryStore({ checkPeriod: 10 }); console.log('done')`], {
      timeout: 10_000,
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('done');
  });

  test('warns in production, as express-session does', () => {
    const entry = path.join(__dirname, '..', 'dist', 'entry.js');
    const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(entry)})({ secret: 'x', resave: false, saveUninitialized: false })`], {
      env: { ...process.env, NODE_ENV: 'production' },
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(r.stderr).toMatch(/MemoryStore is not designed for a production environment/);
    const dev = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(entry)})({ secret: 'x', resave: false, saveUninitialized: false })`], {
      env: { ...process.env, NODE_ENV: 'development' },
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(dev.stderr).not.toMatch(/MemoryStore/);
  });

  test('clear empties, close stops the timer', async () => {
    const s = new MemoryStore();
    await s.set('a', rec(1), ctx());
    await s.clear();
    expect(await s.length()).toBe(0);
    await s.close();
  });

  test('rejects a bad max', () => {
    expect(() => new MemoryStore({ max: 0 })).toThrow(/max must be a positive integer/);
  });
});
