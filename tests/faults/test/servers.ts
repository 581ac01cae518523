/**
 * Servers of the fault scenarios' own, on free ports with their data in a temporary folder, so a restart never
 * touches the servers the rest of the tests share: PostgreSQL (initdb as the postgres user), MariaDB
 * (mariadb-install-db), and FerretDB (the build scripts/services.sh makes).
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface OwnServer {
  url: string;
  /** Stop it the way an operator restarts it (fast shutdown), and start it again; resolves when it is up. */
  restart(): Promise<{ downMs: number }>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function answers(port: number, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.end();
        r(true);
      });
      s.on('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing answers on ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const exitOf = (p: ChildProcess) => new Promise<void>((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.once('exit', () => r())));

function pgBin(name: string): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const v = readdirSync(base).sort().pop();
  const bin = v && path.join(base, v, 'bin', name);
  return bin && existsSync(bin) ? bin : undefined;
}

export const can = {
  pg: () => pgBin('pg_ctl') !== undefined && process.getuid?.() === 0,
  mariadb: () => existsSync('/usr/sbin/mariadbd') && existsSync('/usr/bin/mariadb-install-db'),
  ferretdb: () => existsSync(path.join(__dirname, '..', '..', '..', '.cache', 'ferretdb', 'ferretdb')),
};

/** A PostgreSQL of our own: initdb (trust auth), pg_ctl start; restart is pg_ctl restart -m fast. */
export async function ownPostgres(): Promise<OwnServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sess-faults-pg-'));
  chownSync(dir, Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })));
  const port = await freePort();
  const asPostgres = (bin: string, args: string[]) => execFileSync('runuser', ['-u', 'postgres', '--', bin, ...args], { stdio: 'pipe' });
  asPostgres(pgBin('initdb')!, ['-D', path.join(dir, 'data'), '-A', 'trust', '-U', 'postgres']);
  const ctl = (...args: string[]) => asPostgres(pgBin('pg_ctl')!, ['-D', path.join(dir, 'data'), '-l', path.join(dir, 'log'), '-w', ...args]);
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=on`;
  ctl('-o', opts, 'start');
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async restart() {
      const t = Date.now();
      ctl('-m', 'fast', '-o', opts, 'restart');
      await answers(port);
      return { downMs: Date.now() - t };
    },
    async stop() {
      try {
        ctl('-m', 'immediate', 'stop');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** A server process we start and restart ourselves: restart is SIGTERM (a clean, fast shutdown) and start again. */
async function processServer(url: string, port: number, dir: string, start: () => ChildProcess): Promise<OwnServer> {
  let proc = start();
  await answers(port);
  return {
    url,
    async restart() {
      const t = Date.now();
      proc.kill('SIGTERM');
      // A server that has not stopped 15 s after SIGTERM (a graceful shutdown waiting on its clients' connections,
      // on a loaded machine) is killed: the scenario is the server gone and started again, not its shutdown.
      const killer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exitOf(proc);
      clearTimeout(killer);
      proc = start();
      await answers(port);
      return { downMs: Date.now() - t };
    },
    async stop() {
      proc.kill('SIGKILL');
      await exitOf(proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A MariaDB of our own: mariadb-install-db, mariadbd. */
export async function ownMariaDb(): Promise<OwnServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sess-faults-maria-'));
  const port = await freePort();
  execFileSync('mariadb-install-db', ['--no-defaults', `--datadir=${path.join(dir, 'data')}`, '--user=root', '--auth-root-authentication-method=normal', '--skip-test-db'], { stdio: 'pipe' });
  const args = ['--no-defaults', `--datadir=${path.join(dir, 'data')}`, `--port=${port}`, '--bind-address=127.0.0.1', `--socket=${path.join(dir, 'sock')}`, `--pid-file=${path.join(dir, 'pid')}`, '--user=root', '--innodb-flush-log-at-trx-commit=1', `--log-error=${path.join(dir, 'err.log')}`];
  const server = await processServer(`mysql://root@127.0.0.1:${port}/test`, port, dir, () => spawn('/usr/sbin/mariadbd', args, { stdio: 'ignore' }));
  execFileSync('mariadb', ['--no-defaults', '-h', '127.0.0.1', '-P', String(port), '-u', 'root', '-e', 'CREATE DATABASE IF NOT EXISTS test'], { stdio: 'pipe' });
  return server;
}

/** A FerretDB of our own (the build scripts/services.sh makes), its data in a folder. */
export async function ownFerretDb(): Promise<OwnServer> {
  const bin = path.join(__dirname, '..', '..', '..', '.cache', 'ferretdb', 'ferretdb');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sess-faults-ferret-'));
  const port = await freePort();
  return processServer(`mongodb://127.0.0.1:${port}/test`, port, dir, () => spawn(bin, ['-listen', `127.0.0.1:${port}`, '-dir', dir], { stdio: 'ignore' }));
}

/**
 * What a failover took: until a replica was promoted, and until every primary had `replicas` replicas linked and
 * caught up again (what a write with `waitReplicas: replicas` needs to be acknowledged; the promoted one's
 * remaining replicas must re-link to it first, a full sync when a partial one is refused).
 */
export interface FailoverTimes {
  promotedMs: number;
  writableMs: number;
  /**
   * The last time, in ms after the kill, the servers were seen not writable (as for `writableMs`), watched from the
   * failover until the server is stopped: a replica that drops and re-syncs later is the servers' outage too.
   */
  lastLapseMs(): number;
}

/** redis-cli without blocking the test's event loop (the traffic runs in this process). */
function askAsync(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve) => execFile('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8', timeout: 5000 }, (err, out) => resolve(err ? '' : out.trim())));
}

/** Polls `writable` every 100 ms until `stop()`; the last time, in ms after `t`, it was not. */
function watchLapses(t: number, writableMs: number, writable: () => Promise<boolean>): { lastLapseMs(): number; stop(): Promise<void> } {
  let last = writableMs;
  let running = true;
  const loop = (async () => {
    while (running) {
      const ok = await writable();
      if (!ok && running) last = Date.now() - t;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    lastLapseMs: () => last,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/** Whether a primary's INFO replication lists at least `replicas` replicas online. */
function hasOnlineReplicas(info: string, replicas: number): boolean {
  return info.split('\n').filter((l) => /^slave\d+:.*state=online/.test(l)).length >= replicas;
}

/**
 * A Redis primary with `replicas` replicas (2 by default) and three Sentinels of our own; `failover()` SIGKILLs the
 * primary and, with `rejoin`, starts it again once a replica is promoted, as a replica of the new primary. (Started
 * as a primary, empty, it answered clients as one until Sentinel made it a replica, and their sessions were gone.)
 */
export async function ownSentinel(name: string, opts: { replicas?: number; rejoin?: boolean } = {}): Promise<{ url: string; failover(replicas?: number): Promise<FailoverTimes>; stop(): Promise<void> }> {
  const replicaCount = opts.replicas ?? 2;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sess-faults-sentinel-'));
  const procs: ChildProcess[] = [];
  const redis = (port: number, ...extra: string[]) => {
    // No diskless-sync delay (Redis 7 waits 5 s for more replicas before a full sync): a sync is the servers' own time.
    const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--repl-diskless-sync-delay', '0', '--dir', dir, ...extra], { stdio: 'ignore' });
    procs.push(p);
    return p;
  };
  const primaryPort = await freePort();
  const primary = redis(primaryPort);
  await answers(primaryPort);
  const replicaPorts: number[] = [];
  for (let i = 0; i < replicaCount; i++) replicaPorts.push(await freePort());
  for (const p of replicaPorts) redis(p, '--replicaof', '127.0.0.1', String(primaryPort));
  const sentinelPorts = [await freePort(), await freePort(), await freePort()];
  for (const [i, p] of sentinelPorts.entries()) {
    const conf = path.join(dir, `sentinel-${i}.conf`);
    require('node:fs').writeFileSync(conf, `port ${p}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor ${name} 127.0.0.1 ${primaryPort} 2\nsentinel down-after-milliseconds ${name} 1000\nsentinel failover-timeout ${name} 5000\nsentinel parallel-syncs ${name} 2\n`);
    const s = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
    procs.push(s);
  }
  for (const p of [...replicaPorts, ...sentinelPorts]) await answers(p);
  const ask = (port: number, ...args: string[]) => execFileSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).trim();
  // Every replica in sync, and every Sentinel knows all of them and the others.
  for (let i = 0; i < 200; i++) {
    const synced = replicaPorts.every((p) => ask(p, 'info', 'replication').includes('master_link_status:up'));
    const known = sentinelPorts.every((p) => ask(p, 'sentinel', 'replicas', name).split('\n').filter((l) => l === 'ip').length === replicaCount && Number(ask(p, 'sentinel', 'master', name).split('\n').at(ask(p, 'sentinel', 'master', name).split('\n').indexOf('num-other-sentinels') + 1)) === 2);
    if (synced && known) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  let watch: ReturnType<typeof watchLapses> | undefined;
  return {
    url: `${sentinelPorts.map((p) => `127.0.0.1:${p}`).join(',')}#${name}`,
    async failover(replicas = 0) {
      const t = Date.now();
      primary.kill('SIGKILL');
      const master = async () => (await askAsync(sentinelPorts[0]!, 'sentinel', 'get-master-addr-by-name', name)).split('\n')[1];
      let promotedMs: number | undefined;
      for (;;) {
        const addr = await master();
        if (addr && Number(addr) !== primaryPort) {
          if (promotedMs === undefined) {
            promotedMs = Date.now() - t;
            if (opts.rejoin) redis(primaryPort, '--replicaof', '127.0.0.1', addr);
          }
          if (hasOnlineReplicas(await askAsync(Number(addr), 'info', 'replication'), replicas)) {
            const writableMs = Date.now() - t;
            watch = watchLapses(t, writableMs, async () => {
              const now = await master();
              return !!now && hasOnlineReplicas(await askAsync(Number(now), 'info', 'replication'), replicas);
            });
            return { promotedMs, writableMs, lastLapseMs: watch.lastLapseMs };
          }
        }
        if (Date.now() - t > 60_000) throw new Error(promotedMs === undefined ? 'no replica was promoted within 60 s' : `the promoted primary had no ${replicas} replica(s) online within 60 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      await watch?.stop();
      for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
      await Promise.all(procs.map(exitOf));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A Redis Cluster of our own: 3 primaries, each with `replicas` replicas; `failover()` SIGKILLs a primary. */
export async function ownCluster(replicas = 2): Promise<{ url: string; failover(replicas?: number): Promise<FailoverTimes>; stop(): Promise<void> }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sess-faults-cluster-'));
  const ports: number[] = [];
  for (let i = 0; i < 3 * (1 + replicas); i++) ports.push(await freePort());
  const procs = new Map<number, ChildProcess>();
  for (const port of ports) {
    procs.set(port, spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '1000'], { stdio: 'ignore' }));
  }
  for (const p of ports) await answers(p);
  execFileSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', String(replicas), '--cluster-yes'], { stdio: 'pipe' });
  const ask = (port: number, ...args: string[]) => execFileSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).trim();
  const healthy = (alive: number[]) => alive.every((p) => ask(p, 'cluster', 'info').includes('cluster_state:ok'));
  const replicasSynced = () => ports.every((p) => !ask(p, 'info', 'replication').includes('role:slave') || ask(p, 'info', 'replication').includes('master_link_status:up'));
  for (let i = 0; i < 300 && !(healthy(ports) && replicasSynced()); i++) await new Promise((r) => setTimeout(r, 100));
  let watch: ReturnType<typeof watchLapses> | undefined;
  return {
    url: ports.map((p) => `127.0.0.1:${p}`).join(','),
    async failover(needed = 0) {
      const victim = ports.find((p) => ask(p, 'info', 'replication').includes('role:master'))!;
      const id = ask(victim, 'cluster', 'myid');
      const t = Date.now();
      procs.get(victim)!.kill('SIGKILL');
      const alive = ports.filter((p) => p !== victim);
      const every = async (test: (p: number) => Promise<boolean>) => (await Promise.all(alive.map(test))).every(Boolean);
      const servesEverySlot = () => every(async (p) => (await askAsync(p, 'cluster', 'info')).includes('cluster_state:ok'));
      // Promoted: the cluster marked the dead primary failed (not just suspected) and serves every slot again.
      const failedOver = async () =>
        (await every(async (p) => (await askAsync(p, 'cluster', 'nodes')).split('\n').some((l) => l.startsWith(id) && / fail[ ,]|,fail /.test(l + ' ') && !l.includes('fail?')))) &&
        (await servesEverySlot());
      const writable = () => every(async (p) => {
        const info = await askAsync(p, 'info', 'replication');
        return info !== '' && (!info.includes('role:master') || hasOnlineReplicas(info, needed));
      });
      let promotedMs: number | undefined;
      for (;;) {
        if (promotedMs === undefined && (await failedOver())) promotedMs = Date.now() - t;
        if (promotedMs !== undefined && (await writable())) {
          const writableMs = Date.now() - t;
          watch = watchLapses(t, writableMs, async () => (await writable()) && (await servesEverySlot()));
          return { promotedMs, writableMs, lastLapseMs: watch.lastLapseMs };
        }
        if (Date.now() - t > 60_000) throw new Error(promotedMs === undefined ? 'the cluster did not recover within 60 s' : `a primary had no ${needed} replica(s) online within 60 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      await watch?.stop();
      for (const p of procs.values()) if (p.exitCode === null) p.kill('SIGKILL');
      await Promise.all([...procs.values()].map(exitOf));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
