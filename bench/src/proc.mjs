// What the bench's drivers (run.mjs, scale.mjs, cluster.mjs) and their server processes share: command-line
// options, whether servers can be pinned to a core, asking a server process over IPC, and the server side of
// that conversation (mark, cpu, stop).
import { execFileSync, fork, spawnSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

/** `--name value` from the command line, or `dflt`. */
export function option(args, name, dflt) {
  const i = args.indexOf('--' + name);
  return i === -1 ? dflt : args[i + 1];
}

/** Whether `taskset` can pin the load generator and the server to different cores. */
export const hasTaskset = (() => {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return os.availableParallelism() >= 2;
  } catch {
    return false;
  }
})();

/**
 * Run this driver (`moduleUrl`, its `import.meta.url`) again on core 0 and exit with its status, when taskset
 * can pin it (once: the re-run is marked SESS_BENCH_PINNED); the servers go on core 1 ({@link forkServer}), so
 * the load generator and the app never compete for one core.
 */
export function pinDriver(moduleUrl, args) {
  if (!hasTaskset || process.env.SESS_BENCH_PINNED) return;
  const r = spawnSync('taskset', ['-c', '0', process.execPath, ...process.execArgv, fileURLToPath(moduleUrl), ...args], { stdio: 'inherit', env: { ...process.env, SESS_BENCH_PINNED: '1' } });
  process.exit(r.status ?? 1);
}

/** Fork a benchmarked server (`path` with `argv`, node flags `nodeArgs`), on core 1 when taskset can pin it. */
export function forkServer(path, argv, nodeArgs = []) {
  const stdio = ['ignore', 'inherit', 'inherit', 'ipc'];
  return hasTaskset
    ? fork(path, argv, { stdio, execPath: 'taskset', execArgv: ['-c', '1', process.execPath, ...nodeArgs] })
    : fork(path, argv, { stdio, execArgv: nodeArgs });
}

/** Send `what` to a server process and resolve with its answer. */
export const ask = (child, what) =>
  new Promise((resolve) => {
    child.once('message', resolve);
    child.send(what);
  });

/** Stop a server process and wait for it to exit. */
export const stop = ({ child }) =>
  new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.once('exit', () => resolve());
    child.send('stop');
  });

/**
 * The server side: count `server`'s requests and answer 'mark' (start counting CPU and requests), 'cpu' (CPU µs
 * and requests since the mark) and 'stop'. `reply` sends an answer (process.send by default); `extra` handles
 * any other message.
 */
export function answerParent(server, { reply = (m) => process.send(m), extra } = {}) {
  let mark = process.cpuUsage();
  let served = 0;
  server.on('request', () => served++);
  process.on('message', (m) => {
    if (m === 'mark') {
      mark = process.cpuUsage();
      served = 0;
      reply({ marked: true });
    } else if (m === 'cpu') {
      const u = process.cpuUsage(mark);
      reply({ cpuMicros: u.user + u.system, served });
    } else if (m === 'stop') server.close(() => process.exit(0));
    else extra?.(m);
  });
}
