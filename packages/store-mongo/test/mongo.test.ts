/** MongoDB specifics on the test server (FerretDB): bad ids and keys, the TTL fallback, write concern, driver 6. */
import { afterAll, describe, expect, test } from '@jest/globals';
import { MongoClient } from 'mongodb';
import { MongoClient as MongoClient6 } from 'mongodb6';
import type { SessionRecord } from '@sess/core';
import { MongoStore } from '@sess/store-mongo';
import { serviceTest, urls } from '../../conformance/test/services';

const svc = serviceTest('mongo');
const ctx = (ms = 60_000) => ({ expires: new Date(Date.now() + ms) });
const rec = (data: Record<string, unknown> = {}, ms = 60_000): SessionRecord => ({
  cookie: { originalMaxAge: ms, expires: new Date(Date.now() + ms).toISOString(), httpOnly: true, path: '/' },
  ...data,
});

describe("connect-mongo's options", () => {
  test.each(['ttl', 'touchAfter', 'crypto', 'transformId', 'serialize', 'unserialize', 'writeOperationOptions', 'timestamps', 'clientPromise'])(
    '%s fails at construction with what to do instead',
    (key) => {
      expect(() => new MongoStore({ [key]: 1 } as never)).toThrow(expect.objectContaining({ code: 'SESS_CONFIG', message: expect.stringContaining(`"${key}"`) }));
    },
  );

  test('mongoUrl and mongoOptions are url and clientOptions', async () => {
    const store = new MongoStore({ mongoUrl: 'mongodb://127.0.0.1:27999/somedb', mongoOptions: { appName: 'sess-test' }, autoRemove: 'disabled' });
    const opts = (store as unknown as { client: MongoClient }).client.options;
    expect(opts.hosts.map(String)).toEqual(['127.0.0.1:27999']);
    expect(opts.appName).toBe('sess-test');
    await store.close();
    expect(() => new MongoStore({ mongoUrl: 'mongodb://a', url: 'mongodb://b' })).toThrow(expect.objectContaining({ code: 'SESS_CONFIG' }));
    expect(() => new MongoStore({ mongoOptions: {}, clientOptions: {} })).toThrow(expect.objectContaining({ code: 'SESS_CONFIG' }));
  });
});

if (!svc.available) {
  svc.missing('MongoStore specifics');
} else {
  const client = new MongoClient(urls.mongo);
  const names: string[] = [];
  afterAll(async () => {
    for (const n of names) for (const c of [n, `${n}_locks`]) await client.db().collection(c).drop().catch(() => undefined);
    await client.close();
  });
  const make = (name: string, extra: Partial<ConstructorParameters<typeof MongoStore>[0]> = {}) => {
    names.push(name);
    return new MongoStore({ client, collectionName: name, autoRemove: 'disabled', ...extra });
  };

  test('a non-string or operator-shaped id is refused before any query', async () => {
    const store = make(`sess_ids_${process.pid}`);
    await store.set('abc', rec({ v: 1 }), ctx());
    for (const bad of [{ $ne: null }, { $gt: '' }, ['abc'], 42, null, 'a.b', '$where']) {
      await expect(store.get(bad as never)).rejects.toMatchObject({ code: 'SESS_BAD_ID' });
      await expect(store.destroy(bad as never)).rejects.toMatchObject({ code: 'SESS_BAD_ID' });
      await expect(store.touch(bad as never, rec(), ctx())).rejects.toMatchObject({ code: 'SESS_BAD_ID' });
    }
    expect((await store.get('abc'))?.v).toBe(1);
  });

  test('keys with "." or "$" are safe in the string layout and refused, with nothing written, in the object layout', async () => {
    const str = make(`sess_keys_s_${process.pid}`);
    await str.set('abc', rec({ 'a.b': 1, $where: 'x', nested: { 'c.d': 2, $gt: 3 } }), ctx());
    expect(await str.get('abc')).toMatchObject({ 'a.b': 1, $where: 'x', nested: { 'c.d': 2, $gt: 3 } });
    const obj = make(`sess_keys_o_${process.pid}`, { stringify: false });
    await obj.set('abc', rec({ v: 'kept' }), ctx());
    for (const bad of [{ 'a.b': 1 }, { $where: 'x' }, { nested: { 'c.d': 2 } }, { list: [{ $gt: 1 }] }]) {
      await expect(obj.set('abc', rec(bad), ctx())).rejects.toMatchObject({ code: 'SESS_BAD_DATA' });
      await expect(obj.patch('abc', { set: bad, unset: [], cookie: rec().cookie }, ctx())).rejects.toMatchObject({ code: 'SESS_BAD_DATA' });
    }
    expect((await obj.get('abc'))?.v).toBe('kept');
  });

  test('autoRemove native: the server refuses the TTL index, so the store logs once and falls back to an acknowledged, unref\'d prune job', async () => {
    const logged: string[] = [];
    const name = `sess_ttl_${process.pid}`;
    names.push(name);
    const store = new MongoStore({ client, collectionName: name, autoRemove: 'native', autoRemoveInterval: 0.002, errorLog: (m) => logged.push(m) });
    await store.init();
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain('refused a TTL index');
    expect(logged[0]).not.toMatch(/abc/);
    const job = (store as unknown as { pruneJob: { handle: NodeJS.Timeout | null } }).pruneJob;
    expect(job.handle?.hasRef()).toBe(false);
    await store.set('abc', rec(), ctx());
    await client.db().collection(name).insertOne({ _id: 'old' as never, session: JSON.stringify(rec()), expires: new Date(Date.now() - 1000) });
    // The job runs every 0.12 s here; the expired document goes, the live one stays.
    for (let i = 0; i < 50 && (await client.db().collection(name).countDocuments({ _id: 'old' as never })) > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await client.db().collection(name).countDocuments({ _id: 'old' as never })).toBe(0);
    expect(await store.get('abc')).not.toBeNull();
    expect(logged).toHaveLength(1);
    await store.close();
  });

  test('reads never return an expired document, whatever removes it later', async () => {
    const name = `sess_exp_${process.pid}`;
    const store = make(name);
    await store.init();
    await client.db().collection(name).insertOne({ _id: 'old' as never, session: JSON.stringify(rec({}, 60_000)), expires: new Date(Date.now() - 1) });
    expect(await store.get('old')).toBeNull();
    expect(await store.ids()).toEqual([]);
    expect(await store.length()).toBe(0);
  });

  test('touch never errors for a missing document and never brings one back', async () => {
    const store = make(`sess_touch_${process.pid}`);
    await expect(store.touch('gone', rec(), ctx())).resolves.toBeUndefined();
    expect(await store.get('gone')).toBeNull();
  });

  test('a client whose default write concern is w:0 still gets acknowledged writes', async () => {
    const w0 = new MongoClient(urls.mongo, { writeConcern: { w: 0 } });
    const name = `sess_w0_${process.pid}`;
    names.push(name);
    const store = new MongoStore({ client: w0, collectionName: name, autoRemove: 'disabled' });
    for (let i = 0; i < 20; i++) await store.set(`id${i}`, rec({ i }), ctx());
    for (let i = 0; i < 20; i++) expect((await store.get(`id${i}`))?.i).toBe(i);
    await w0.close();
  });

  test('works with driver 6.x as well as 7.x', async () => {
    const c6 = new MongoClient6(urls.mongo);
    const name = `sess_d6_${process.pid}`;
    names.push(name);
    const store = new MongoStore({ client: c6 as unknown as MongoClient, collectionName: name, autoRemove: 'disabled' });
    await store.set('abc', rec({ v: 6 }), { ...ctx(), userKey: 'ann' });
    expect((await store.get('abc'))?.v).toBe(6);
    expect((await store.listUser('ann')).map((s) => s.id)).toEqual(['abc']);
    await c6.close();
  });

  test('clear removes only this collection\'s sessions', async () => {
    const a = make(`sess_clear_a_${process.pid}`);
    const b = make(`sess_clear_b_${process.pid}`);
    await a.set('one', rec(), ctx());
    await b.set('two', rec(), ctx());
    await a.clear();
    expect(await a.ids()).toEqual([]);
    expect(await b.ids()).toEqual(['two']);
  });
}
