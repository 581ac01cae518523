#!/usr/bin/env node
// Several processes: the same app under node:cluster with 1 and with 2 workers, sess (recommended options) and the
// incumbent, on Redis and PostgreSQL (clients created by the app, as the READMEs show). Reads and writes of one
// session, 20 connections. Not pinned: the workers, the load generator and the store share the machine's cores.
//   node src/cluster.mjs [--variants redis-client-recommended,pg-client-recommended] [--workers 1,2] [--rounds 2]
//                        [--duration 3] [--out results/cluster.json]
import autocannon from 'autocannon';
import { fork } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { writeJson } from './scale-stores.mjs';
import { ask, option, stop } from './proc.mjs';
import { storeCpuMeter } from './store-cpu.mjs';
import { variants } from './variants.mjs';
import { dropRedisKeys } from './redis-keys.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => option(args, name, dflt);
const variantNames = opt('variants', 'redis-client-recommended,pg-client-recommended').split(',');
const workerCounts = opt('workers', '1,2').split(',').map(Number);
const rounds = Number(opt('rounds', 2));
const duration = Number(opt('duration', 3));
const connections = Number(opt('connections', 20));
const outFile = opt('out', fileURLToPath(new URL('../results/cluster.json', import.meta.url)));
const serverPath = fileURLToPath(new URL('./cluster-server.mjs', import.meta.url));

function start(impl, variant, workers) {
  return new Promise((resolve, reject) => {
    const child = fork(serverPath, [impl, variant, String(workers)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('message', (m) => resolve({ child, url: `http://127.0.0.1:${m.port}` }));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${impl} cluster exited with ${code}`)));
  });
}
const cannon = (url, path, headers, seconds) =>
  new Promise((resolve, reject) => autocannon({ url: url + path, connections, duration: seconds, headers }, (err, r) => (err ? reject(err) : resolve(r))));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const results = [];
for (const variant of variantNames) {
  const meter = await storeCpuMeter(variants[variant].storeKind);
  for (const scenario of ['read', 'write']) {
    for (const workers of workerCounts) {
      const samples = { es: [], sess: [] };
      for (let r = 0; r < rounds; r++) {
        for (const impl of r % 2 === 0 ? ['express-session', 'sess'] : ['sess', 'express-session']) {
          const srv = await start(impl, variant, workers);
          try {
            const res = await fetch(srv.url + '/create');
            const cookie = res.headers.getSetCookie().find((c) => c.startsWith('sid=')).split(';')[0];
            // Every worker reads the session (one app's sessions, whichever worker answers).
            for (let i = 0; i < 2 * workers; i++) {
              const body = await (await fetch(srv.url + '/read', { headers: { cookie } })).text();
              if (body !== 'hello 42') throw new Error(`${impl} ${variant}: a worker did not read the session (${JSON.stringify(body)})`);
            }
            await cannon(srv.url, '/' + scenario, { cookie }, 1);
            await ask(srv.child, 'mark');
            const before = await meter.read();
            const out = await cannon(srv.url, '/' + scenario, { cookie }, duration);
            const after = await meter.read();
            const cpu = await ask(srv.child, 'cpu');
            if (out.non2xx || out.errors) throw new Error(`${impl} ${variant} ${scenario}: ${out.non2xx} non-2xx, ${out.errors} errors`);
            const served = Math.max(1, cpu.served);
            samples[impl === 'sess' ? 'sess' : 'es'].push({ rps: out.requests.average, p99: out.latency.p99, cpuUs: cpu.cpuMicros / served, storeCpuUs: before === null ? null : (after - before) / served });
          } finally {
            await stop(srv);
            if (variants[variant].storeKind === 'redis') await dropRedisKeys(srv.child.pid);
          }
        }
      }
      const med = (side, k) => (samples[side].some((x) => x[k] === null) ? null : median(samples[side].map((x) => x[k])));
      const row = { variant, scenario, workers, esRps: Math.round(med('es', 'rps')), sessRps: Math.round(med('sess', 'rps')), esP99: med('es', 'p99'), sessP99: med('sess', 'p99'), esCpuUs: Math.round(med('es', 'cpuUs')), sessCpuUs: Math.round(med('sess', 'cpuUs')), esStoreCpuUs: med('es', 'storeCpuUs'), sessStoreCpuUs: med('sess', 'storeCpuUs') };
      row.ratio = Number((row.sessRps / row.esRps).toFixed(2));
      console.error(`cluster: ${JSON.stringify(row)}`);
      results.push(row);
    }
  }
  await meter.close();
}
writeJson(outFile, { kind: 'cluster', date: new Date().toISOString(), node: process.version, cpus: os.availableParallelism(), rounds, duration, connections, results });
console.log('variant                    scenario workers | es req/s | sess req/s | ratio | sess scaling (n workers ÷ 1)');
for (const r of results) {
  const one = results.find((x) => x.variant === r.variant && x.scenario === r.scenario && x.workers === 1);
  console.log(`${r.variant.padEnd(26)} ${r.scenario.padEnd(8)} ${String(r.workers).padStart(7)} | ${String(r.esRps).padStart(8)} | ${String(r.sessRps).padStart(10)} | ${r.ratio.toFixed(2)}x | ${one ? (r.sessRps / one.sessRps).toFixed(2) + 'x' : ''}`);
}
console.log(`written to ${outFile}`);
