// The benchmarked apps: the same Express app with a session middleware plugged in. Each runs in its
// own child process (see server.mjs) so the two implementations never share a heap or an event loop.
import express from 'express';

/** Build the app for `impl` ('express-session' | 'sess' | 'bare': no session layer) on `store` ('memory' or a store spec). */
export async function buildApp(impl, variant = {}) {
  const common = { secret: 'bench secret', resave: false, saveUninitialized: false, name: 'sid', cookie: { maxAge: 3_600_000 } };
  let mw;
  if (impl === 'bare') {
    mw = undefined;
  } else if (impl === 'express-session' && variant.baseline === 'sess') {
    // A variant measuring a sess feature against sess without it (the "es" column is then plain sess), or
    // today's core against an earlier build of it (baselineCore: the path of that build's entry).
    const core = variant.baselineCore ? (await import('node:module')).createRequire(import.meta.url)(variant.baselineCore()) : await import('@sess/core');
    const { session, MemoryStore } = core;
    const make = variant.makeBaselineStore ?? variant.makeSessStore;
    const store = make ? await make() : new MemoryStore();
    if (variant.baselineSetup) await variant.baselineSetup();
    mw = session({ ...common, store });
  } else if (impl === 'express-session') {
    const { default: expressSession } = await import('express-session');
    const store = variant.makeIncumbentStore ? await variant.makeIncumbentStore(expressSession) : new expressSession.MemoryStore();
    mw = expressSession({ ...common, store });
  } else {
    const { default: session, MemoryStore } = await import('@sess/core');
    const store = variant.makeSessStore ? await variant.makeSessStore() : new MemoryStore();
    if (variant.sessSetup) await variant.sessSetup();
    mw = session({ ...common, ...(variant.sessOptions ?? {}), store });
  }
  const app = express();
  app.set('etag', false);
  app.disable('x-powered-by');
  if (mw) app.use(mw);
  // create: a new session per request
  app.get('/create', (req, res) => {
    if (req.session) req.session.user = { id: 42, role: 'user' };
    res.send('created');
  });
  // read: an existing session, read but not changed
  app.get('/read', (req, res) => {
    res.send(req.session?.user ? 'hello ' + req.session.user.id : 'anon');
  });
  // write: one key changed per request
  app.get('/write', (req, res) => {
    if (!req.session) return res.send('n=1');
    req.session.count = (req.session.count || 0) + 1;
    res.send('n=' + req.session.count);
  });
  return app;
}
