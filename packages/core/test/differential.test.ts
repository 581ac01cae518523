/**
 * Differential tests: the same app, the same requests and the same (spy) store, once through
 * express-session and once through @sess/core. Every observable must match: when the store is read,
 * written, touched and destroyed, when a cookie is sent, and what the client receives. Each case runs on
 * three stores: a callback spy store; the same wrapped by a forwarding spy on the instance (as apps count
 * store calls for metrics); and each middleware's own MemoryStore wrapped so, the wrapper doing the counting.
 */
import { describe, expect, test } from '@jest/globals';
import express5 from 'express';
import express4 from 'express4';
import expressSession from 'express-session';
import session, { MemoryStore, Store } from '@sess/core';
import { cookieFrom, listen, makeSpyStore, wrapWithForwardingSpy, type SpyLog } from './helpers';

type Opts = { resave: boolean; saveUninitialized: boolean; rolling: boolean; maxAge?: number; unset?: 'keep' | 'destroy' };

function routes(app: ReturnType<typeof express5>) {
  const r = app as unknown as { get: (p: string, h: (req: any, res: any) => void) => void };
  r.get('/noop', (_req, res) => res.send('ok'));
  r.get('/set', (req, res) => {
    req.session.n = (req.session.n || 0) + 1;
    res.send(String(req.session.n));
  });
  r.get('/same', (req, res) => {
    req.session.fixed = 'x';
    res.send('same');
  });
  r.get('/regen', (req, res) =>
    req.session.regenerate((err: unknown) => {
      req.session.after = 1;
      res.send(err ? 'err' : 'regen');
    }),
  );
  r.get('/destroy', (req, res) => req.session.destroy((err: unknown) => res.send(err ? 'err' : 'destroyed')));
  r.get('/unset', (req, res) => {
    req.session = null;
    res.send('unset');
  });
  r.get('/save', (req, res) => {
    req.session.saved = (req.session.saved || 0) + 1;
    req.session.save((err: unknown) => res.send(err ? 'err' : 'saved'));
  });
  r.get('/reload', (req, res) => req.session.reload((err: unknown) => res.send(err ? 'reload-err' : 'reloaded')));
  r.get('/redirect', (req, res) => {
    req.session.r = 1;
    res.redirect('/noop');
  });
  r.get('/json', (_req, res) => res.json({ a: 1 }));
  r.get('/touch', (req, res) => {
    req.session.touch();
    res.end();
  });
  r.get('/write', (req, res) => {
    req.session.w = 1;
    res.write('a');
    res.end('b');
  });
}

const STEPS: Array<[string, boolean]> = [
  ['/noop', false],
  ['/set', false],
  ['/noop', true],
  ['/set', true],
  ['/same', true],
  ['/same', true],
  ['/json', true],
  ['/touch', true],
  ['/save', true],
  ['/reload', true],
  ['/redirect', true],
  ['/write', true],
  ['/regen', true],
  ['/set', true],
  ['/unset', true],
  ['/noop', true],
  ['/destroy', true],
  ['/noop', true],
  ['/reload', true],
  ['/set', false],
];

type StoreKind = 'spy store' | 'spy store, wrapped' | 'MemoryStore, wrapped';
const KINDS: StoreKind[] = ['spy store', 'spy store, wrapped', 'MemoryStore, wrapped'];

/** The store for one side, and how to count what it holds. */
function makeStore(which: 'express-session' | 'sess', kind: StoreKind): { store: object; log: SpyLog; stored: () => Promise<number> } {
  if (kind === 'MemoryStore, wrapped') {
    const base = which === 'express-session' ? new expressSession.MemoryStore() : new MemoryStore();
    const log = wrapWithForwardingSpy(base);
    const length = (base as unknown as { length(cb: (err: unknown, n?: number) => void): void }).length.bind(base);
    return { store: base, log, stored: () => new Promise((resolve, reject) => length((err, n) => (err ? reject(err as Error) : resolve(n ?? 0)))) };
  }
  const { store, log } = makeSpyStore((which === 'express-session' ? expressSession.Store : Store) as never);
  if (kind === 'spy store, wrapped') wrapWithForwardingSpy(store);
  return { store, log, stored: async () => log.data.size };
}

async function run(which: 'express-session' | 'sess', express: typeof express5, opts: Opts, kind: StoreKind = 'spy store') {
  const { store, log, stored } = makeStore(which, kind);
  const mwOpts = {
    secret: 'keyboard cat',
    resave: opts.resave,
    saveUninitialized: opts.saveUninitialized,
    rolling: opts.rolling,
    unset: opts.unset,
    store,
    cookie: opts.maxAge === undefined ? {} : { maxAge: opts.maxAge },
  };
  const app = express();
  app.use(which === 'express-session' ? expressSession(mwOpts as never) : session(mwOpts as never));
  routes(app as never);
  const srv = await listen(app);
  const out: unknown[] = [];
  let jar: string | undefined;
  try {
    for (const [path, useJar] of STEPS) {
      const before = { get: log.get, set: log.set, touch: log.touch, destroy: log.destroy };
      const res = await fetch(srv.url + path, { headers: useJar && jar ? { cookie: jar } : {}, redirect: 'manual' });
      const body = await res.text();
      const c = cookieFrom(res.headers.getSetCookie(), 'connect.sid');
      const sameId = c !== undefined && jar !== undefined && c === jar;
      if (c) jar = c;
      out.push({
        path,
        status: res.status,
        body,
        cookieSent: c !== undefined,
        sameId,
        get: log.get - before.get,
        set: log.set - before.set,
        touch: log.touch - before.touch,
        destroy: log.destroy - before.destroy,
        stored: await stored(),
      });
    }
  } finally {
    await srv.close();
  }
  return out;
}

const matrix: Opts[] = [];
for (const resave of [true, false])
  for (const saveUninitialized of [true, false])
    for (const rolling of [true, false])
      for (const maxAge of [undefined, 60_000]) matrix.push({ resave, saveUninitialized, rolling, maxAge });
matrix.push({ resave: false, saveUninitialized: false, rolling: false, maxAge: 60_000, unset: 'destroy' });
matrix.push({ resave: true, saveUninitialized: true, rolling: true, unset: 'destroy' });

const cases = (list: Opts[]) => KINDS.flatMap((kind) => list.map((m) => [kind, JSON.stringify(m), m] as const));

describe('decision table matches express-session (express 5)', () => {
  test.each(cases(matrix))('%s: %s', async (kind, _name, opts) => {
    const expected = await run('express-session', express5 as never, opts, kind);
    const actual = await run('sess', express5 as never, opts, kind);
    expect(actual).toEqual(expected);
  });
});

describe('decision table matches express-session (express 4)', () => {
  test.each(cases(matrix.slice(0, 16).filter((_, i) => i % 3 === 0)))('%s: %s', async (kind, _name, opts) => {
    const expected = await run('express-session', express4 as never, opts, kind);
    const actual = await run('sess', express4 as never, opts, kind);
    expect(actual).toEqual(expected);
  });
});
