import { afterAll } from '@jest/globals';
import { MongoClient } from 'mongodb';
import { describeStore } from '@sess/conformance/jest';
import { MongoStore } from '@sess/store-mongo';
import { serviceTest, urls } from '../../conformance/test/services';

const svc = serviceTest('mongo');
if (!svc.available) {
  svc.missing('MongoStore conformance');
} else {
  const admin = new MongoClient(urls.mongo);
  afterAll(() => admin.close());
  const drop = async (name: string) => {
    for (const c of [name, `${name}_locks`]) await admin.db().collection(c).drop().catch(() => undefined);
  };
  const quiet = () => undefined;

  // A store that owns its client (url): close() must close it.
  describeStore('MongoStore (url)', {
    create: (ctx) => new MongoStore({ url: urls.mongo, collectionName: ctx.namespace, errorLog: quiet }),
    destroy: (_store, ctx) => drop(ctx.namespace),
  });
  // A store given a client, with sessions as embedded documents.
  describeStore('MongoStore (client, stringify: false)', {
    create: (ctx) => new MongoStore({ client: new MongoClient(urls.mongo), collectionName: ctx.namespace, stringify: false, errorLog: quiet }),
    destroy: async (store, ctx) => {
      await (store as MongoStore).client.close();
      await drop(ctx.namespace);
    },
  });
}
