#!/usr/bin/env node
// Each sess binding against its framework's incumbent session library and against the bare framework (no
// session layer), on the same store: Express (express-session with each store's incumbent, sess with its
// recommended options; memory, Redis, PostgreSQL, MySQL, files), Fastify (@fastify/session; memory, and Redis through connect-redis), Koa
// (koa-session with koa-redis), Hono (hono-sessions' memory store). Scenarios read / write / create, the three
// implementations interleaved in a rotating order each round; medians of req/s, p99, the app's CPU per request,
// and the store server's CPU per request (Redis INFO).
// The default setups are the frameworks'; `--only express` (or `--only all`) takes Express on every store.
// `--sessions N` spreads the requests over N sessions (each made by the app's own /create before measuring; the
// requests take their cookies in turn, and bare Express gets as many cookies of the same size), instead of one
// session shared by every request: verification caches, the store's index and the store's memory then work as
// they do with many users.
//   node src/frameworks.mjs [--only fastify-memory,koa-redis] [--duration 3] [--rounds 3] [--connections 50] [--sessions 1] [--json] [--out file.json]
import autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { ask, forkServer, option, pinDriver, stop } from './proc.mjs';
import { storeCpuMeter } from './store-cpu.mjs';
import { dropRedisKeys } from './redis-keys.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => option(args, name, dflt);
const duration = Number(opt('duration', 3));
const rounds = Number(opt('rounds', 3));
const connections = Number(opt('connections', 50));
const sessions = Math.max(1, Number(opt('sessions', 1)));
const scenarios = (opt('scenarios', 'read,write,create')).split(',');
const outFile = opt('out', undefined);
const asJson = args.includes('--json');
const EXPRESS = ['express-memory', 'express-redis', 'express-pg', 'express-mysql', 'express-file'];
const FRAMEWORKS = ['fastify-memory', 'fastify-redis', 'koa-redis', 'hono-memory'];
const SETUPS = [...EXPRESS, ...FRAMEWORKS];
const only = opt('only', FRAMEWORKS.join(','))
  .split(',')
  .flatMap((s) => (s === 'express' ? EXPRESS : s === 'all' ? SETUPS : [s]));
const IMPLS = ['bare', 'incumbent', 'sess'];
const serverPath = fileURLToPath(new URL('./framework-server.mjs', import.meta.url));

pinDriver(import.meta.url, args);

function start(framework, impl, store) {
  return new Promise((resolve, reject) => {
    const argv = [framework, impl, store];
    const child = forkServer(serverPath, argv);
    child.once('message', (m) => resolve({ child, url: `http://127.0.0.1:${m.port}` }));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${framework} ${impl} server exited with ${code}`)));
  });
}

/** Every cookie the app set on /create (koa-session sets two), as a Cookie header. */
async function sessionCookie(url) {
  const res = await fetch(url + '/create');
  const pairs = res.headers.getSetCookie().map((c) => c.split(';')[0]);
  if (pairs.length === 0) throw new Error('no session cookie from ' + url);
  return pairs.join('; ');
}

/** `n` sessions made by the app, as Cookie headers; the first and the last are checked to read back. */
async function sessionCookies(url, n) {
  const cookies = [];
  while (cookies.length < n) cookies.push(...(await Promise.all(Array.from({ length: Math.min(50, n - cookies.length) }, () => sessionCookie(url)))));
  for (const cookie of [cookies[0], cookies[n - 1]]) {
    const body = await (await fetch(url + '/read', { headers: { cookie } })).text();
    if (body !== 'hello 42') throw new Error(`${url}: a session made by /create reads back as ${JSON.stringify(body)}`);
  }
  return cookies;
}

/** Cookie headers of the size of a signed session cookie, for the bare framework (which reads none). */
const fakeCookies = (n) => Array.from({ length: n }, () => `sid=s%3A${randomBytes(24).toString('base64url')}.${randomBytes(32).toString('base64url')}`);

/** autocannon on `path` for `seconds`; with more than one cookie, each request takes the next one. */
function cannon(url, path, cookies, seconds = duration) {
  const opts = { url: url + path, connections, duration: seconds, pipelining: 1 };
  if (cookies.length === 1) opts.headers = { cookie: cookies[0] };
  else if (cookies.length > 1) {
    let i = 0;
    opts.requests = [
      {
        setupRequest(req) {
          req.headers.cookie = cookies[i++ % cookies.length];
          return req;
        },
      },
    ];
  }
  return new Promise((resolve, reject) => autocannon(opts, (err, r) => (err ? reject(err) : resolve(r))));
}

async function measure(framework, impl, store, scenario, meter) {
  const srv = await start(framework, impl, store);
  try {
    let cookies = [];
    if (scenario !== 'create') {
      if (impl !== 'bare') cookies = sessions === 1 ? [await sessionCookie(srv.url)] : await sessionCookies(srv.url, sessions);
      else if (sessions > 1) cookies = fakeCookies(sessions);
    }
    await cannon(srv.url, '/' + scenario, cookies, 1);
    await ask(srv.child, 'mark');
    const before = await meter.read();
    const r = await cannon(srv.url, '/' + scenario, cookies);
    const after = await meter.read();
    const cpu = await ask(srv.child, 'cpu');
    if (r.non2xx || r.errors) throw new Error(`${framework} ${impl} ${scenario}: ${r.non2xx} non-2xx, ${r.errors} errors`);
    const served = Math.max(1, cpu.served);
    return {
      rps: r.requests.average,
      p99: r.latency.p99,
      cpuUs: cpu.cpuMicros / served,
      // The app's share of its core over the run: below ~0.95 the load generator or the store, not the app, set the pace.
      busy: cpu.cpuMicros / (duration * 1e6),
      storeCpuUs: before === null || after === null ? null : (after - before) / served,
    };
  } finally {
    await stop(srv);
    if (store === 'redis') await dropRedisKeys(srv.child.pid);
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const results = [];
for (const setup of only) {
  if (!SETUPS.includes(setup)) throw new Error(`unknown setup ${setup}; known: ${SETUPS.join(', ')}`);
  const [framework, store] = setup.split('-');
  const meter = await storeCpuMeter(store === 'memory' || store === 'file' ? undefined : store);
  const samples = Object.fromEntries(scenarios.map((s) => [s, Object.fromEntries(IMPLS.map((i) => [i, []]))]));
  for (let round = 0; round < rounds; round++) {
    for (const scenario of scenarios) {
      const order = IMPLS.map((_, i) => IMPLS[(i + round) % IMPLS.length]);
      for (const impl of order) samples[scenario][impl].push(await measure(framework, impl, store, scenario, meter));
    }
  }
  await meter.close();
  for (const scenario of scenarios) {
    const m = (impl, k) => median(samples[scenario][impl].map((x) => x[k]));
    const storeCpu = (impl) => (samples[scenario][impl].some((x) => x.storeCpuUs === null) ? null : Number(m(impl, 'storeCpuUs').toFixed(1)));
    const row = { setup, scenario };
    for (const impl of IMPLS) {
      row[`${impl}Rps`] = Math.round(m(impl, 'rps'));
      row[`${impl}P99`] = m(impl, 'p99');
      row[`${impl}CpuUs`] = Math.round(m(impl, 'cpuUs'));
      row[`${impl}Busy`] = Number(m(impl, 'busy').toFixed(2));
      row[`${impl}StoreCpuUs`] = storeCpu(impl);
    }
    row.vsIncumbent = Number((row.sessRps / row.incumbentRps).toFixed(2));
    row.vsBare = Number((row.sessRps / row.bareRps).toFixed(2));
    row.roundVsIncumbent = samples[scenario].sess.map((x, i) => Number((x.rps / samples[scenario].incumbent[i].rps).toFixed(2)));
    row.cpuAboveBareUs = row.sessCpuUs - row.bareCpuUs;
    results.push(row);
  }
}

const report = { kind: 'frameworks', date: new Date().toISOString(), duration, rounds, connections, sessions, node: process.version, cpus: os.availableParallelism(), results };
if (outFile) {
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const path = await import('node:path');
  mkdirSync(path.dirname(path.resolve(outFile)), { recursive: true });
  writeFileSync(outFile, JSON.stringify(report, null, 2) + '\n');
}
if (asJson) console.log(JSON.stringify(report, null, 2));
else {
  console.log(`node ${process.version}, ${connections} connections, ${sessions === 1 ? 'one session' : sessions + ' sessions'}, ${rounds} interleaved rounds of ${duration}s per scenario and implementation (medians)`);
  console.log('setup           scenario |  bare req/s | incumbent req/s | sess req/s | sess÷incumbent (rounds) | sess÷bare | app cpu µs/req bare/inc/sess (sess above bare) | app busy bare/inc/sess | store cpu µs/req inc → sess');
  for (const r of results) {
    const store = r.incumbentStoreCpuUs === null ? '-' : `${r.incumbentStoreCpuUs} → ${r.sessStoreCpuUs}`;
    console.log(
      `${r.setup.padEnd(15)} ${r.scenario.padEnd(8)} | ${String(r.bareRps).padStart(11)} | ${String(r.incumbentRps).padStart(15)} | ${String(r.sessRps).padStart(10)} | ${(r.vsIncumbent.toFixed(2) + 'x').padStart(6)} (${r.roundVsIncumbent.join(', ')}) | ${(r.vsBare.toFixed(2) + 'x').padStart(9)} | ${r.bareCpuUs}/${r.incumbentCpuUs}/${r.sessCpuUs} (+${r.cpuAboveBareUs}) | ${r.bareBusy}/${r.incumbentBusy}/${r.sessBusy} | ${store}`,
    );
  }
}
