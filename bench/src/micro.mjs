#!/usr/bin/env node
// The session layer alone, no sockets: each implementation's middleware driven with requests and responses
// made in memory (the least an Express-style middleware reads and writes of them), one request after the other,
// on MemoryStore. Prints ns per request for read / write / create, each implementation's cost above the harness
// alone (`bare`: the same request and response with no session layer), and the ratios.
//   node src/micro.mjs [--ops 20000] [--rounds 5] [--scenarios read,write,create] [--impls bare,express-session,sess,engine]
//                      [--baseline <git rev>] [--json] [--out file.json]
// `sess` is session() (the Express binding) with the bench's recommended options; `engine` is the engine under
// it driven directly (open, load, commit, setCookie: what a binding does); `--baseline REV` adds `sess@REV`, core
// built at that commit (baseline-core.mjs). Profile one with: node --cpu-prof src/micro.mjs --impls sess.
import { EventEmitter } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { option } from './proc.mjs';
import { RECOMMENDED } from './variants.mjs';
import { baselineCore } from './baseline-core.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => option(args, name, dflt);
const ops = Number(opt('ops', 20000));
const rounds = Number(opt('rounds', 5));
const scenarios = opt('scenarios', 'read,write,create').split(',');
const baselineRev = opt('baseline', undefined);
const impls = opt('impls', 'bare,express-session,sess,engine').split(',');
if (baselineRev) impls.push(`sess@${baselineRev}`);
const asJson = args.includes('--json');
const inFlight = Number(opt('in-flight', 1));
const outFile = opt('out', undefined);

const COMMON = { secret: 'bench secret', resave: false, saveUninitialized: false, name: 'sid', cookie: { maxAge: 3_600_000 } };

/** The response, as much of Node's ServerResponse as a session middleware touches. */
class Res extends EventEmitter {
  constructor(done) {
    super();
    this.statusCode = 200;
    this.headersSent = false;
    this._header = null;
    this.h = Object.create(null);
    this.done = done;
  }
  setHeader(k, v) {
    this.h[k.toLowerCase()] = v;
    return this;
  }
  getHeader(k) {
    return this.h[k.toLowerCase()];
  }
  hasHeader(k) {
    return k.toLowerCase() in this.h;
  }
  removeHeader(k) {
    delete this.h[k.toLowerCase()];
  }
  writeHead(code) {
    this.statusCode = code;
    this._header = true;
    this.headersSent = true;
    return this;
  }
  _implicitHeader() {
    this.writeHead(this.statusCode);
  }
  write(chunk) {
    if (!this._header) this._implicitHeader();
    if (chunk != null) this.body = (this.body ?? '') + String(chunk);
    return true;
  }
  end(chunk) {
    if (!this._header) this._implicitHeader();
    if (chunk != null && typeof chunk !== 'function') this.body = (this.body ?? '') + String(chunk);
    this.finished = true;
    this.done(this);
    return this;
  }
}

const req = (url, cookie) => ({ method: 'GET', url, originalUrl: url, headers: cookie ? { cookie } : {}, socket: {}, connection: {} });

/** The app's three routes, on the session the middleware put on `req`. */
const ROUTES = {
  create: (rq, rs) => {
    rq.session.user = { id: 42, role: 'user' };
    rs.end('created');
  },
  read: (rq, rs) => rs.end(rq.session.user ? 'hello ' + rq.session.user.id : 'anon'),
  write: (rq, rs) => {
    rq.session.count = (rq.session.count || 0) + 1;
    rs.end('n=' + rq.session.count);
  },
};
const BARE = { create: (rq, rs) => rs.end('created'), read: (rq, rs) => rs.end('anon'), write: (rq, rs) => rs.end('n=1') };

/** One request through an Express-style middleware `mw` (null: none), resolving with its response. */
function viaMiddleware(mw, scenario, cookie) {
  return new Promise((resolve, reject) => {
    const rq = req('/' + scenario, scenario === 'create' ? undefined : cookie);
    const rs = new Res(resolve);
    if (!mw) return BARE[scenario](rq, rs);
    mw(rq, rs, (err) => {
      if (err) return reject(err);
      try {
        ROUTES[scenario](rq, rs);
      } catch (e) {
        reject(e);
      }
    });
  });
}

/** One request through the engine itself: open, load, the route, commit, the Set-Cookie value. */
function viaEngine(engine, scenario, cookie) {
  return new Promise((resolve, reject) => {
    const carrier = {};
    const host = { carrier, request: carrier, secure: () => false, onClose: () => undefined };
    const sr = engine.open(host);
    sr.load(engine.readCookie(scenario === 'create' ? undefined : cookie), (err) => {
      if (err) return reject(err);
      const rs = {
        setCookie: undefined,
        end(chunk) {
          this.body = chunk;
        },
      };
      ROUTES[scenario](carrier, rs);
      const finish = (e) => {
        if (e) return reject(e);
        rs.setCookie = sr.setCookie();
        resolve(rs);
      };
      if (!sr.commit(finish)) finish();
    });
  });
}

/** A driver for `impl`: `run(scenario, cookie)` and a way to get a session cookie. */
async function driver(impl) {
  if (impl === 'bare') return { run: (s) => viaMiddleware(null, s), cookie: async () => undefined };
  let mw;
  let engine;
  if (impl === 'express-session') {
    const { default: expressSession } = await import('express-session');
    mw = expressSession({ ...COMMON, store: new expressSession.MemoryStore() });
  } else if (impl.startsWith('sess@')) {
    const core = createRequire(import.meta.url)(baselineCore(impl.slice(5)));
    mw = core.session({ ...COMMON, ...RECOMMENDED, store: new core.MemoryStore() });
  } else {
    const core = await import('@sess/core');
    if (impl === 'engine') engine = core.createSessionEngine({ ...COMMON, ...RECOMMENDED, store: new core.MemoryStore() });
    else mw = core.session({ ...COMMON, ...RECOMMENDED, store: new core.MemoryStore() });
  }
  const run = engine ? (s, c) => viaEngine(engine, s, c) : (s, c) => viaMiddleware(mw, s, c);
  return {
    run,
    async cookie() {
      const rs = await run('create');
      const set = engine ? rs.setCookie : [].concat(rs.getHeader('set-cookie'))[0];
      if (!set) throw new Error(`${impl}: no session cookie from create`);
      const cookie = set.split(';')[0];
      // Measure only what works: the session the cookie names is read back.
      const read = await run('read', cookie);
      if (read.body !== 'hello 42') throw new Error(`${impl}: read gave ${JSON.stringify(read.body)}, not the created session`);
      return cookie;
    },
  };
}

/** ns per request of `ops` requests one after the other. */
async function time(d, scenario, cookie, n) {
  const t0 = performance.now();
  const chain = async (k) => {
    for (let i = 0; i < k; i++) await d.run(scenario, cookie);
  };
  await Promise.all(Array.from({ length: inFlight }, () => chain(Math.ceil(n / inFlight))));
  return ((performance.now() - t0) * 1e6) / (Math.ceil(n / inFlight) * inFlight);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const drivers = {};
for (const impl of impls) drivers[impl] = await driver(impl);
const results = [];
for (const scenario of scenarios) {
  const per = Object.fromEntries(impls.map((i) => [i, []]));
  const cookies = {};
  for (const impl of impls) {
    cookies[impl] = await drivers[impl].cookie();
    await time(drivers[impl], scenario, cookies[impl], Math.min(ops, 5000)); // warm-up
  }
  for (let r = 0; r < rounds; r++) {
    // A rotating order, so drift (GC, a neighbour's load) hits every implementation alike.
    const order = impls.map((_, k) => impls[(k + r) % impls.length]);
    for (const impl of order) per[impl].push(await time(drivers[impl], scenario, cookies[impl], ops));
  }
  const bare = per.bare ? median(per.bare) : 0;
  for (const impl of impls) {
    const ns = median(per[impl]);
    results.push({ scenario, impl, nsPerRequest: Math.round(ns), aboveBareNs: impl === 'bare' ? 0 : Math.round(ns - bare), rounds: per[impl].map(Math.round) });
  }
}

if (asJson) console.log(JSON.stringify(results, null, 2));
else {
  console.log(`node ${process.version}, ${ops} requests per round, ${rounds} rounds, medians (ns per request; above bare = the session layer's own cost)`);
  for (const scenario of scenarios) {
    const rows = results.filter((r) => r.scenario === scenario);
    const es = rows.find((r) => r.impl === 'express-session');
    for (const r of rows) {
      const vs = es && r.impl !== 'bare' && r.impl !== 'express-session' ? `  ${(es.aboveBareNs / r.aboveBareNs).toFixed(2)}x less than express-session` : '';
      console.log(`${scenario.padEnd(7)} ${r.impl.padEnd(18)} ${String(r.nsPerRequest).padStart(8)} ns  above bare ${String(r.aboveBareNs).padStart(8)} ns${vs}`);
    }
  }
}
if (outFile) writeFileSync(outFile, JSON.stringify({ date: new Date().toISOString(), node: process.version, ops, rounds, results }, null, 2) + '\n');
