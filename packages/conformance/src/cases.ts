import assert from 'node:assert/strict';
import { scanSessions, storeExpiresOf } from '@sess/core';
import type { SessionRecord, SessionStore, StoreCapabilities, StoredSession } from '@sess/core';
import type { CaseContext, ConformanceCase } from './types.js';

/** Comparable form of a record: what JSON would store, with key order ignored. */
function plain(r: unknown): unknown {
  return r == null ? r : JSON.parse(JSON.stringify(r));
}

/** How long to let a record live before waiting it out: at least a second, and two resolution steps. */
function shortLife(t: CaseContext): number {
  return Math.max(1000, 2 * t.resolution);
}

/**
 * What express-session needs back from a store: every key that was set, equal, and the cookie's lifetime and
 * attributes (`expires` as an ISO string or a Date: express-session reads both). Keys a store adds for its own
 * bookkeeping are the sess-level `exact-record` case's business.
 */
function assertSameSession(got: SessionRecord, rec: SessionRecord): void {
  for (const k of Object.keys(rec)) {
    if (k === 'cookie') continue;
    assert.deepEqual(plain(got[k]), plain(rec[k]), `the value of "${k}" came back different`);
  }
  const gc = got.cookie as unknown as Record<string, unknown>;
  const rc = rec.cookie as unknown as Record<string, unknown>;
  assert.ok(gc && typeof gc === 'object', 'the record came back without its cookie object');
  for (const k of ['originalMaxAge', 'httpOnly', 'path']) assert.deepEqual(gc[k], rc[k], `cookie.${k} came back different`);
  // Within a second: stores that keep seconds, or recompute the expiry from maxAge, are fine for express-session.
  // (Plus 100 ms: a case makes the record and the write context's expiry a few milliseconds apart, and a store
  // reports its own, rounded-up expiry; a loaded machine stretches those milliseconds.)
  const when = (v: unknown) => (v instanceof Date ? v.getTime() : typeof v === 'string' ? Date.parse(v) : NaN);
  const drift = Math.abs(when(gc.expires) - when(rc.expires));
  assert.ok(drift <= 1100, `cookie.expires came back different (${Number.isNaN(drift) ? `got ${String(gc.expires)}` : `${drift} ms off`})`);
}

/** Set a record of every JSON kind and read it back. */
async function writeAndRead(t: CaseContext): Promise<{ got: SessionRecord; rec: SessionRecord }> {
  const sid = t.id();
  const rec = t.record({ user: { id: 7, roles: ['admin'] }, n: 1, flag: true, nothing: null });
  await t.store.set(sid, rec, t.ctx());
  const got = await t.store.get(sid);
  assert.ok(got, 'get returned nothing for a record just set');
  return { got, rec };
}

async function expectMissing(store: SessionStore, sid: string, why: string): Promise<void> {
  assert.equal(await store.get(sid), null, why);
}

const expiryTimeout = (resolution: number) => 15_000 + 4 * Math.max(1000, resolution);

/** Every case of the suite. Ids are stable; titles may be reworded. */
export const cases: ConformanceCase[] = [
  {
    id: 'capabilities-declared',
    title: 'declares its capabilities, and each declared capability is implemented (and the reverse)',
    level: 'sess',
    impact: 'core would use a feature the store does not have (or skip one it has): a declared patch, lock or per-user index that is missing fails requests at run time.',
    needs: [],
    timeoutMs: 5000,
    async run(t) {
      const s = t.store;
      const c = s.capabilities as Partial<StoreCapabilities>;
      assert.equal(typeof c, 'object', 'store.capabilities must be an object');
      const pairs: Array<[keyof StoreCapabilities, string[]]> = [
        ['touch', ['touch']],
        ['enumerate', ['ids', 'all', 'length']],
        ['clear', ['clear']],
        ['atomicPatch', ['patch']],
        ['lock', ['lock']],
        ['userIndex', ['listUser', 'destroyUser']],
      ];
      for (const [cap, methods] of pairs) {
        const has = methods.every((m) => typeof (s as unknown as Record<string, unknown>)[m] === 'function');
        const some = methods.some((m) => typeof (s as unknown as Record<string, unknown>)[m] === 'function');
        assert.equal(typeof c[cap], 'boolean', `capabilities.${cap} must be declared (true or false)`);
        if (c[cap]) assert.ok(has, `capabilities.${cap} is declared but ${methods.join('/')} is not implemented`);
        else assert.ok(!some, `${methods.join('/')} is implemented but capabilities.${cap} is not declared`);
      }
      assert.equal(typeof c.shared, 'boolean', 'capabilities.shared must be declared');
      assert.ok(c.touchCookie === undefined || typeof c.touchCookie === 'boolean', 'capabilities.touchCookie, when declared, must be true or false');
      assert.ok(typeof c.expiryResolution === 'number' && c.expiryResolution > 0, 'capabilities.expiryResolution must be a positive number of ms');
    },
  },
  {
    id: 'roundtrip',
    title: 'get returns the data and cookie that set stored',
    level: 'express-session',
    impact: 'sessions do not come back as they were saved: users lose their login, cart or form data between requests.',
    needs: [],
    timeoutMs: 5000,
    async run(t) {
      const { got, rec } = await writeAndRead(t);
      assertSameSession(got, rec);
    },
  },
  {
    id: 'exact-record',
    title: 'get returns exactly the JSON express-session stores: no keys added, cookie.expires an ISO string',
    level: 'sess',
    impact: 'the store adds keys to the session or changes their types (bookkeeping fields, cookie.expires as a Date): apps see extra keys in req.session, and moving between this store and another changes the data.',
    needs: [],
    timeoutMs: 5000,
    async run(t) {
      const { got, rec } = await writeAndRead(t);
      assert.equal(typeof (got.cookie as { expires?: unknown }).expires, 'string', 'cookie.expires comes back as the ISO string express-session stores');
      assert.deepEqual(plain(got), plain(rec), 'the record came back with keys added or changed');
    },
  },
  {
    id: 'overwrite',
    title: 'a second set replaces the record (keys it no longer has are gone)',
    level: 'express-session',
    impact: 'a changed session is not stored as changed: users see stale data (a removed cart item comes back, a logout flag is lost).',
    needs: [],
    timeoutMs: 5000,
    async run(t) {
      const sid = t.id();
      await t.store.set(sid, t.record({ v: 1, gone: 'x' }), t.ctx());
      const second = t.record({ v: 2 });
      await t.store.set(sid, second, t.ctx());
      const got = await t.store.get(sid);
      assert.ok(got, 'get returned nothing after the second set');
      assertSameSession(got, second);
      assert.ok(!('gone' in got), 'a key the second set no longer has is still there');
    },
  },
  {
    id: 'missing-null',
    title: 'get of an unknown id resolves null (never rejects)',
    level: 'express-session',
    impact: 'a request with an unknown or expired session cookie fails instead of starting a new session: users with an old cookie cannot use the site until they clear their cookies.',
    needs: [],
    timeoutMs: 5000,
    async run(t) {
      await expectMissing(t.store, t.id(), 'an unknown id must give null');
    },
  },
  {
    id: 'destroy-idempotent',
    title: 'destroy removes the record and is idempotent (also for unknown ids)',
    level: 'express-session',
    impact: 'logging out does not end the session (or a double logout fails): a user who logged out is still logged in with the old cookie.',
    needs: [],
    timeoutMs: 5000,
    async run(t) {
      const sid = t.id();
      const other = t.id();
      await t.store.set(sid, t.record({ v: 1 }), t.ctx());
      await t.store.set(other, t.record({ v: 2 }), t.ctx());
      await t.store.destroy(sid);
      await expectMissing(t.store, sid, 'destroyed record is still there');
      await t.store.destroy(sid);
      await t.store.destroy(t.id());
      assert.ok(await t.store.get(other), 'destroy removed another record');
    },
  },
  {
    id: 'expired-null',
    title: 'an expired record reads as null, before any background cleanup',
    level: 'sess',
    impact: 'a session past its expiry is still served until the store\'s cleanup runs, so users stay logged in after their timeout.',
    needs: [],
    timeoutMs: expiryTimeout,
    async run(t) {
      const sid = t.id();
      const life = shortLife(t);
      await t.store.set(sid, t.record({ v: 1 }, life), t.ctx(life));
      assert.ok(await t.store.get(sid), 'record missing before it expired');
      await t.sleep(life + t.resolution + 300);
      await expectMissing(t.store, sid, 'an expired record must read as null');
    },
  },
  {
    id: 'past-expiry-no-resurrect',
    title: 'set with an expiry already past stores nothing (and removes what was there)',
    level: 'express-session',
    impact: 'a session saved with an expiry already past stays readable: a session ended by setting its cookie to expire is not ended.',
    needs: [],
    timeoutMs: 5000,
    async run(t) {
      const sid = t.id();
      await t.store.set(sid, t.record({ v: 1 }, -60_000), t.ctx(-60_000));
      await expectMissing(t.store, sid, 'a record set already expired must not be readable');
      const live = t.id();
      await t.store.set(live, t.record({ v: 1 }), t.ctx());
      await t.store.set(live, t.record({ v: 2 }, -60_000), t.ctx(-60_000));
      await expectMissing(t.store, live, 'writing an expired record must not leave the old one readable');
    },
  },
  {
    id: 'touch-extends',
    title: 'touch extends the expiry without rewriting data',
    level: 'express-session',
    impact: 'an active user\'s session expires while they use the site: users are logged out mid-visit although every request touched the session.',
    needs: ['touch'],
    timeoutMs: expiryTimeout,
    async run(t) {
      const sid = t.id();
      const life = shortLife(t);
      await t.store.set(sid, t.record({ v: 'original' }, life), t.ctx(life));
      await t.store.touch!(sid, t.record({ v: 'from touch' }, 60_000), t.ctx(60_000));
      await t.sleep(life + t.resolution + 300);
      const got = await t.store.get(sid);
      assert.ok(got, 'touch did not extend the expiry: the session expired at its old time');
      assert.equal(got.v, 'original', 'touch rewrote the data');
    },
  },
  {
    id: 'touch-stores-cookie',
    title: 'touch stores the cookie it is given (or, with touchCookie: false, reports its new expiry as the cookie\'s)',
    level: 'sess',
    impact: 'the stored cookie keeps its old expiry and attributes after a touch, so sess cannot check expiry on read or keep a cookie change made without a data change ("remember me").',
    needs: ['touch'],
    timeoutMs: 5000,
    async run(t) {
      const sid = t.id();
      await t.store.set(sid, t.record({ v: 'original' }, 30_000), t.ctx(30_000));
      const ctx = t.ctx(60_000);
      await t.store.touch!(sid, t.record({ v: 'original' }, 60_000), ctx);
      const got = await t.store.get(sid);
      assert.ok(got, 'the touched session is gone');
      if (t.store.capabilities.touchCookie === false) {
        // An expiry-only touch: the store reports its new expiry as the cookie's.
        const reported = new Date(got.cookie.expires as string).getTime();
        assert.ok(Math.abs(reported - ctx.expires.getTime()) <= t.resolution + 1000, 'a store with touchCookie: false must report its touched expiry as cookie.expires on read');
      } else {
        assert.equal(got.cookie.originalMaxAge, 60_000, 'touch must store the new cookie (its originalMaxAge is the old one)');
        const reported = new Date(got.cookie.expires as string).getTime();
        assert.ok(Math.abs(reported - ctx.expires.getTime()) <= 1000, 'touch must store the new cookie (its expires is the old one)');
      }
    },
  },
  {
    id: 'browser-session-expiry',
    title: 'a record with a browser-session cookie (no expires) comes back with the store\'s expiry beside it (STORE_EXPIRES)',
    level: 'sess',
    impact: 'core cannot tell when a browser-session cookie\'s session (express-session\'s default cookie) was last touched, so touchAfter and the touch floor never apply: every unchanged request writes to the store.',
    needs: ['touch'],
    timeoutMs: 5000,
    async run(t) {
      const sid = t.id();
      const browserRecord = (): SessionRecord => ({ cookie: { originalMaxAge: null, expires: null, httpOnly: true, path: '/' }, v: 'original' }) as unknown as SessionRecord;
      const slack = t.resolution + 1000;
      const first = t.ctx(60_000);
      await t.store.set(sid, browserRecord(), first);
      let got = await t.store.get(sid);
      assert.ok(got, 'the session is gone');
      assert.equal(got.cookie.expires, null, 'a browser-session cookie must come back without expires');
      let reported = storeExpiresOf(got);
      assert.ok(reported !== undefined, 'get() must report the store\'s expiry of a browser-session record as record[STORE_EXPIRES]');
      assert.ok(Math.abs(reported - first.expires.getTime()) <= slack, `the reported expiry is ${reported - first.expires.getTime()} ms off the one written`);
      const later = t.ctx(120_000);
      await t.store.touch!(sid, browserRecord(), later);
      got = await t.store.get(sid);
      assert.ok(got, 'the touched session is gone');
      reported = storeExpiresOf(got);
      assert.ok(reported !== undefined && Math.abs(reported - later.expires.getTime()) <= slack, 'after a touch, get() must report the touched expiry');
      assert.deepEqual(JSON.parse(JSON.stringify(got)), browserRecord(), 'the record must come back as written: the expiry is reported beside it, never in the stored JSON');
    },
  },
  {
    id: 'sync-agrees',
    title: 'synchronous ops (store.sync) answer what the promise-based methods do, and throw what they would reject with',
    level: 'sess',
    impact: 'core\'s synchronous fast path and the promise API disagree: the same request behaves differently depending on which one core uses.',
    needs: ['sync'],
    timeoutMs: 5000,
    async run(t) {
      const sync = t.store.sync!;
      for (const op of ['get', 'set', 'destroy'] as const) assert.equal(typeof sync[op], 'function', `store.sync.${op} must be a function`);
      assert.ok(sync.touch === undefined || typeof sync.touch === 'function', 'store.sync.touch must be a function, if there');
      const a = t.id();
      const rec = t.record({ user: { id: 7 }, n: 1 });
      assert.equal(sync.set(a, rec, t.ctx()), undefined, 'sync.set returns nothing (it is not a promise)');
      assert.deepEqual(plain(await t.store.get(a)), plain(rec), 'a record written by sync.set reads back through get');
      const b = t.id();
      await t.store.set(b, t.record({ v: 'b' }), t.ctx());
      const got = sync.get(b);
      assert.ok(got && typeof (got as { then?: unknown }).then !== 'function', 'sync.get returns the record itself');
      assert.deepEqual(plain(got), plain(await t.store.get(b)), 'sync.get and get disagree');
      assert.equal(sync.get(t.id()), null, 'sync.get of an unknown id gives null');
      if (sync.touch) {
        const ctx = t.ctx(120_000);
        sync.touch(b, t.record({ v: 'from touch' }, 120_000), ctx);
        const touched = await t.store.get(b);
        assert.equal(touched?.v, 'b', 'sync.touch rewrote the data');
        const never = t.id();
        sync.touch(never, t.record({ v: 1 }), t.ctx());
        await expectMissing(t.store, never, 'sync.touch created a session');
      }
      sync.set(a, t.record({ v: 'past' }, -60_000), t.ctx(-60_000));
      await expectMissing(t.store, a, 'sync.set with a past expiry must delete');
      sync.destroy(b);
      sync.destroy(b);
      await expectMissing(t.store, b, 'sync.destroy did not remove the record');
      const kept = t.id();
      sync.set(kept, t.record({ v: 'kept' }), t.ctx());
      assert.throws(() => sync.set(kept, t.record({ v: 'bad', n: 10n as unknown }), t.ctx()), 'sync.set of an unserialisable record must throw, as set rejects');
      assert.equal(sync.get(kept)?.v, 'kept', 'the failed sync.set damaged the stored record');
    },
  },
  {
    id: 'touch-no-resurrect',
    title: 'touch of a destroyed or unknown session does not bring it back',
    level: 'express-session',
    impact: 'a request still in flight when the user logs out brings the session back: logout does not stick.',
    needs: ['touch'],
    timeoutMs: 5000,
    async run(t) {
      const sid = t.id();
      await t.store.set(sid, t.record({ v: 1 }), t.ctx());
      await t.store.destroy(sid);
      await t.store.touch!(sid, t.record({ v: 1 }), t.ctx());
      await expectMissing(t.store, sid, 'touch brought a destroyed session back');
      const never = t.id();
      await t.store.touch!(never, t.record({ v: 1 }), t.ctx());
      await expectMissing(t.store, never, 'touch created a session');
    },
  },
  {
    id: 'enumerate-live',
    title: 'ids, all and length list live sessions only, with their ids',
    level: 'sess',
    impact: 'listing sessions (admin pages, "log out everywhere", the sess command) shows expired sessions or cannot name them.',
    needs: ['enumerate'],
    timeoutMs: expiryTimeout,
    async run(t) {
      const live = [t.id(), t.id(), t.id()];
      for (const [i, sid] of live.entries()) await t.store.set(sid, t.record({ i }), t.ctx());
      const life = shortLife(t);
      const dying = t.id();
      await t.store.set(dying, t.record({ i: 'dying' }, life), t.ctx(life));
      await t.sleep(life + t.resolution + 300);
      assert.deepEqual([...(await t.store.ids!())].sort(), [...live].sort(), 'ids()');
      const all = await t.store.all!();
      assert.deepEqual(Object.keys(all).sort(), [...live].sort(), 'all() keys');
      for (const [i, sid] of live.entries()) assert.equal(all[sid]!.i, i, 'all() values');
      assert.equal(await t.store.length!(), 3, 'length()');
    },
  },
  {
    id: 'scan-live',
    title: 'scan (or all) lists every live session once, with its data, user key and the expiry it was written with',
    level: 'sess',
    impact: 'sess export, sess migrate and MigratingStore miss sessions, copy expired ones, or give copies the wrong lifetime (users logged out early, or kept in too long).',
    needs: ['enumerate'],
    timeoutMs: expiryTimeout,
    async run(t) {
      const live = [t.id(), t.id(), t.id()];
      const ctx = t.ctx();
      for (const [i, sid] of live.entries()) await t.store.set(sid, t.record({ i }), { ...ctx, userKey: i === 0 ? 'u-scan' : null });
      const life = shortLife(t);
      const dying = t.id();
      await t.store.set(dying, t.record({ i: 'dying' }, life), t.ctx(life));
      await t.sleep(life + t.resolution + 300);
      const seen = new Map<string, StoredSession>();
      for await (const s of scanSessions(t.store, { batchSize: 2 })) {
        assert.ok(!seen.has(s.id), `scan yielded ${s.id === dying ? 'a session' : 'one session'} twice`);
        seen.set(s.id, s);
      }
      assert.ok(!seen.has(dying), 'scan yielded an expired session');
      assert.deepEqual([...seen.keys()].sort(), [...live].sort(), 'scan did not yield exactly the live sessions');
      for (const [i, sid] of live.entries()) {
        const s = seen.get(sid)!;
        assert.equal(s.record.i, i, 'scan yielded a record with other data');
        if (s.expires !== null) {
          const drift = Math.abs(s.expires - ctx.expires.getTime());
          assert.ok(drift <= Math.max(1000, t.resolution) + 50, `scan reported an expiry ${drift} ms off the one the session was written with`);
        }
        if (i === 0 && t.store.capabilities.userIndex && typeof t.store.scan === 'function') assert.equal(s.userKey, 'u-scan', 'scan lost the user key (a copy would drop the session from its user\'s list)');
      }
    },
  },
  {
    id: 'clear-own-namespace',
    title: 'clear removes this namespace\'s sessions and nothing else',
    level: 'sess',
    impact: 'clear() removes other applications\' sessions (everyone sharing the server is logged out) or leaves some of its own.',
    needs: ['clear'],
    timeoutMs: 10_000,
    async run(t) {
      const other = await t.openOther();
      const mine = t.id();
      const theirs = t.id();
      await t.store.set(mine, t.record({ v: 1 }), t.ctx());
      await other.set(theirs, t.record({ v: 2 }), t.ctx());
      await t.store.clear!();
      await expectMissing(t.store, mine, 'clear left a session behind');
      assert.ok(await other.get(theirs), 'clear removed a session of another namespace');
    },
  },
  {
    id: 'namespace-isolation',
    title: 'the same id in two namespaces holds two records',
    level: 'express-session',
    impact: 'two applications configured with different prefixes, tables or collections see each other\'s sessions: a session of one app is valid in the other.',
    needs: [],
    timeoutMs: 10_000,
    async run(t) {
      const other = await t.openOther();
      const sid = t.id();
      await t.store.set(sid, t.record({ ns: 'mine' }), t.ctx());
      await other.set(sid, t.record({ ns: 'theirs' }), t.ctx());
      assert.equal((await t.store.get(sid))?.ns, 'mine');
      assert.equal((await other.get(sid))?.ns, 'theirs');
      await other.destroy(sid);
      assert.equal((await t.store.get(sid))?.ns, 'mine', 'destroy in another namespace removed this one');
    },
  },
  {
    id: 'unicode',
    title: 'unicode round-trips, 4-byte characters included',
    level: 'express-session',
    impact: 'non-ASCII data (names, emoji) is corrupted in the session.',
    needs: [],
    timeoutMs: 5000,
    async run(t) {
      const sid = t.id();
      const text = 'héllo wörld — 日本語 — 🍪🔐👩‍💻 — \u2028\u2029 — "quotes" \\ back';
      await t.store.set(sid, t.record({ text, [`key 🔑`]: 'é' }), t.ctx());
      const got = await t.store.get(sid);
      assert.equal(got?.text, text);
      assert.equal(got?.['key 🔑'], 'é');
    },
  },
  {
    id: 'large-record',
    title: 'a 64 KB record round-trips',
    level: 'express-session',
    impact: 'a session of ordinary size (a large cart, a multi-step form) cannot be stored.',
    needs: [],
    timeoutMs: 10_000,
    async run(t) {
      const sid = t.id();
      const blob = 'x'.repeat(64 * 1024);
      await t.store.set(sid, t.record({ blob }), t.ctx());
      assert.equal((await t.store.get(sid))?.blob, blob);
    },
  },
  {
    id: 'id-charset',
    title: 'ids with - and _ work and stay distinct',
    level: 'express-session',
    impact: 'some of the session ids express-session generates cannot be stored or read: those users get a new session on every request.',
    needs: [],
    timeoutMs: 5000,
    async run(t) {
      const base = t.id().slice(0, 20);
      const ids = [`${base}-a_b`, `${base}_a-b`, `${base}--__`, `${base}ab`];
      for (const [i, sid] of ids.entries()) await t.store.set(sid, t.record({ i }), t.ctx());
      for (const [i, sid] of ids.entries()) assert.equal((await t.store.get(sid))?.i, i, `id ${i}`);
    },
  },
  {
    id: 'parallel-writes',
    title: 'many parallel writes to distinct ids are all kept',
    level: 'express-session',
    impact: 'concurrent requests of one page lose or mix up session writes.',
    needs: [],
    timeoutMs: 20_000,
    async run(t) {
      const ids = Array.from({ length: 50 }, () => t.id());
      await Promise.all(ids.map((sid, i) => t.store.set(sid, t.record({ i }), t.ctx())));
      const got = await Promise.all(ids.map((sid) => t.store.get(sid)));
      got.forEach((r, i) => assert.equal(r?.i, i, `write ${i} was lost`));
    },
  },
  {
    id: 'unserialisable-rejects',
    title: 'a record that cannot be serialised rejects the set and leaves the stored record intact',
    level: 'express-session',
    impact: 'a session that cannot be stored is reported as saved: the app believes data is kept that is lost.',
    needs: [],
    timeoutMs: 5000,
    async run(t) {
      const sid = t.id();
      await t.store.set(sid, t.record({ v: 'kept' }), t.ctx());
      const bad = t.record({ v: 'bad', n: 10n as unknown });
      await assert.rejects(() => Promise.resolve().then(() => t.store.set(sid, bad, t.ctx())), 'a set that could not store the record must reject');
      assert.equal((await t.store.get(sid))?.v, 'kept', 'the failed set damaged the stored record');
    },
  },
  {
    id: 'shared-instances',
    title: 'two instances on one namespace see each other\'s writes',
    level: 'sess',
    impact: 'a store declared shared does not show one process\'s writes to another: behind a load balancer users appear logged out on every other request.',
    needs: ['shared'],
    timeoutMs: 10_000,
    async run(t) {
      const second = await t.open();
      const sid = t.id();
      await t.store.set(sid, t.record({ from: 'first' }), t.ctx());
      assert.equal((await second.get(sid))?.from, 'first');
      await second.set(sid, t.record({ from: 'second' }), t.ctx());
      assert.equal((await t.store.get(sid))?.from, 'second');
      await second.destroy(sid);
      await expectMissing(t.store, sid, 'destroy through the second instance');
    },
  },
  {
    id: 'atomic-patch',
    title: 'patch applies concurrent changes to different keys without losing any, and never recreates',
    level: 'sess',
    impact: 'concurrency: \'merge\' loses or resurrects keys when requests of one session overlap.',
    needs: ['atomicPatch'],
    timeoutMs: 20_000,
    async run(t) {
      const sid = t.id();
      await t.store.set(sid, t.record({ keep: 1, drop: 2 }), t.ctx());
      const cookie = t.record().cookie;
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => t.store.patch!(sid, { set: { [`k${i}`]: i }, unset: i === 0 ? ['drop'] : [], cookie }, t.ctx())),
      );
      assert.ok(results.every((r) => r === true), 'patch of an existing record must resolve true');
      const got = (await t.store.get(sid))!;
      for (let i = 0; i < 20; i++) assert.equal(got[`k${i}`], i, `patch ${i} was lost`);
      assert.equal(got.keep, 1, 'patch removed an untouched key');
      assert.equal('drop' in got, false, 'unset did not remove the key');
      const gone = t.id();
      assert.equal(await t.store.patch!(gone, { set: { a: 1 }, unset: [], cookie }, t.ctx()), false, 'patch of a missing record must resolve false');
      await expectMissing(t.store, gone, 'patch created a record');
    },
  },
  {
    id: 'lock-exclusive',
    title: 'lock is exclusive, waits for release, times out, and is released only by its owner',
    level: 'sess',
    impact: 'concurrency: \'lock\' lets two requests of one session run at once: increments and cart updates are lost.',
    needs: ['lock'],
    timeoutMs: 30_000,
    async run(t) {
      const sid = t.id();
      const first = await t.store.lock!(sid, { ttlMs: 10_000, waitMs: 1000 });
      const t0 = Date.now();
      await assert.rejects(() => t.store.lock!(sid, { ttlMs: 10_000, waitMs: 300 }), 'a second lock must wait and then fail');
      assert.ok(Date.now() - t0 >= 250, 'the second lock gave up before its wait');
      let secondGot = false;
      const second = t.store.lock!(sid, { ttlMs: 10_000, waitMs: 5000 }).then((l) => {
        secondGot = true;
        return l;
      });
      await t.sleep(150);
      assert.equal(secondGot, false, 'two holders at once');
      await first.release();
      const held = await second;
      assert.equal(secondGot, true);
      await first.release(); // a stale holder's release must not free the new holder's lock
      await assert.rejects(() => t.store.lock!(sid, { ttlMs: 10_000, waitMs: 200 }), 'a stale release freed someone else\'s lock');
      await held.release();
      const again = await t.store.lock!(sid, { ttlMs: 1000, waitMs: 1000 });
      await again.release();
    },
  },
  {
    id: 'lock-expires',
    title: 'a lock whose holder died expires after its ttl',
    level: 'sess',
    impact: 'a lock held by a crashed process is never released: that user\'s requests wait until they time out.',
    needs: ['lock'],
    timeoutMs: 20_000,
    async run(t) {
      const sid = t.id();
      await t.store.lock!(sid, { ttlMs: 1000, waitMs: 1000 });
      const next = await t.store.lock!(sid, { ttlMs: 1000, waitMs: 5000 });
      await next.release();
    },
  },
  {
    id: 'user-index',
    title: 'the per-user index lists a user\'s live sessions and destroys them, sparing the exceptions',
    level: 'sess',
    impact: '"log out everywhere" misses sessions or ends other users\' sessions.',
    needs: ['userIndex'],
    timeoutMs: expiryTimeout,
    async run(t) {
      const [a, b, c, d] = [t.id(), t.id(), t.id(), t.id()];
      await t.store.set(a, t.record({ u: 'ann' }), t.ctx(60_000, { userKey: 'ann' }));
      await t.store.set(b, t.record({ u: 'ann' }), t.ctx(60_000, { userKey: 'ann' }));
      await t.store.set(c, t.record({ u: 'bob' }), t.ctx(60_000, { userKey: 'bob' }));
      const life = shortLife(t);
      await t.store.set(d, t.record({ u: 'ann' }, life), t.ctx(life, { userKey: 'ann' }));
      await t.sleep(life + t.resolution + 300);
      const list = await t.store.listUser!('ann');
      assert.deepEqual(list.map((s) => s.id).sort(), [a, b].sort(), 'listUser must list live sessions only');
      for (const s of list) assert.equal(s.record.u, 'ann');
      // moving a session to another user moves it in the index
      await t.store.set(b, t.record({ u: 'bob' }), t.ctx(60_000, { userKey: 'bob' }));
      assert.deepEqual((await t.store.listUser!('ann')).map((s) => s.id), [a]);
      assert.deepEqual((await t.store.listUser!('bob')).map((s) => s.id).sort(), [b, c].sort());
      assert.equal(await t.store.destroyUser!('bob', [c]), 1);
      await expectMissing(t.store, b, 'destroyUser left a session');
      assert.ok(await t.store.get(c), 'destroyUser removed an excepted session');
      assert.ok(await t.store.get(a), 'destroyUser removed another user\'s session');
      await t.store.destroy(a);
      assert.deepEqual(await t.store.listUser!('ann'), [], 'a destroyed session is still listed');
    },
  },
  {
    id: 'user-index-many',
    title: 'the per-user index holds hundreds of one user\'s sessions: all listed, all but the current destroyed',
    level: 'sess',
    impact: '"log out everywhere" for a user with many sessions (a scripted client, years of devices) leaves some of them alive.',
    needs: ['userIndex'],
    timeoutMs: 120_000,
    async run(t) {
      // More than a store is likely to handle in one round (500 at a time, say), so the rounds meet.
      const ids = Array.from({ length: 1_050 }, () => t.id());
      for (let i = 0; i < ids.length; i += 50) {
        await Promise.all(ids.slice(i, i + 50).map((sid) => t.store.set(sid, t.record({ u: 'carol' }), t.ctx(60_000, { userKey: 'carol' }))));
      }
      const other = t.id();
      await t.store.set(other, t.record({ u: 'dave' }), t.ctx(60_000, { userKey: 'dave' }));
      const listed = await t.store.listUser!('carol');
      assert.equal(listed.length, ids.length, `listUser listed ${listed.length} of ${ids.length} sessions`);
      assert.deepEqual(listed.map((s) => s.id).sort(), [...ids].sort(), 'listUser must list each session once');
      const current = ids[ids.length - 1]!;
      assert.equal(await t.store.destroyUser!('carol', [current]), ids.length - 1);
      assert.deepEqual((await t.store.listUser!('carol')).map((s) => s.id), [current], 'destroyUser left sessions listed');
      for (const sid of [ids[0]!, ids[499]!, ids[500]!, ids[1_000]!]) await expectMissing(t.store, sid, 'destroyUser left a session');
      assert.ok(await t.store.get(current), 'destroyUser removed the excepted session');
      assert.ok(await t.store.get(other), 'destroyUser removed another user\'s session');
      await t.store.destroy(current);
      await t.store.destroy(other);
    },
  },
  {
    id: 'close-releases',
    title: 'close releases every handle the store opened',
    level: 'sess',
    impact: 'the process does not exit after the store is closed (tests and deploys hang), or the store leaks connections.',
    needs: ['close'],
    timeoutMs: 15_000,
    async run() {
      // Run by the runner itself (see runner.ts): it needs the store's whole life inside the case.
    },
  },
];
