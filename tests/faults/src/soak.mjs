#!/usr/bin/env node
// The soak: mixed traffic over many sessions for a long time, the app's Redis connection cut every interval,
// then: heap and RSS growth as a slope (MB per minute, after a GC), leaked sockets, timers or listeners (handles
// by type at the end against the start), and the p99 of the last minute against the first.
//   node src/soak.mjs [--minutes 15] [--sessions 10000] [--cut-every 60] [--concurrency 16] [--json]
/* global AbortSignal */
import { fork } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes('--' + name) ? Number(args[args.indexOf('--' + name) + 1]) : dflt);
const minutes = opt('minutes', 15);
const sessions = opt('sessions', 10_000);
const cutEvery = opt('cut-every', 60) * 1000;
const concurrency = opt('concurrency', 16);
const asJson = args.includes('--json');
const redisUrl = new URL(process.env.SESS_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
const here = path.dirname(fileURLToPath(import.meta.url));
const log = (...a) => !asJson && console.error(...a);

// A proxy to Redis whose connections can all be cut at once.
const sockets = new Set();
const proxy = net.createServer((down) => {
  const up = net.connect(Number(redisUrl.port || 6379), redisUrl.hostname);
  for (const s of [down, up]) {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  }
  down.pipe(up);
  up.pipe(down);
});
await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
const cut = () => {
  for (const s of sockets) s.destroy();
};

const child = fork(path.join(here, 'soak-app.cjs'), [], { execArgv: ['--expose-gc'], env: { ...process.env, SESS_SOAK_REDIS_PORT: String(proxy.address().port) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const port = await new Promise((r) => child.once('message', (m) => r(m.port)));
const url = `http://127.0.0.1:${port}`;
const stats = () => new Promise((r) => {
  const on = (m) => {
    if (m && m.heapUsed !== undefined) {
      child.off('message', on);
      r(m);
    }
  };
  child.on('message', on);
  child.send('stats');
});

log(`soak: creating ${sessions} sessions…`);
const cookies = [];
for (let i = 0; i < sessions; i += 50) {
  await Promise.all(Array.from({ length: Math.min(50, sessions - i) }, async () => {
    const r = await fetch(url + '/login');
    await r.text();
    cookies.push(r.headers.getSetCookie()[0].split(';')[0]);
  }));
}

const start = Date.now();
const end = start + minutes * 60_000;
const perMinute = [];
const samples = [];
let failed = 0;
let requests = 0;
let cuts = 0;
const baseline = await stats();
samples.push({ t: 0, ...baseline });
const cutter = setInterval(() => {
  cut();
  cuts++;
}, cutEvery);
const sampler = setInterval(async () => samples.push({ t: (Date.now() - start) / 60_000, ...(await stats()) }), Math.min(10_000, (minutes * 60_000) / 12));
await Promise.all(Array.from({ length: concurrency }, async () => {
  while (Date.now() < end) {
    const minute = Math.floor((Date.now() - start) / 60_000);
    const cookie = cookies[Math.floor(Math.random() * cookies.length)];
    const t = performance.now();
    let ok;
    try {
      const r = await fetch(url + (Math.random() < 0.5 ? '/inc' : '/read'), { headers: { cookie }, signal: AbortSignal.timeout(10_000) });
      await r.text();
      ok = r.status === 200;
    } catch {
      ok = false;
    }
    requests++;
    if (!ok) failed++;
    (perMinute[minute] ??= []).push(performance.now() - t);
  }
}));
clearInterval(cutter);
clearInterval(sampler);
await new Promise((r) => setTimeout(r, 2000)); // let sockets and timers settle
const final = await stats();
samples.push({ t: (Date.now() - start) / 60_000, ...final });
child.send('stop');
await new Promise((r) => child.once('exit', r));
// The soak's sessions would outlive it by their lifetime, slowing every SCAN on this Redis: drop them.
{
  const { Redis } = await import('ioredis');
  const r = new Redis(redisUrl.href);
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', `soak${child.pid}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await r.unlink(...keys);
  } while (cursor !== '0');
  r.disconnect();
}
cut();
proxy.close();

const p99 = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.99))] ?? 0;
};
const slope = (key) => {
  const pts = samples.slice(1).map((s) => [s.t, s[key] / 1048576]);
  const n = pts.length;
  const mx = pts.reduce((a, p) => a + p[0], 0) / n;
  const my = pts.reduce((a, p) => a + p[1], 0) / n;
  const num = pts.reduce((a, p) => a + (p[0] - mx) * (p[1] - my), 0);
  const den = pts.reduce((a, p) => a + (p[0] - mx) ** 2, 0);
  return den ? num / den : 0;
};
const minutesMeasured = perMinute.filter(Boolean);
const handleTypes = new Set([...Object.keys(baseline.handles), ...Object.keys(final.handles)]);
const handles = Object.fromEntries([...handleTypes].map((k) => [k, { start: baseline.handles[k] ?? 0, end: final.handles[k] ?? 0 }]));
const result = {
  minutes,
  sessions,
  cuts,
  requests,
  failed,
  heapSlopeMbPerMinute: Number(slope('heapUsed').toFixed(3)),
  rssSlopeMbPerMinute: Number(slope('rss').toFixed(3)),
  heapMb: { start: Math.round(baseline.heapUsed / 1048576), end: Math.round(final.heapUsed / 1048576) },
  rssMb: { start: Math.round(baseline.rss / 1048576), end: Math.round(final.rss / 1048576) },
  handles,
  listeners: { start: baseline.listeners, end: final.listeners },
  p99FirstMinuteMs: Number(p99(minutesMeasured[0] ?? []).toFixed(1)),
  p99LastMinuteMs: Number(p99(minutesMeasured.at(-1) ?? []).toFixed(1)),
};
if (asJson) console.log(JSON.stringify(result, null, 2));
else {
  console.log(`soak: ${minutes} min, ${sessions} sessions, Redis connection cut ${cuts} times; ${requests} requests, ${failed} failed`);
  console.log(`heap ${result.heapMb.start} -> ${result.heapMb.end} MB (slope ${result.heapSlopeMbPerMinute} MB/min), RSS ${result.rssMb.start} -> ${result.rssMb.end} MB (slope ${result.rssSlopeMbPerMinute} MB/min)`);
  console.log(`handles at start -> end: ${Object.entries(handles).map(([k, v]) => `${k} ${v.start} -> ${v.end}`).join(', ')}; Redis client listeners ${result.listeners.start} -> ${result.listeners.end}`);
  console.log(`p99 first minute ${result.p99FirstMinuteMs} ms, last minute ${result.p99LastMinuteMs} ms`);
}
