// What the bench's drivers (run.mjs, scale.mjs, cluster.mjs) and their server processes share: command-line
// options, whether servers can be pinned to a core, asking a server process over IPC, and the server side of
// that conversation (mark, cpu, stop).
import { execFileSync } from 'node:child_process';
import os from 'node:os';

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
