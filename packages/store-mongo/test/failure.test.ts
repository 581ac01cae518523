/**
 * Failure: the MongoDB server unreachable at start, killed mid-traffic (a proxy in front of the test server
 * resets every connection and refuses new ones), or stalled (the proxy forwards nothing). Requests get
 * typed errors within the store timeout, never hang, and the pool recovers by itself.
 */
import { afterAll, describe } from '@jest/globals';
import { MongoClient } from 'mongodb';
import { MongoStore } from '@sess/store-mongo';
import { serviceTest, urls } from '../../conformance/test/services';
import { proxyFailureTests } from '../../conformance/test/failures';

const svc = serviceTest('mongo');
const table = `sess_failure_${process.pid}`;

if (!svc.available) {
  svc.missing('MongoStore failure tests');
} else {
  const admin = new MongoClient(urls.mongo);
  afterAll(async () => {
    await admin.db().collection(table).drop().catch(() => undefined);
    await admin.close();
  });

  describe('MongoDB failures give typed errors in time, then recovery', () => {
    proxyFailureTests({ url: urls.mongo, defaultPort: 27017, make: (url) => new MongoStore({ url, collectionName: table, autoRemove: 'disabled', clientOptions: { serverSelectionTimeoutMS: 600 } }) });
  });
}
