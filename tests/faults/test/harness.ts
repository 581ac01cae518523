/**
 * The fault harness: app instances in their own processes behind a round-robin proxy, under continuous mixed
 * traffic (log in, read, increment a counter, log out), counting what a fault costs: failed requests by status,
 * the longest request, acknowledged increments missing afterwards, sessions that came back after a logout, and
 * the time until requests succeed again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface Apps {
  url: string;
  stop(): Promise<void>;
}

/** `n` instances of the mixed app (fixtures/mixed-app.cjs) with `env`, behind a round-robin proxy. */
export async function startApps(env: Record<string, string>, n = 3): Promise<Apps> {
  const children: ChildProcess[] = [];
  const ports = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<number>((resolve, reject) => {
          const child = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'mixed-app.cjs')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
          children.push(child);
          child.stdout!.on('data', (d: Buffer) => {
            const m = /listening (\d+)/.exec(String(d));
            if (m) resolve(Number(m[1]));
          });
          child.once('exit', (code) => reject(new Error(`app instance exited with ${code}`)));
        }),
    ),
  );
  let next = 0;
  // An idle connection is closed here before the app's server closes it (Node's keepAliveTimeout, 5 s): reused at
  // the moment the server closes it, a request fails with ECONNRESET (a 502 here, seen once in CI ~5 s into a
  // failover scenario: an outage the apps did not have). Node's agent follows the server's Keep-Alive hint only
  // under a timeout of its own.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64, timeout: 4000 });
  const proxy = http.createServer((req, res) => {
    const port = ports[next++ % ports.length]!;
    const up = http.request({ host: '127.0.0.1', port, path: req.url, method: req.method, headers: req.headers, agent }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end('bad gateway');
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    async stop() {
      proxy.closeAllConnections();
      await new Promise<void>((r) => proxy.close(() => r()));
      agent.destroy();
      await Promise.all(children.map((c) => new Promise<void>((r) => (c.exitCode !== null ? r() : (c.once('exit', () => r()), c.kill('SIGTERM'))))));
    },
  };
}

export interface TrafficReport {
  requests: number;
  failed: Record<string, number>;
  longestMs: number;
  /** Acknowledged increments not in the store afterwards. */
  lostWrites: number;
  /**
   * Acknowledged sessions the store no longer had (a 401 for a cookie from a login that succeeded: the user is
   * logged out without asking); their acknowledged increments count in lostWrites too.
   */
  lostSessions: number;
  /** Requests with a logged-out session's cookie that found it again. */
  resurrected: number;
  /** From the first failure to the last one: how long requests failed. */
  outageMs: number;
  /** Failures by status and the error code the app answered with (e.g. `503 SESS_STORE_TIMEOUT`). */
  codes: Record<string, number>;
  /** Failures per second since `mark()` (index = second), to see when an outage ended. */
  perSecond: number[];
  acknowledgedWrites: number;
}

interface User {
  cookie?: string;
  /** A logout of this cookie failed: the store may have deleted the session all the same (a 401 is then no loss). */
  logoutFailed?: boolean;
  /** This cookie's session was found gone (counted in lostSessions). */
  lost?: boolean;
  acked: number;
  loggedOut: string[];
}

/** Mixed traffic from `users` virtual users until `stop()`; then the report, after checking every user's counter. */
export function traffic(url: string, users = 24): { stop(): Promise<TrafficReport>; mark(): void } {
  const report: TrafficReport = { requests: 0, failed: {}, longestMs: 0, lostWrites: 0, lostSessions: 0, resurrected: 0, outageMs: 0, acknowledgedWrites: 0, codes: {}, perSecond: [] };
  let running = true;
  let firstFailure = 0;
  let lastFailure = 0;
  let marked = Date.now();
  const call = async (p: string, cookie?: string): Promise<{ status: number; body: string; setCookie?: string }> => {
    const started = performance.now();
    try {
      const res = await fetch(url + p, { headers: cookie ? { cookie } : {}, signal: AbortSignal.timeout(30_000) });
      const body = await res.text();
      return { status: res.status, body, setCookie: res.headers.getSetCookie().find((c) => c.startsWith('connect.sid='))?.split(';')[0] };
    } catch {
      return { status: 0, body: '' };
    } finally {
      report.requests++;
      report.longestMs = Math.max(report.longestMs, performance.now() - started);
    }
  };
  const failedWith = (status: number, body = '') => {
    report.failed[status] = (report.failed[status] ?? 0) + 1;
    const code = `${status}${/^[A-Z_]{3,40}$/.test(body) ? ` ${body}` : ''}`;
    report.codes[code] = (report.codes[code] ?? 0) + 1;
    const now = Date.now();
    const second = Math.floor((now - marked) / 1000);
    if (second >= 0) report.perSecond[second] = (report.perSecond[second] ?? 0) + 1;
    if (!firstFailure) firstFailure = now;
    lastFailure = now;
  };
  /** A 401 for `u`'s cookie: its session is gone, counted once per cookie (none after a failed logout). */
  const sessionGone = (u: User) => {
    if (u.logoutFailed || u.lost) return;
    report.lostSessions++;
    report.lostWrites += u.acked;
    u.acked = 0;
    u.lost = true;
  };
  const all: User[] = Array.from({ length: users }, () => ({ acked: 0, loggedOut: [] }));
  const loops = all.map(async (u) => {
    while (running) {
      if (!u.cookie) {
        const r = await call('/login');
        if (r.status === 200 && r.setCookie) {
          u.cookie = r.setCookie;
          u.acked = 0;
          u.logoutFailed = false;
          u.lost = false;
        } else failedWith(r.status, r.body);
        continue;
      }
      const dice = Math.random();
      if (dice < 0.03) {
        const r = await call('/logout', u.cookie);
        if (r.status === 200) {
          u.loggedOut.push(u.cookie);
          u.cookie = undefined;
        } else {
          // A failed write's outcome is unknown: with waitReplicas, the delete may have landed and only its WAIT failed.
          u.logoutFailed = true;
          failedWith(r.status, r.body);
        }
      } else {
        const r = await call(dice < 0.35 ? '/read' : '/inc', u.cookie);
        if (r.status === 200 && dice >= 0.35) {
          u.acked = Number(r.body);
          report.acknowledgedWrites++;
        } else if (r.status === 401) {
          // The user goes on with the cookie, as a browser would until the app sends it to log in.
          sessionGone(u);
          if (!u.logoutFailed) failedWith(r.status, r.body);
        } else if (r.status !== 200) failedWith(r.status, r.body);
      }
      if (u.loggedOut.length && Math.random() < 0.05) {
        const r = await call('/read', u.loggedOut[Math.floor(Math.random() * u.loggedOut.length)]);
        if (r.status === 200) report.resurrected++;
      }
    }
  });
  return {
    mark() {
      firstFailure = lastFailure = 0;
      marked = Date.now();
      report.perSecond = [];
    },
    async stop() {
      running = false;
      await Promise.all(loops);
      // Read back once the store answers again (a 5xx or no answer is the outage, not an answer).
      const settled = async (cookie: string) => {
        for (let i = 0; ; i++) {
          const r = await call('/read', cookie);
          if (r.status === 200 || r.status === 401 || i === 100) return r;
          await new Promise((res) => setTimeout(res, 200));
        }
      };
      for (const u of all) {
        if (u.cookie) {
          const r = await settled(u.cookie);
          if (r.status === 401) sessionGone(u);
          else {
            const stored = r.status === 200 ? Number(r.body) : 0;
            if (stored < u.acked) report.lostWrites += u.acked - stored;
          }
        }
        for (const old of u.loggedOut) if ((await settled(old)).status === 200) report.resurrected++;
      }
      report.outageMs = firstFailure ? lastFailure - firstFailure : 0;
      return report;
    },
  };
}

/** A report on one line: requests, failures by status, the outage, the longest request, writes lost, logouts undone. */
export function summary(r: TrafficReport): string {
  const failed = Object.entries(r.codes).map(([code, n]) => `${n}x ${code === '0' ? 'no answer' : code}`).join(', ') || 'none';
  const seconds = r.outageMs ? ` (failures per second from the mark: ${Array.from(r.perSecond, (n) => n ?? 0).join(' ')})` : '';
  return `${r.requests} requests, failed: ${failed}; requests failed for ${r.outageMs} ms${seconds}; longest request ${Math.round(r.longestMs)} ms; ${r.acknowledgedWrites} acknowledged writes, ${r.lostWrites} lost; ${r.lostSessions} acknowledged sessions lost; ${r.resurrected} sessions back after logout`;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
