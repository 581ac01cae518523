// Child of cluster.mjs: a node:cluster primary with `workers` workers, each the benchmarked app (buildApp) on one
// shared port, as an app scaled over a machine's cores runs. Reports the port once every worker listens.
import cluster from 'node:cluster';
import { buildApp } from './apps.mjs';
import { answerParent } from './proc.mjs';
import { variants } from './variants.mjs';

const [impl, variantName, workersArg] = process.argv.slice(2);
if (cluster.isPrimary) {
  const workers = Number(workersArg);
  const net = await import('node:net');
  const probe = net.createServer();
  await new Promise((r) => probe.listen(0, '127.0.0.1', r));
  const port = probe.address().port;
  await new Promise((r) => probe.close(r));
  let listening = 0;
  let served = 0;
  const cpu = new Map();
  for (let i = 0; i < workers; i++) {
    // One key prefix for every worker (variants.mjs): they serve one app's sessions.
    const w = cluster.fork({ SESS_BENCH_PORT: String(port), SESS_BENCH_KEY_PID: String(process.pid) });
    w.on('message', (m) => {
      if (m.listening && ++listening === workers) process.send({ port });
      if (m.cpu) {
        cpu.set(w.id, m.cpu);
        served += m.served;
      }
    });
  }
  process.on('message', (m) => {
    if (m === 'mark') {
      for (const w of Object.values(cluster.workers)) w.send('mark');
      process.send({ marked: true });
    } else if (m === 'cpu') {
      cpu.clear();
      served = 0;
      for (const w of Object.values(cluster.workers)) w.send('cpu');
      const wait = setInterval(() => {
        if (cpu.size < workers) return;
        clearInterval(wait);
        process.send({ cpuMicros: [...cpu.values()].reduce((a, b) => a + b, 0), served });
      }, 10);
    } else if (m === 'stop') {
      for (const w of Object.values(cluster.workers)) w.kill();
      process.exit(0);
    }
  });
} else {
  const app = await buildApp(impl, variants[variantName]);
  const server = app.listen(Number(process.env.SESS_BENCH_PORT), '127.0.0.1', () => process.send({ listening: true }));
  // The primary sums the workers' CPU and requests ('cpu' answers as { cpu, served }).
  answerParent(server, { reply: (m) => process.send(m.cpuMicros === undefined ? m : { cpu: m.cpuMicros, served: m.served }) });
}
