// The demo's second service: a Fastify JSON API on the same sessions as the Express site, through @sess/fastify
// sharing the site's session engine (one process here; separate services would pass the same options and
// store). Log in on the site, then GET /me here: the same user, the same cart. Writes need the site's CSRF
// token in the x-csrf-token header.
import Fastify from 'fastify';
import sessFastify from '@sess/fastify';
import { CsrfError, csrfValid } from '@sess/core';

const PRODUCTS = { tea: 4.5, mug: 12, book: 24 };

/** The API on `engine` (the site's `sessions.engine`). */
export async function createFastifyApi({ engine }) {
  const api = Fastify();
  await api.register(sessFastify, { engine });
  api.get('/', async () => ({ service: 'sess demo JSON API on Fastify', routes: ['GET /me', 'GET /cart', 'POST /cart {"id":"mug"} (x-csrf-token)', 'POST /logout (x-csrf-token)'] }));
  api.get('/me', async (request) => ({ signedIn: Boolean(request.session.userId), name: request.session.name ?? null, role: request.session.role ?? null, visits: request.session.count ?? 0, served: 'fastify' }));
  api.get('/cart', async (request) => request.session.cart ?? {});
  const checked = (request) => {
    if (!csrfValid(request.session, request.headers['x-csrf-token'])) throw new CsrfError();
  };
  api.post('/cart', async (request, reply) => {
    checked(request);
    const id = request.body?.id;
    if (!(id in PRODUCTS)) return reply.status(400).send({ error: 'unknown product' });
    request.session.cart = { ...(request.session.cart ?? {}), [id]: ((request.session.cart ?? {})[id] ?? 0) + 1 };
    return request.session.cart;
  });
  api.post('/logout', async (request) => {
    checked(request);
    await request.session.destroy();
    return { signedIn: false };
  });
  api.setErrorHandler((err, _request, reply) => reply.status(err.status ?? err.statusCode ?? 500).send({ error: err.code ?? 'error' }));
  return api;
}
