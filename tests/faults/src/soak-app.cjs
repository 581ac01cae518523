// The soak's app, in its own process (run with --expose-gc): a counter session on Redis through the parent's
// cuttable proxy (SESS_SOAK_REDIS_PORT). Reports to the parent, on request: heap and RSS after a GC, the active
// handles by type, and the listeners on its Redis client.
const express = require('express');
const session = require('@sess/core');
const { Redis } = require('ioredis');
const { RedisStore } = require('@sess/store-redis');
const client = new Redis({ port: Number(process.env.SESS_SOAK_REDIS_PORT), host: '127.0.0.1', maxRetriesPerRequest: 1, retryStrategy: () => 100 });
client.on('error', () => undefined);
const store = new RedisStore({ client, prefix: `soak${process.pid}:`, batchWrites: true });
const app = express();
app.use(session({ secret: 'soak', resave: false, saveUninitialized: false, store, saveBeforeSend: true, storeTimeout: 2000, cookie: { maxAge: 3600000 } }));
require('./counter-routes.cjs')(app, { cart: ['tea', 'mug'] });
const server = app.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('message', (m) => {
  if (m === 'stats') {
    globalThis.gc?.();
    const byType = {};
    for (const t of process.getActiveResourcesInfo()) byType[t] = (byType[t] || 0) + 1;
    const { heapUsed, rss } = process.memoryUsage();
    const listeners = client.eventNames().reduce((n, e) => n + client.listenerCount(e), 0);
    process.send({ heapUsed, rss, handles: byType, listeners });
  } else if (m === 'stop') server.close(() => client.quit().finally(() => process.exit(0)));
});
