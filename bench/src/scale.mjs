#!/usr/bin/env node
// How cost grows with the work: for each store, 1,000 / 100,000 / 1,000,000 live sessions (MemoryStore up to its
// bound), sess (recommended options) and the incumbent side by side on the very same data:
//  - reads spread over all live sessions (a random one per request; each was last touched 10 minutes ago, so a
//    read touches it, on both sides): req/s, p99, server CPU and store server CPU per request;
//  - memory per session (heap for MemoryStore; Redis used_memory; table size; collection size; bytes on disk);
//  - one prune pass over the 10% expired sessions, in the app process, while reads go on: its time, and the p99
//    of the requests served while it ran against the p99 without it;
//  - the per-user index with 10,000 sessions of one user (at 100,000): list them, sign out all but the current.
//   node src/scale.mjs [--stores memory,redis,pg,mysql,mongo,file] [--sizes 1000,100000,1000000] [--rounds 2]
//                      [--duration 3] [--connections 10] [--user-at 100000] [--user-sessions 10000] [--out results/scale.json]
//                      [--prune-incumbent-files]
import autocannon from 'autocannon';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import signature from 'cookie-signature';
import { HEAVY_USER, MAX_AGE, heavyRecord, isExpired, release, scaleStores, sid, writeJson } from './scale-stores.mjs';
import { ask, forkServer, option, stop } from './proc.mjs';
import { storeCpuMeter } from './store-cpu.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => option(args, name, dflt);
const storeNames = opt('stores', 'memory,redis,pg,mysql,mongo,file').split(',');
const sizesWanted = opt('sizes', '1000,100000,1000000').split(',').map(Number);
const rounds = Number(opt('rounds', 2));
const duration = Number(opt('duration', 3));
const connections = Number(opt('connections', 10));
const outFile = opt('out', fileURLToPath(new URL('../results/scale.json', import.meta.url)));
const USER_SESSIONS = Number(opt('user-sessions', 10_000));
const userAt = Number(opt('user-at', 100_000)); // the size at which the per-user scenario runs
// Also time sess's prune pass over the incumbent's files (a switch's first pass) where a store has fillSess.
const pruneOnIncumbentFiles = args.includes('--prune-incumbent-files');
const serverPath = fileURLToPath(new URL('./scale-server.mjs', import.meta.url));


function start(impl, store, size) {
  return new Promise((resolve, reject) => {
    const execArgv = ['--expose-gc', '--max-old-space-size=8192'];
    const child = forkServer(serverPath, [impl, store, String(size)], execArgv);
    child.once('message', (m) => resolve({ child, url: `http://127.0.0.1:${m.port}`, heapBytesPerSession: m.heapBytesPerSession }));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${impl} ${store} server exited with ${code}`)));
  });
}

/** Signed cookies of up to 20,000 random live sessions out of `n`: each request picks one. */
function cookies(n) {
  const out = [];
  const want = Math.min(20_000, n);
  while (out.length < want) {
    const i = Math.floor(Math.random() * n);
    if (isExpired(i)) continue;
    out.push('sid=' + encodeURIComponent('s:' + signature.sign(sid(i), 'bench secret')));
  }
  return out;
}

/** Spread reads for `seconds`; `onResponse(ms, at)` sees each response's latency and completion time. */
function spread(url, jar, seconds, onResponse) {
  let k = 0;
  const inst = autocannon({
    url,
    connections,
    duration: seconds,
    requests: [{ method: 'GET', path: '/read', setupRequest: (req) => ({ ...req, headers: { ...req.headers, cookie: jar[k++ % jar.length] } }) }],
  });
  if (onResponse) inst.on('response', (_c, status, _b, ms) => status === 200 && onResponse(ms, performance.now()));
  return { inst, done: new Promise((resolve, reject) => inst.once('done', resolve).once('error', reject)) };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const p99 = (xs) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.99))];
};

async function readRound(impl, storeName, size, jar, meter) {
  const srv = await start(impl, storeName, size);
  try {
    // The filled data is this implementation's: a live session is found, not replaced by a new one.
    const probe = await (await fetch(srv.url + '/read', { headers: { cookie: jar[0] } })).text();
    if (!probe.startsWith('hello ')) throw new Error(`${impl} ${storeName} ${size}: the filled session was not found (${probe})`);
    await spread(srv.url, jar, 1).done; // warm-up (its sessions are then touched: the measured reads pick others mostly)
    await ask(srv.child, 'mark');
    const before = await meter.read();
    const r = await spread(srv.url, jar, duration).done;
    const after = await meter.read();
    const cpu = await ask(srv.child, 'cpu');
    if (r.non2xx || r.errors) throw new Error(`${impl} ${storeName} ${size}: ${r.non2xx} non-2xx, ${r.errors} errors`);
    const served = Math.max(1, cpu.served);
    return { rps: r.requests.average, p99: r.latency.p99, cpuUs: cpu.cpuMicros / served, storeCpuUs: before === null ? null : (after - before) / served, heapBytesPerSession: srv.heapBytesPerSession };
  } finally {
    await stop(srv);
  }
}

/** One prune pass in the app process while spread reads go on; p99 without it measured just before. */
async function prunePass(impl, storeName, size, jar) {
  const srv = await start(impl, storeName, size);
  try {
    await spread(srv.url, jar, 1).done;
    const quiet = await spread(srv.url, jar, duration).done;
    const during = [];
    let window = null;
    const load = spread(srv.url, jar, 600, (ms, at) => window && at >= window[0] && (window[1] === null || at <= window[1]) && during.push(ms));
    await new Promise((r) => setTimeout(r, 500));
    window = [performance.now(), null];
    const res = await ask(srv.child, 'prune');
    window[1] = performance.now();
    load.inst.stop();
    await load.done;
    if (res.pruneError) return { error: res.pruneError };
    return { pruneMs: Math.round(res.pruneMs), p99Quiet: quiet.latency.p99, p99During: p99(during), requestsDuring: during.length };
  } finally {
    await stop(srv);
  }
}

/** The per-user scenario on the store's populated data, from this process (as an admin task would). */
async function perUser(def, impl) {
  const expressSession = (await import('express-session')).default;
  const store = impl === 'sess' ? await def.sess() : await def.incumbent(expressSession);
  if (def.inProcess) await def.fillInProcess(store, userAt, Date.now(), impl);
  const now = Date.now();
  const ids = Array.from({ length: Math.min(def.userSessions ?? USER_SESSIONS, USER_SESSIONS) }, (_, i) => 'heavy' + String(i).padStart(27, '0'));
  const ctx = { expires: new Date(now + MAX_AGE), userKey: HEAVY_USER };
  const call = (fn, ...a) => (impl === 'sess' ? fn.apply(store, a) : new Promise((resolve, reject) => fn.call(store, ...a, (err, v) => (err ? reject(err) : resolve(v)))));
  for (let i = 0; i < ids.length; i += 100) {
    await Promise.all(ids.slice(i, i + 100).map((id) => (impl === 'sess' ? store.set(id, heavyRecord(now), ctx) : call(store.set, id, heavyRecord(now)))));
  }
  const current = ids[0];
  let t0 = performance.now();
  let listed;
  if (impl === 'sess') listed = (await store.listUser(HEAVY_USER)).map((s) => s.id);
  else if (def.incumbentListUser) listed = await def.incumbentListUser();
  else if (typeof store.all !== 'function') {
    // No all() (session-file-store): list the ids, read each, keep the user's.
    const every = (await call(store.list)).map((f) => String(f).replace(/\.json$/, ''));
    listed = [];
    for (let i = 0; i < every.length; i += 100) {
      const got = await Promise.all(every.slice(i, i + 100).map((id) => call(store.get, id).then((s) => [id, s], () => [id, null])));
      for (const [id, s] of got) if (s?.user?.id === HEAVY_USER) listed.push(id);
    }
  } else {
    const all = await call(store.all);
    listed = Array.isArray(all) ? all.filter((s) => s?.user?.id === HEAVY_USER).map((s) => s.id ?? s._id) : Object.entries(all ?? {}).filter(([, s]) => s?.user?.id === HEAVY_USER).map(([id]) => id);
  }
  const listMs = performance.now() - t0;
  t0 = performance.now();
  let destroyed;
  if (impl === 'sess') destroyed = await store.destroyUser(HEAVY_USER, [current]);
  else {
    // What an app on the incumbent does: destroy each of them but the current one.
    const others = listed.filter((id) => id !== current);
    for (let i = 0; i < others.length; i += 100) await Promise.all(others.slice(i, i + 100).map((id) => call(store.destroy, id)));
    destroyed = others.length;
  }
  const destroyMs = performance.now() - t0;
  await call(store.destroy, current).catch(() => undefined);
  await release(store);
  return { listed: listed.length, listMs: Math.round(listMs), destroyed, destroyMs: Math.round(destroyMs) };
}

const results = [];
for (const storeName of storeNames) {
  const def = scaleStores[storeName];
  if (!def) throw new Error(`unknown store ${storeName}; known: ${Object.keys(scaleStores).join(', ')}`);
  await def.setup?.();
  const meter = await storeCpuMeter(def.storeKind);
  for (const size of def.sizes.filter((s) => sizesWanted.includes(s))) {
    const row = { store: storeName, sessions: size };
    try {
      await measureSize(def, storeName, size, row, meter);
    } catch (err) {
      // One store failing at one size (a server too slow to answer, say) is reported, and the run goes on.
      row.error = String(err?.message ?? err).split('\n')[0].slice(0, 300);
      console.error(`scale: ${storeName} ${size} failed: ${row.error}`);
    }
    console.error(`scale: ${JSON.stringify(row)}`);
    results.push(row);
    writeReport(); // after every row: a later failure loses nothing measured
  }
  await meter.close();
  if (!def.inProcess) await def.clear();
}

function writeReport() {
  writeJson(outFile, { kind: 'scale', date: new Date().toISOString(), node: process.version, cpus: os.availableParallelism(), rounds, duration, connections, userSessions: USER_SESSIONS, results });
}

async function measureSize(def, storeName, size, row, meter) {
  {
    // (one size of one store: fill, reads on both sides, prune passes, the per-user scenario)
    const now = Date.now();
    if (!def.inProcess) {
      await def.clear();
      const t0 = performance.now();
      const footprint = await def.fill(size, now);
      row.fillSeconds = Number(((performance.now() - t0) / 1000).toFixed(1));
      row.bytesPerSession = footprint.bytes === null ? null : Math.round(footprint.bytes / size);
      row.bytesMeasure = footprint.what;
    }
    console.error(`scale: ${storeName} ${size}: filled${row.fillSeconds ? ` in ${row.fillSeconds} s` : ''}`);
    const jar = cookies(size);
    const samples = { es: [], sess: [] };
    for (let r = 0; r < rounds; r++) {
      for (const impl of r % 2 === 0 ? ['express-session', 'sess'] : ['sess', 'express-session']) {
        samples[impl === 'sess' ? 'sess' : 'es'].push(await readRound(impl, storeName, size, jar, meter));
      }
    }
    const med = (side, k) => (samples[side].some((x) => x[k] === null) ? null : median(samples[side].map((x) => x[k])));
    Object.assign(row, {
      esRps: Math.round(med('es', 'rps')),
      sessRps: Math.round(med('sess', 'rps')),
      esP99: med('es', 'p99'),
      sessP99: med('sess', 'p99'),
      esCpuUs: Math.round(med('es', 'cpuUs')),
      sessCpuUs: Math.round(med('sess', 'cpuUs')),
      esStoreCpuUs: med('es', 'storeCpuUs') === null ? null : Number(med('es', 'storeCpuUs').toFixed(1)),
      sessStoreCpuUs: med('sess', 'storeCpuUs') === null ? null : Number(med('sess', 'storeCpuUs').toFixed(1)),
    });
    row.ratio = Number((row.sessRps / row.esRps).toFixed(2));
    row.roundRatios = samples.es.map((e, i) => Number((samples.sess[i].rps / e.rps).toFixed(2)));
    if (def.inProcess) {
      row.esBytesPerSession = Math.round(med('es', 'heapBytesPerSession'));
      row.sessBytesPerSession = Math.round(med('sess', 'heapBytesPerSession'));
      row.bytesMeasure = 'V8 heap growth of the app process';
    }
    // Prune: sess's pass, then (the data filled again) the incumbent's, where it has one.
    row.prune = {};
    for (const impl of ['sess', 'express-session']) {
      const fn = impl === 'sess' ? def.sessPrune : def.incumbentPrune;
      if (!fn) continue;
      if (!def.inProcess && impl !== 'sess') {
        await def.clear();
        await def.fill(size, Date.now());
      } else if (impl === 'sess' && def.fillSess) {
        // sess's pass over files sess wrote (fillSess says why); its pass over the incumbent's files is
        // measured too, as `sessOnIncumbentFiles`, when asked for (--prune-incumbent-files).
        if (pruneOnIncumbentFiles) row.prune.sessOnIncumbentFiles = await prunePass(impl, storeName, size, jar);
        await def.clear();
        await def.fillSess(size, Date.now());
      }
      row.prune[impl === 'sess' ? 'sess' : 'es'] = await prunePass(impl, storeName, size, jar);
    }
    if (size === userAt) {
      row.perUser = { userSessions: Math.min(def.userSessions ?? USER_SESSIONS, USER_SESSIONS) };
      for (const impl of ['sess', 'express-session']) row.perUser[impl === 'sess' ? 'sess' : 'es'] = await perUser(def, impl);
    }
  }
}

writeReport();
console.log(`sessions   store   es req/s p99 | sess req/s p99 | ratio | bytes/session | prune sess (p99 quiet → during) | per-user list/destroy ms es → sess`);
for (const r of results) {
  if (r.error) {
    console.log(`${String(r.sessions).padStart(8)} ${r.store.padEnd(7)} failed: ${r.error}`);
    continue;
  }
  const bytes = r.bytesPerSession ?? `${r.esBytesPerSession} → ${r.sessBytesPerSession}`;
  const pr = r.prune.sess ? `${r.prune.sess.pruneMs} ms (${r.prune.sess.p99Quiet} → ${r.prune.sess.p99During})` : 'n/a';
  const pu = r.perUser ? `${r.perUser.es.listMs}/${r.perUser.es.destroyMs} → ${r.perUser.sess.listMs}/${r.perUser.sess.destroyMs}` : '';
  console.log(`${String(r.sessions).padStart(8)} ${r.store.padEnd(7)} ${String(r.esRps).padStart(8)} ${r.esP99} | ${String(r.sessRps).padStart(9)} ${r.sessP99} | ${r.ratio.toFixed(2)}x | ${bytes} | ${pr} | ${pu}`);
}
console.log(`written to ${outFile}`);
