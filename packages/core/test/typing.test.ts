/**
 * Session data is typed by declaration merging, as @types/express-session users expect. This file is
 * type-checked by `pnpm typecheck` (tsc); the @ts-expect-error lines fail the check if typing regresses.
 */
import { expect, test } from '@jest/globals';
import express from 'express';
import session, { MemoryStore, type SessionData } from '@sess/core';
import { client, listen } from './helpers';

declare module '@sess/core' {
  interface SessionData {
    views: number;
    user: { id: number; role: 'admin' | 'user' };
  }
}

test('typed session data round-trips', async () => {
  const app = express();
  app.use(session({ secret: 's', resave: false, saveUninitialized: false, store: new MemoryStore() }));
  app.get('/', (req, res) => {
    req.session.views = (req.session.views ?? 0) + 1;
    req.session.user = { id: 1, role: 'admin' };
    // @ts-expect-error views is a number
    req.session.views = 'many';
    req.session.views = 1 + (typeof req.session.views === 'number' ? req.session.views : 0);
    const role: 'admin' | 'user' | undefined = req.session.user?.role;
    res.json({ views: req.session.views, role });
  });
  const srv = await listen(app);
  const r = JSON.parse((await client(srv.url).get('/')).body);
  expect(r).toEqual({ views: 1, role: 'admin' });
  await srv.close();
  const data: Partial<SessionData> = { views: 3 };
  expect(data.views).toBe(3);
});
