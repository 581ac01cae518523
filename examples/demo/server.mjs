// Starts the demo: http://localhost:3000 (PORT overrides). Sessions in @sess/store-file under ./sessions
// unless SESS_DEMO_STORE says redis, pg, mysql or mongo (on the test URLs: SESS_TEST_REDIS_URL, ...).
// SESS_DEMO_CROSS_SITE_ORIGIN=https://app.example.com turns on the cross-site front-end settings
// (CORS with credentials on /api, cookie sameSite 'none' + secure, behind a TLS proxy).
import { randomUUID } from 'node:crypto';
import { createApp } from './src/app.mjs';
import { createFastifyApi } from './src/api-fastify.mjs';
import { makeStore } from './src/stores.mjs';

const port = Number(process.env.PORT ?? 3000);
const storeName = process.env.SESS_DEMO_STORE ?? 'file';
let secret = process.env.SESSION_SECRET;
if (!secret) {
  if (process.env.NODE_ENV === 'production') {
    console.warn(`\n${'!'.repeat(78)}\n! SESSION_SECRET is not set: a random secret is used, so every restart logs\n! everyone out and instances cannot share sessions. Set SESSION_SECRET.\n${'!'.repeat(78)}\n`);
  }
  secret = process.env.NODE_ENV === 'production' ? randomUUID() : 'sess-demo-development-secret';
}

const store = await makeStore(storeName);
const origin = process.env.SESS_DEMO_CROSS_SITE_ORIGIN;
const { app, sessions } = createApp({ store, secret, storeName, instance: process.env.SESS_DEMO_INSTANCE, crossSite: origin ? { origin } : undefined });
// The JSON API on Fastify, on the site's sessions (API_PORT, default PORT + 1; 0 turns it off).
const apiPort = Number(process.env.API_PORT ?? port + 1);
const api = apiPort ? await createFastifyApi({ engine: sessions.engine }) : undefined;
if (api) {
  await api.listen({ port: apiPort, host: process.env.HOST ?? '::' });
  console.log(`sess demo JSON API (Fastify, same sessions) on http://localhost:${apiPort}`);
}
const server = app.listen(port, () => console.log(`sess demo on http://localhost:${port} (sessions in ${storeName})`));

const stop = () => server.close(() => Promise.resolve(api?.close()).then(() => store.close?.()).finally(() => process.exit(0)));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
