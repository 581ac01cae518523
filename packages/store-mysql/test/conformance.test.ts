import { afterAll } from '@jest/globals';
import mysql from 'mysql2/promise';
import { describeStore } from '@sess/conformance/jest';
import { MySQLStore } from '@sess/store-mysql';
import { serviceTest, urls } from '../../conformance/test/services';

const svc = serviceTest('mysql');
if (!svc.available) {
  svc.missing('MySQLStore conformance');
} else {
  const admin = mysql.createPool({ uri: urls.mysql, connectionLimit: 2 });
  afterAll(() => admin.end());
  const drop = (table: string) => admin.query(`DROP TABLE IF EXISTS \`${table}\`, \`${table}_by_user\``).then(() => undefined);

  // A store that owns its pool (uri): close() must end it.
  describeStore('MySQLStore (uri)', {
    create: (ctx) => new MySQLStore({ uri: urls.mysql, schema: { tableName: ctx.namespace } }),
    destroy: (_store, ctx) => drop(ctx.namespace),
  });
  // A store given a pool: the test owns the pool.
  describeStore('MySQLStore (pool)', {
    create: (ctx) => new MySQLStore({ pool: mysql.createPool({ uri: urls.mysql }), schema: { tableName: ctx.namespace }, pruneSessionInterval: false }),
    destroy: async (store, ctx) => {
      await (store as MySQLStore).pool.end();
      await drop(ctx.namespace);
    },
  });
}
