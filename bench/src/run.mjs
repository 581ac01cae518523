#!/usr/bin/env node
// Side-by-side benchmark: the same Express app on express-session and on @sess/core, scenarios
// read / write / create, interleaved (es, sess, sess, es, ...) so drift hits both alike. Prints req/s,
// p99 latency and the ratio sess ÷ express-session.
// Also the store server's own CPU per request (Redis INFO; PostgreSQL, MariaDB, FerretDB from /proc).
//   node src/run.mjs [--variant memory|a,b|targets] [--duration 5] [--rounds 3] [--connections 10] [--json] [--out file.json]
import autocannon from 'autocannon';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import signature from 'cookie-signature';
import { ask, forkServer, option, pinDriver, stop } from './proc.mjs';
import { storeCpuMeter } from './store-cpu.mjs';
import { dropRedisKeys } from './redis-keys.mjs';
import { TARGETS, variants } from './variants.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => option(args, name, dflt);
const variantNames = (opt('variant', 'memory')).split(',').flatMap((v) => (v === 'targets' ? TARGETS : [v]));
const outFile = opt('out', undefined);
const duration = Number(opt('duration', 5));
const rounds = Number(opt('rounds', 3));
const connections = Number(opt('connections', 10));
const asJson = args.includes('--json');
const scenarios = (opt('scenarios', 'read,write,create')).split(',');
const serverPath = fileURLToPath(new URL('./server.mjs', import.meta.url));

// Pin the load generator (this process) and the server to different cores when taskset exists, so
// the two implementations compete for the same CPU the same way in every round.
pinDriver(import.meta.url, args);

// Node flags for the servers only (SESS_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles each one).
const serverNodeArgs = (process.env.SESS_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);

function start(impl, variant) {
  return new Promise((resolve, reject) => {
    const child = forkServer(serverPath, [impl, variant], serverNodeArgs);
    child.once('message', (m) => resolve({ child, url: `http://127.0.0.1:${m.port}` }));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${impl} server exited with ${code}`)));
  });
}

async function sessionCookie(url) {
  const res = await fetch(url + '/create');
  const c = res.headers.getSetCookie().find((x) => x.startsWith('sid='));
  if (!c) throw new Error('no session cookie from ' + url);
  return c.split(';')[0];
}

// A validly signed cookie for an id the store has never seen (a stale cookie after a purge, say).
function unknownCookie() {
  const id = 'unknown_' + Math.random().toString(36).slice(2).padEnd(24, 'x');
  return 'sid=' + encodeURIComponent('s:' + signature.sign(id, 'bench secret'));
}

function cannon(url, path, headers) {
  return new Promise((resolve, reject) => {
    autocannon({ url: url + path, connections, duration, headers, pipelining: 1 }, (err, r) => (err ? reject(err) : resolve(r)));
  });
}

async function measure(impl, variant, scenario, meter) {
  const srv = await start(impl, variant);
  try {
    const headers = scenario === 'create' ? {} : scenario === 'miss' ? { cookie: unknownCookie() } : { cookie: await sessionCookie(srv.url) };
    // warm-up
    await new Promise((r) => autocannon({ url: srv.url + '/' + (scenario === 'miss' ? 'read' : scenario), connections, duration: 1, headers }, r));
    await ask(srv.child, 'mark');
    const storeBefore = await meter.read();
    const r = await cannon(srv.url, '/' + (scenario === 'miss' ? 'read' : scenario), headers);
    const storeAfter = await meter.read();
    const cpu = await ask(srv.child, 'cpu');
    if (r.non2xx || r.errors) throw new Error(`${impl} ${scenario}: ${r.non2xx} non-2xx, ${r.errors} errors`);
    const served = Math.max(1, cpu.served);
    const storeCpuPerReq = storeBefore === null || storeAfter === null ? null : (storeAfter - storeBefore) / served;
    return { rps: r.requests.average, p99: r.latency.p99, cpuPerReq: cpu.cpuMicros / served, storeCpuPerReq };
  } finally {
    await stop(srv);
    if (variants[variant].storeKind === 'redis') await dropRedisKeys(srv.child.pid);
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const results = [];
for (const variant of variantNames) {
  if (!variants[variant]) throw new Error(`unknown variant ${variant}; known: ${Object.keys(variants).join(', ')}`);
  const samples = Object.fromEntries(scenarios.map((s) => [s, { es: [], sess: [] }]));
  const meter = await storeCpuMeter(variants[variant].storeKind);
  for (let round = 0; round < rounds; round++) {
    for (const scenario of scenarios) {
      const order = round % 2 === 0 ? ['express-session', 'sess'] : ['sess', 'express-session'];
      for (const impl of order) samples[scenario][impl === 'sess' ? 'sess' : 'es'].push(await measure(impl, variant, scenario, meter));
    }
  }
  await meter.close();
  for (const scenario of scenarios) {
    const es = samples[scenario].es;
    const ss = samples[scenario].sess;
    const row = {
      variant,
      scenario,
      esRps: Math.round(median(es.map((x) => x.rps))),
      sessRps: Math.round(median(ss.map((x) => x.rps))),
      esP99: median(es.map((x) => x.p99)),
      sessP99: median(ss.map((x) => x.p99)),
      esCpuUs: Math.round(median(es.map((x) => x.cpuPerReq))),
      sessCpuUs: Math.round(median(ss.map((x) => x.cpuPerReq))),
    };
    row.cpuRatio = Number((row.esCpuUs / row.sessCpuUs).toFixed(2));
    // The store server's CPU per request (null for in-process stores): capacity every app instance shares.
    const storeCpu = (xs) => (xs.some((x) => x.storeCpuPerReq === null) ? null : Number(median(xs.map((x) => x.storeCpuPerReq)).toFixed(1)));
    row.esStoreCpuUs = storeCpu(es);
    row.sessStoreCpuUs = storeCpu(ss);
    row.ratio = Number((row.sessRps / row.esRps).toFixed(2));
    // Each round measures the two back to back: the spread of those paired ratios shows the noise.
    const paired = es.map((e, i) => ss[i].rps / e.rps);
    row.roundRatios = paired.map((x) => Number(x.toFixed(2)));
    row.ratioMin = Math.min(...row.roundRatios);
    row.ratioMax = Math.max(...row.roundRatios);
    results.push(row);
  }
}

const report = { kind: 'side-by-side', date: new Date().toISOString(), duration, rounds, connections, node: process.version, cpus: os.availableParallelism(), results };
if (outFile) {
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const path = await import('node:path');
  mkdirSync(path.dirname(path.resolve(outFile)), { recursive: true });
  writeFileSync(outFile, JSON.stringify(report, null, 2) + '\n');
}
if (asJson) {
  console.log(JSON.stringify(report, null, 2));
} else {
  console.log(`node ${process.version}, ${connections} connections, ${rounds} interleaved rounds of ${duration}s per scenario and implementation (medians)`);
  console.log('req/s ratio = sess req/s ÷ express-session req/s; cpu ratio = express-session server CPU per request ÷ sess\'s (higher is better for sess)');
  console.log('round ratios = the lowest and highest sess ÷ express-session of the rounds (each round measures both back to back)');
  console.log('store cpu = the store server\'s own CPU per request (Redis INFO, else /proc), es → sess; - for in-process stores');
  console.log('variant                   scenario   es req/s  p99ms | sess req/s  p99ms | ratio | round ratios | es cpu µs/req  sess cpu µs/req  cpu ratio | store cpu µs/req');
  for (const r of results) {
    const spread = `${r.ratioMin.toFixed(2)}–${r.ratioMax.toFixed(2)}`;
    const store = r.esStoreCpuUs === null ? '-' : `${r.esStoreCpuUs} → ${r.sessStoreCpuUs}`;
    console.log(
      `${r.variant.padEnd(25)} ${r.scenario.padEnd(9)} ${String(r.esRps).padStart(9)} ${String(r.esP99).padStart(6)} | ${String(r.sessRps).padStart(10)} ${String(r.sessP99).padStart(6)} | ${r.ratio.toFixed(2)}x | ${spread.padStart(12)} | ${String(r.esCpuUs).padStart(13)} ${String(r.sessCpuUs).padStart(16)} ${(r.cpuRatio.toFixed(2) + 'x').padStart(10)} | ${store}`,
    );
  }
}
