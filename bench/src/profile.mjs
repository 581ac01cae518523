#!/usr/bin/env node
// Where one benchmarked app's CPU goes: the app of frameworks.mjs (framework, implementation, store) under
// autocannon load, its server run with --cpu-prof, and the profile summed by package (sess's own code, the
// framework, Node's http, the garbage collector, the kernel's writev) and by frame (self time). The share of
// each, and its µs per request (the process's CPU per request, times the share).
//   node src/profile.mjs <framework> <impl> <store> <scenario> [--duration 5] [--connections 50] [--top 30] [--json]
//   e.g. node src/profile.mjs express sess memory read
import autocannon from 'autocannon';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ask, forkServer, option, pinDriver, stop } from './proc.mjs';
import { dropRedisKeys } from './redis-keys.mjs';

const args = process.argv.slice(2);
const positional = args.filter((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--')));
const [framework, impl, store, scenario] = positional;
if (!scenario) {
  console.error('usage: node src/profile.mjs <express|fastify|koa|hono> <bare|incumbent|sess> <store> <read|write|create> [--duration 5]');
  process.exit(2);
}
const duration = Number(option(args, 'duration', 5));
const connections = Number(option(args, 'connections', 50));
const top = Number(option(args, 'top', 30));
const asJson = args.includes('--json');
const serverPath = fileURLToPath(new URL('./framework-server.mjs', import.meta.url));

pinDriver(import.meta.url, args);

const dir = mkdtempSync(path.join(os.tmpdir(), 'sess-profile-'));
const nodeArgs = ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=200'];
const child = forkServer(serverPath, [framework, impl, store], nodeArgs);
const port = await new Promise((resolve, reject) => {
  child.once('message', (m) => resolve(m.port));
  child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
});
const url = `http://127.0.0.1:${port}`;
let headers = {};
if (scenario !== 'create' && impl !== 'bare') {
  const res = await fetch(url + '/create');
  headers = { cookie: res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ') };
}
const load = (seconds) =>
  new Promise((resolve, reject) => autocannon({ url: url + '/' + scenario, connections, duration: seconds, headers }, (err, r) => (err ? reject(err) : resolve(r))));
await load(1);
await ask(child, 'mark');
const r = await load(duration);
const cpu = await ask(child, 'cpu');
await stop({ child });
if (store === 'redis') await dropRedisKeys(child.pid);

const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
rmSync(dir, { recursive: true, force: true });

// Self time per node, then summed by package and by frame.
const self = new Map();
for (let i = 0; i < profile.samples.length; i++) self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0));
const packageOf = (url, name) => {
  if (!url) return name.startsWith('(') ? name : 'native: ' + name;
  const m = url.match(/\/packages\/([^/]+)\//);
  if (m && !url.includes('node_modules')) return '@sess/' + m[1];
  if (url.includes('node_modules/')) {
    const rest = url.slice(url.lastIndexOf('node_modules/') + 13).split('/');
    return rest[0].startsWith('@') ? rest[0] + '/' + rest[1] : rest[0];
  }
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  return 'app';
};
const byPackage = new Map();
const byFrame = new Map();
let total = 0;
let idle = 0;
for (const n of profile.nodes) {
  const t = self.get(n.id) ?? 0;
  if (n.callFrame.functionName === '(idle)') {
    idle += t;
    continue;
  }
  total += t;
  const { functionName, url, lineNumber } = n.callFrame;
  const pkg = packageOf(url, functionName);
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + t);
  const frame = `${functionName || '(anonymous)'} ${url ? url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/packages\//, 'packages/') + ':' + (lineNumber + 1) : ''}`;
  byFrame.set(frame, (byFrame.get(frame) ?? 0) + t);
}
const cpuUs = cpu.cpuMicros / Math.max(1, cpu.served);
const rows = (m, n) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, t]) => ({ name, share: t / total, us: (cpuUs * t) / total }));
const report = { framework, impl, store, scenario, rps: Math.round(r.requests.average), cpuUsPerRequest: Math.round(cpuUs), idleShare: idle / (idle + total), byPackage: rows(byPackage, 25), byFrame: rows(byFrame, top) };
if (asJson) console.log(JSON.stringify(report, null, 2));
else {
  console.log(`${framework} ${impl} ${store} ${scenario}: ${report.rps} req/s, ${report.cpuUsPerRequest} µs of CPU per request (shares are of the busy samples)`);
  for (const [title, list] of [['by package', report.byPackage], ['by frame (self time)', report.byFrame]]) {
    console.log('\n' + title);
    for (const x of list) console.log(`${(100 * x.share).toFixed(1).padStart(5)}%  ${x.us.toFixed(1).padStart(6)} µs  ${x.name}`);
  }
}
