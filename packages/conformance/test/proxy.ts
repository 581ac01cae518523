/**
 * A TCP proxy in front of a real database server, for failure tests that must not stop the shared
 * server: `down()` closes every connection and refuses new ones (the server is gone, as after a crash or
 * a stop), `up()` accepts again, `stall()` keeps connections open but forwards nothing (a hung server).
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface Proxy {
  /** The loopback port to connect to. */
  readonly port: number;
  /** Accept and forward connections (again). */
  up(): Promise<void>;
  /** Close every connection (reset) and stop listening. */
  down(): Promise<void>;
  /** Keep connections open, forward nothing, until `resume()`. */
  stall(): void;
  resume(): void;
  close(): Promise<void>;
}

/** A proxy to `target` (host, port), listening on a free loopback port; starts up unless `startDown`. */
export async function startProxy(targetHost: string, targetPort: number, startDown = false): Promise<Proxy> {
  const sockets = new Set<net.Socket>();
  let stalled = false;
  const held: Array<() => void> = [];
  const port = await new Promise<number>((resolve) => {
    const probe = net.createServer();
    probe.listen(0, '127.0.0.1', () => {
      const p = (probe.address() as AddressInfo).port;
      probe.close(() => resolve(p));
    });
  });
  let server: net.Server | null = null;

  const forward = (from: net.Socket, to: net.Socket) => {
    from.on('data', (chunk) => {
      if (stalled) held.push(() => to.write(chunk));
      else to.write(chunk);
    });
  };

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = net.createServer((client) => {
        const upstream = net.connect(targetPort, targetHost);
        sockets.add(client);
        sockets.add(upstream);
        forward(client, upstream);
        forward(upstream, client);
        const end = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on('close', end).on('error', end);
        upstream.on('close', end).on('error', end);
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });

  const proxy: Proxy = {
    port,
    async up() {
      if (!server) await listen();
    },
    async down() {
      const s = server;
      server = null;
      for (const sock of sockets) sock.resetAndDestroy();
      sockets.clear();
      held.length = 0;
      if (s) await new Promise<void>((r) => s.close(() => r()));
    },
    stall() {
      stalled = true;
    },
    resume() {
      stalled = false;
      for (const f of held.splice(0)) f();
    },
    async close() {
      stalled = false;
      await proxy.down();
    },
  };
  if (!startDown) await proxy.up();
  return proxy;
}
