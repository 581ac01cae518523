/**
 * Session sharing with socket.io and ws, as their own docs show it for express-session: the session
 * middleware run on the handshake request (`io.engine.use(mw)`; `mw(socket.request, {}, next)`; ws's
 * `sessionParser(request, {}, cb)` on upgrade), and `sessionStore.get(sid, cb)` from a handler. Real servers,
 * real clients.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Server as IoServer } from 'socket.io';
import { io as ioClient, type Socket as ClientSocket } from 'socket.io-client';
import { WebSocket, WebSocketServer } from 'ws';
import session, { MemoryStore } from '@sess/core';
import { RedisStore } from '@sess/store-redis';
import { serviceTest, urls } from '../../../packages/conformance/test/services';
import { Browser } from './client';

type Data = { user?: string; count?: number };
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function appWith(store: object) {
  const mw = session({ secret: 'rt secret', resave: false, saveUninitialized: false, store: store as never, cookie: { maxAge: 60_000 } });
  const app = express();
  app.use(mw);
  app.post('/login', (req, res) => {
    (req.session as unknown as Data).user = 'alice';
    res.send('in');
  });
  app.get('/count', (req, res) => res.send(String((req.session as unknown as Data).count ?? 0)));
  return { mw, app };
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function connected(socket: ClientSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
}

function ask<T>(socket: ClientSocket, event: string): Promise<T> {
  return new Promise((resolve) => socket.emit(event, (answer: T) => resolve(answer)));
}

async function socketIoRoundTrip(store: object, transports: Array<'polling' | 'websocket'>, attach: 'engine' | 'io.use') {
  const { mw, app } = appWith(store);
  const server = http.createServer(app);
  const io = new IoServer(server);
  cleanups.push(() => void io.close());
  if (attach === 'engine') io.engine.use(mw);
  else io.use((socket, next) => mw(socket.request as express.Request, {} as express.Response, next as express.NextFunction));
  io.on('connection', (socket) => {
    const req = socket.request as unknown as express.Request;
    socket.on('whoami', (cb: (u: unknown) => void) => cb((req.session as unknown as Data | undefined)?.user ?? null));
    // Writing from a socket handler: reload, change, save, as socket.io's docs show.
    socket.on('increment', (cb: (n: unknown) => void) => {
      req.session.reload((err?: unknown) => {
        if (err) return cb(`error: ${String(err)}`);
        const s = req.session as unknown as Data;
        s.count = (s.count ?? 0) + 1;
        req.session.save((e?: unknown) => cb(e ? `error: ${String(e)}` : s.count));
      });
    });
    // Reading the store directly, express-session's way.
    socket.on('fromStore', (cb: (u: unknown) => void) => {
      (req.sessionStore as { get(sid: string, cb: (err: unknown, sess?: Data | null) => void): void }).get(req.sessionID, (err, sess) =>
        cb(err ? `error: ${String(err)}` : (sess?.user ?? null)),
      );
    });
  });
  const url = await listen(server);
  const browser = new Browser(url);
  await browser.request('POST', '/login');
  const socket = ioClient(url, { transports, extraHeaders: { cookie: browser.cookie! }, reconnection: false, forceNew: true });
  cleanups.push(() => void socket.disconnect());
  await connected(socket);
  expect(await ask(socket, 'whoami')).toBe('alice');
  expect(await ask(socket, 'fromStore')).toBe('alice');
  expect(await ask(socket, 'increment')).toBe(1);
  expect(await ask(socket, 'increment')).toBe(2);
  // The HTTP side sees what the socket saved.
  expect((await browser.request('GET', '/count')).body).toBe('2');

  // Without a session cookie the handshake still works, with no user.
  const anon = ioClient(url, { transports, reconnection: false, forceNew: true });
  cleanups.push(() => void anon.disconnect());
  await connected(anon);
  expect(await ask(anon, 'whoami')).toBeNull();
}

async function wsRoundTrip(store: object) {
  const { mw, app } = appWith(store);
  const server = http.createServer(app);
  const wss = new WebSocketServer({ noServer: true });
  cleanups.push(() => void wss.close());
  // ws's README: run the session parser on the upgrade request with an empty response object.
  server.on('upgrade', (request, socket, head) => {
    mw(request as express.Request, {} as express.Response, () => {
      const user = ((request as express.Request).session as unknown as Data | undefined)?.user;
      if (!user) {
        socket.write('HTTP/1.1 401 Unauthorized\r\n\r\n');
        socket.destroy();
        return;
      }
      wss.handleUpgrade(request, socket, head, (ws) => {
        ws.on('message', () => {
          const req = request as express.Request;
          (req.sessionStore as { get(sid: string, cb: (err: unknown, sess?: Data | null) => void): void }).get(req.sessionID, (err, sess) =>
            ws.send(err ? 'error' : `${user}:${sess?.user}`),
          );
        });
      });
    });
  });
  const url = await listen(server);
  const browser = new Browser(url);
  await browser.request('POST', '/login');
  const ws = new WebSocket(url.replace('http', 'ws'), { headers: { cookie: browser.cookie! } });
  cleanups.push(() => ws.close());
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.send('hi');
  expect(await new Promise((resolve) => ws.once('message', (m) => resolve(String(m))))).toBe('alice:alice');

  const refused = new WebSocket(url.replace('http', 'ws'));
  const status = await new Promise((resolve) => refused.once('unexpected-response', (_req, res) => resolve(res.statusCode)));
  expect(status).toBe(401);
}

describe('socket.io and ws share the session (MemoryStore)', () => {
  test('socket.io: io.engine.use(session) over polling then websocket', () => socketIoRoundTrip(new MemoryStore(), ['polling', 'websocket'], 'engine'));
  test('socket.io: io.engine.use(session) over websocket only', () => socketIoRoundTrip(new MemoryStore(), ['websocket'], 'engine'));
  test('socket.io: io.use((socket, next) => session(socket.request, {}, next))', () => socketIoRoundTrip(new MemoryStore(), ['polling', 'websocket'], 'io.use'));
  test('ws: sessionParser(request, {}, cb) on upgrade', () => wsRoundTrip(new MemoryStore()));
});

const redis = serviceTest('redis');
describe('socket.io and ws share the session (RedisStore)', () => {
  if (!redis.available) {
    redis.missing('socket.io and ws on RedisStore');
    return;
  }
  const make = () => {
    const store = new RedisStore({ url: urls.redis, prefix: `rt${process.pid}:` });
    cleanups.push(() => store.close());
    return store;
  };
  test('socket.io: io.engine.use(session)', () => socketIoRoundTrip(make(), ['polling', 'websocket'], 'engine'));
  test('ws: sessionParser(request, {}, cb) on upgrade', () => wsRoundTrip(make()));
});
