/**
 * Switching from connect-mongo to this store, or back, keeps every session and cookie: one collection
 * served by express-session + connect-mongo and by @sess/core + MongoStore in turn (connect-mongo with
 * autoRemove: 'disabled', as the test server refuses TTL indexes).
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import expressSession from 'express-session';
import ConnectMongo from 'connect-mongo';
import { MongoClient } from 'mongodb';
import session from '@sess/core';
import { MongoStore } from '@sess/store-mongo';
import { serviceTest, urls } from '../../conformance/test/services';
import { keptAliveByTouches, switchBackAndForth } from '../../conformance/test/http';

const svc = serviceTest('mongo');
const opts = { secret: 'keyboard cat', resave: false, saveUninitialized: false, name: 'sid', cookie: { maxAge: 3_600_000 } };

if (!svc.available) {
  svc.missing('connect-mongo migration');
} else {
  const client = new MongoClient(urls.mongo);
  afterAll(() => client.close());

  describe('layout shared with connect-mongo', () => {
    test('a session kept alive only by touches (stored cookie expired, expires ahead) survives each switch', async () => {
      const collectionName = `sesscompat_touch_${process.pid}`;
      await keptAliveByTouches(
        (maxAge) => expressSession({ ...opts, cookie: { maxAge }, store: ConnectMongo.create({ client, collectionName, autoRemove: 'disabled' }) }),
        (maxAge) => session({ ...opts, cookie: { maxAge }, store: new MongoStore({ client, collectionName, autoRemove: 'disabled' }) }),
      );
      await client.db().collection(collectionName).drop();
    });

    test.each([
      ['incumbent', true],
      ['sess', true],
      ['incumbent', false],
      ['sess', false],
    ])('%s first, stringify %s: every session and cookie survive each switch', async (first, stringify) => {
      const collectionName = `sesscompat_${first}_${stringify}_${process.pid}`;
      const incumbent = () => expressSession({ ...opts, store: ConnectMongo.create({ client, collectionName, stringify, autoRemove: 'disabled' }) });
      const ours = () => session({ ...opts, store: new MongoStore({ client, collectionName, stringify, autoRemove: 'disabled' }) });
      const sequence = first === 'incumbent' ? [incumbent, ours, incumbent] : [ours, incumbent, ours];
      await switchBackAndForth(sequence);
      const docs = await client.db().collection(collectionName).find({}).toArray();
      expect(docs).toHaveLength(1);
      const doc = docs[0]!;
      expect(doc.expires).toBeInstanceOf(Date);
      const data = stringify ? JSON.parse(doc.session as string) : doc.session;
      if (stringify) expect((doc.session as string).startsWith('{"cookie":')).toBe(true);
      expect(data.count).toBe(6);
      expect(data.name).toBe('Zoë 🍪');
      await client.db().collection(collectionName).drop();
    });
  });
}
