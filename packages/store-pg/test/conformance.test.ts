import { afterAll } from '@jest/globals';
import pg from 'pg';
import { describeStore } from '@sess/conformance/jest';
import { PgStore } from '@sess/store-pg';
import { serviceTest, urls } from '../../conformance/test/services';

const svc = serviceTest('pg');
if (!svc.available) {
  svc.missing('PgStore conformance');
} else {
  const admin = new pg.Pool({ connectionString: urls.pg, max: 2 });
  afterAll(() => admin.end());
  const drop = (table: string) => admin.query(`DROP TABLE IF EXISTS "${table}", "${table}_by_user"`).then(() => undefined);

  // A store that owns its pool (connectionString): close() must end it.
  describeStore('PgStore (connectionString)', {
    create: (ctx) => new PgStore({ connectionString: urls.pg, tableName: ctx.namespace, createTableIfMissing: true }),
    destroy: (_store, ctx) => drop(ctx.namespace),
  });
  // A store given a pool: the test owns the pool.
  describeStore('PgStore (pool)', {
    create: (ctx) => new PgStore({ pool: new pg.Pool({ connectionString: urls.pg }), tableName: ctx.namespace, createTableIfMissing: true }),
    destroy: async (store, ctx) => {
      await (store as PgStore).pool.end();
      await drop(ctx.namespace);
    },
  });
}
