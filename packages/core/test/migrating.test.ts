/**
 * MigratingStore's stages on two in-process stores (the move between real servers under traffic is
 * packages/cli/test/migration.test.ts): where reads and writes go, the copy on read with the remaining
 * lifetime, destroys reaching both, no resurrection, and the helpers scanSessions and copySession.
 */
import { describe, expect, test } from '@jest/globals';
import express from 'express';
import { ConfigError, MemoryStore, MigratingStore, Store, copySession, scanSessions, type SessionRecord, type StoredSession, type WriteContext } from '@sess/core';
import session from '@sess/core';
import { client, listen } from './helpers';

const rec = (data: Record<string, unknown>, expiresInMs = 60_000): SessionRecord => ({ cookie: { originalMaxAge: expiresInMs, expires: new Date(Date.now() + expiresInMs).toISOString(), httpOnly: true, path: '/' }, ...data }) as SessionRecord;
const ctx = (r: SessionRecord, userKey: string | null = null): WriteContext => ({ expires: new Date(r.cookie.expires as string), userKey });

describe('MigratingStore', () => {
  test('dual-write: reads the old store, writes and destroys both', async () => {
    const from = new MemoryStore();
    const to = new MemoryStore();
    const m = new MigratingStore({ from, to, stage: 'dual-write' });
    const r = rec({ n: 1 });
    await from.set('only-old-aaaaaaaaaaaa', r, ctx(r));
    expect(await m.get('only-old-aaaaaaaaaaaa')).toMatchObject({ n: 1 });
    expect(await to.get('only-old-aaaaaaaaaaaa')).toBeNull(); // no copy on read in this stage
    await m.set('both-aaaaaaaaaaaaaaaa', r, ctx(r));
    expect(await from.get('both-aaaaaaaaaaaaaaaa')).toMatchObject({ n: 1 });
    expect(await to.get('both-aaaaaaaaaaaaaaaa')).toMatchObject({ n: 1 });
    await m.destroy('both-aaaaaaaaaaaaaaaa');
    expect(await from.get('both-aaaaaaaaaaaaaaaa')).toBeNull();
    expect(await to.get('both-aaaaaaaaaaaaaaaa')).toBeNull();
  });

  test('fallback: a session only in the old store is copied with its remaining lifetime and user key', async () => {
    const from = new MemoryStore();
    const to = new MemoryStore();
    const m = new MigratingStore({ from, to, stage: 'fallback', userKey: (r) => (r.userId as string) ?? null });
    const r = rec({ userId: 'u1' }, 30_000);
    await from.set('old-session-aaaaaaaaaa', r, ctx(r, 'u1'));
    expect(await m.get('old-session-aaaaaaaaaa')).toMatchObject({ userId: 'u1' });
    const copied: StoredSession[] = [];
    for await (const s of to.scan()) copied.push(s);
    expect(copied).toHaveLength(1);
    expect(Math.abs(copied[0]!.expires! - Date.parse(r.cookie.expires as string))).toBeLessThan(50);
    expect(copied[0]!.userKey).toBe('u1');
    expect((await m.listUser('u1')).map((s) => s.id)).toEqual(['old-session-aaaaaaaaaa']);
    // The new store's copy is the one read from now on; writes still reach both.
    const changed = rec({ userId: 'u1', n: 2 }, 30_000);
    await m.set('old-session-aaaaaaaaaa', changed, ctx(changed, 'u1'));
    expect(await from.get('old-session-aaaaaaaaaa')).toMatchObject({ n: 2 });
    expect(await m.destroyUser('u1')).toBe(1);
    expect(await from.get('old-session-aaaaaaaaaa')).toBeNull();
    expect(await to.get('old-session-aaaaaaaaaa')).toBeNull();
    expect(await m.get('old-session-aaaaaaaaaa')).toBeNull();
  });

  test('a session destroyed while it is being copied is never brought back', async () => {
    const from = new MemoryStore();
    const to = new MemoryStore();
    const r = rec({ n: 1 });
    await from.set('racing-aaaaaaaaaaaaaa', r, ctx(r));
    const m = new MigratingStore({ from, to, stage: 'fallback' });
    // The destroy lands between the copy's write to the new store and its re-check of the old one.
    const realSet = to.set.bind(to);
    to.set = async (sid: string, record: SessionRecord, c: WriteContext) => {
      await realSet(sid, record, c);
      await m.destroy(sid); // another instance's logout: old first, then new
      await realSet(sid, record, c); // and a slow write of this copy arriving after it
    };
    expect(await m.get('racing-aaaaaaaaaaaaaa')).toBeNull();
    expect(await to.get('racing-aaaaaaaaaaaaaa')).toBeNull();
    expect(await from.get('racing-aaaaaaaaaaaaaa')).toBeNull();
  });

  test('cutover: the new store only for reads and writes; destroys still reach the old one', async () => {
    const from = new MemoryStore();
    const to = new MemoryStore();
    const m = new MigratingStore({ from, to, stage: 'cutover' });
    const r = rec({ n: 1 });
    await from.set('stale-aaaaaaaaaaaaaaa', r, ctx(r));
    expect(await m.get('stale-aaaaaaaaaaaaaaa')).toBeNull();
    await m.set('fresh-aaaaaaaaaaaaaaa', r, ctx(r));
    expect(await from.get('fresh-aaaaaaaaaaaaaaa')).toBeNull();
    await m.destroy('stale-aaaaaaaaaaaaaaa');
    expect(await from.get('stale-aaaaaaaaaaaaaaa')).toBeNull();
  });

  test('the stage can change on a live instance, and is checked', () => {
    const m = new MigratingStore({ from: new MemoryStore(), to: new MemoryStore(), stage: 'dual-write' });
    m.stage = 'fallback';
    expect(m.stage).toBe('fallback');
    expect(() => (m.stage = 'copy' as never)).toThrow(/stage must be one of 'dual-write', 'fallback', 'cutover'/);
    expect(() => new MigratingStore({ from: new MemoryStore(), to: new MemoryStore(), stage: 'dual-write', form: 1 } as never)).toThrow(ConfigError);
    const same = new MemoryStore();
    expect(() => new MigratingStore({ from: same, to: same, stage: 'fallback' })).toThrow(/the same store/);
  });

  test('an express-session store on either side, through the adapter; the middleware runs on it', async () => {
    class MapStore extends Store {
      m = new Map<string, string>();
      get(sid: string, cb: (e: null, v?: unknown) => void) {
        setImmediate(() => cb(null, this.m.has(sid) ? JSON.parse(this.m.get(sid)!) : undefined));
      }
      set(sid: string, s: unknown, cb: () => void) {
        this.m.set(sid, JSON.stringify(s));
        setImmediate(cb);
      }
      destroy(sid: string, cb: () => void) {
        this.m.delete(sid);
        setImmediate(cb);
      }
      all(cb: (e: null, v: Record<string, unknown>) => void) {
        cb(null, Object.fromEntries([...this.m].map(([k, v]) => [k, JSON.parse(v)])));
      }
    }
    const old = new MapStore();
    const to = new MemoryStore();
    const store = new MigratingStore({ from: old, to, stage: 'dual-write' });
    const app = express();
    app.use(session({ secret: 's', resave: false, saveUninitialized: false, store, cookie: { maxAge: 60_000 } }));
    app.get('/n', (req, res) => {
      const s = req.session as unknown as { n?: number };
      s.n = (s.n ?? 0) + 1;
      res.send(String(s.n));
    });
    const srv = await listen(app);
    try {
      const c = client(srv.url);
      expect((await c.get('/n')).body).toBe('1');
      store.stage = 'fallback';
      expect((await c.get('/n')).body).toBe('2');
      store.stage = 'cutover';
      expect((await c.get('/n')).body).toBe('3');
      const listed: string[] = [];
      for await (const s of scanSessions(old)) listed.push(s.id);
      expect(listed).toHaveLength(1); // written in dual-write and fallback; cutover wrote the new store only
    } finally {
      await srv.close();
    }
  });
});

describe('copySession', () => {
  test('copies with the remaining lifetime, skips what the target has and what expired', async () => {
    const from = new MemoryStore();
    const to = new MemoryStore();
    const r = rec({ n: 1 });
    await from.set('copy-me-aaaaaaaaaaaaa', r, ctx(r));
    const [s] = await (async () => {
      const out: StoredSession[] = [];
      for await (const x of scanSessions(from)) out.push(x);
      return out;
    })();
    expect(await copySession(from, to, s!)).toBe('copied');
    expect(await copySession(from, to, s!)).toBe('present');
    expect(await copySession(from, to, { ...s!, id: 'expired-aaaaaaaaaaaaa', expires: Date.now() - 1 })).toBe('expired');
    expect(await copySession(from, to, { ...s!, id: 'not-in-from-aaaaaaaaa' })).toBe('gone');
    expect(await to.get('not-in-from-aaaaaaaaa')).toBeNull();
  });
});
