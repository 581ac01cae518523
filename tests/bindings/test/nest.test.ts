/**
 * The NestJS recipe of docs/bindings.md, on both of Nest's platforms: Express (`app.use(session(...))` from
 * @sess/core) and Fastify (`app.register(sessFastify, ...)`), Nest's own `@Session()` decorator reading the
 * session, on one store shared by the two apps: a login on the Express-platform app is a login on the
 * Fastify-platform one.
 */
import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { Controller, Get, Module, Post, Session } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { INestApplication } from '@nestjs/common';
import session, { MemoryStore } from '@sess/core';
import sessFastify from '@sess/fastify';
import { Browser } from './apps';

type Data = { user?: string; visits?: number };

@Controller()
class AccountController {
  @Post('login')
  async login(@Session() s: Data & { regenerate(): Promise<void> }): Promise<string> {
    await s.regenerate();
    return 'in';
  }

  @Post('name')
  name(@Session() s: Data): string {
    s.user = 'ann';
    return 'named';
  }

  @Get('me')
  me(@Session() s: Data): Data {
    s.visits = (s.visits ?? 0) + 1;
    return { user: s.user, visits: s.visits };
  }
}

@Module({ controllers: [AccountController] })
class AppModule {}

const options = (store: MemoryStore) => ({ secret: 'nest secret', resave: false, saveUninitialized: false, store, cookie: { maxAge: 600_000 } });

describe('NestJS recipe: Express and Fastify platforms on one store', () => {
  const store = new MemoryStore();
  let express: INestApplication;
  let fastify: NestFastifyApplication;
  let eUrl: string;
  let fUrl: string;

  beforeAll(async () => {
    express = await NestFactory.create(AppModule, { logger: false });
    express.use(session(options(store)));
    await express.listen(0, '127.0.0.1');
    eUrl = (await express.getUrl()).replace('[::1]', '127.0.0.1');

    fastify = await NestFactory.create<NestFastifyApplication>(AppModule, new FastifyAdapter(), { logger: false });
    await fastify.register(sessFastify as never, options(store));
    await fastify.listen(0, '127.0.0.1');
    fUrl = (await fastify.getUrl()).replace('[::1]', '127.0.0.1');
  });
  afterAll(async () => {
    await express?.close();
    await fastify?.close();
  });

  const me = async (b: Browser, url: string) => JSON.parse((await b.request(url, 'GET', '/me')).body) as Data;

  test('Express platform: log in, then @Session() reads and changes the session', async () => {
    const b = new Browser();
    expect((await b.request(eUrl, 'POST', '/login')).body).toBe('in');
    await b.request(eUrl, 'POST', '/name');
    expect(await me(b, eUrl)).toEqual({ user: 'ann', visits: 1 });
    expect(await me(b, eUrl)).toEqual({ user: 'ann', visits: 2 });
  });

  test('Fastify platform, and the two apps share the session', async () => {
    const b = new Browser();
    await b.request(fUrl, 'POST', '/login');
    await b.request(fUrl, 'POST', '/name');
    expect(await me(b, fUrl)).toEqual({ user: 'ann', visits: 1 });
    expect(await me(b, eUrl)).toEqual({ user: 'ann', visits: 2 });
    expect(await me(b, fUrl)).toEqual({ user: 'ann', visits: 3 });
  });
});
