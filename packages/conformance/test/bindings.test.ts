/**
 * The behaviour suite for bindings proves it can fail: a minimal honest binding on `node:http` (the engine's
 * API used as a binding author would) passes every case, and bindings broken on purpose are caught by the
 * cases that should catch them.
 */
import { describe, expect, test } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CsrfError, SessError, createSessionEngine, csrfTokenFor, csrfValid, flashFor, type Session, type SessionCarrier, type SessionOptions } from '@sess/core';
import { bindingCases, runBindingCase, type BindingFactory } from '@sess/conformance';

type Flaw = 'none' | 'no-rolling' | 'write-after-response' | 'drops-changes';

/** A binding of the engine to `node:http`, with one flaw (or none). */
function nodeBinding(flaw: Flaw): BindingFactory {
  return async (options: SessionOptions) => {
    const engine = createSessionEngine(options);
    const server = http.createServer((req, res) => {
      const carrier: SessionCarrier = {};
      const sr = engine.open({ carrier, request: req, secure: () => false, onClose: (fn) => res.once('close', fn) }, engine.cookieOptions(req));
      const fail = (err: unknown) => {
        res.statusCode = SessError.isInstance(err) ? err.status : 500;
        res.end(JSON.stringify({ code: (err as SessError).code ?? null }));
      };
      sr.load(engine.readCookie(req.headers.cookie), (err) => {
        if (err) return fail(err);
        void handle(req, carrier).then((body) => {
          if (body instanceof Error) return fail(body);
          const send = () => {
            const header = sr.setCookie();
            if (header && !(flaw === 'no-rolling' && req.headers.cookie)) res.setHeader('Set-Cookie', header);
            res.end(body);
          };
          if (flaw === 'drops-changes') return send();
          if (flaw === 'write-after-response') {
            send();
            setTimeout(() => sr.commit(() => undefined), 50);
            return;
          }
          if (!sr.commit((e) => (e ? fail(e) : send()))) send();
        }, fail);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () =>
        new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
    };
  };
}

/** The suite's routes. */
async function handle(req: http.IncomingMessage, carrier: SessionCarrier): Promise<string | Error> {
  const url = new URL(req.url!, 'http://x');
  const s = carrier.session as (Session & Record<string, unknown>) | null | undefined;
  const data = (x: object | null | undefined) => JSON.stringify(Object.fromEntries(Object.entries(x ?? {}).filter(([k]) => k !== 'cookie')));
  switch (url.pathname) {
    case '/me':
      return data(carrier.session);
    case '/noop':
      return 'ok';
    case '/set':
      for (const [k, v] of url.searchParams) s![k] = v;
      return 'set';
    case '/incr':
      s!.n = (Number(s!.n) || 0) + 1;
      return String(s!.n);
    case '/login':
      await s!.regenerate();
      (carrier.session as unknown as Record<string, unknown>).user = 'ann';
      return 'in';
    case '/rotate':
      await s!.rotate();
      return 'rotated';
    case '/logout':
      await s!.destroy();
      return 'out';
    case '/unset':
      carrier.session = null;
      return 'unset';
    case '/flash': {
      const flash = flashFor(() => carrier.session as unknown as Record<string, unknown>);
      if (req.method === 'POST') {
        flash('info', url.searchParams.get('m')!);
        return 'queued';
      }
      return JSON.stringify(flash('info'));
    }
    case '/csrf':
      if (req.method === 'GET') return csrfTokenFor(carrier.session as unknown as Record<string, unknown>);
      return csrfValid(carrier.session as unknown as Record<string, unknown>, req.headers['x-csrf-token']) ? 'ok' : new CsrfError();
  }
  return 'unknown';
}

const run = async (flaw: Flaw, id: string) => runBindingCase(nodeBinding(flaw), bindingCases.find((c) => c.id === id)!, { unset: true, writesBeforeResponse: true });

describe('the behaviour suite for bindings', () => {
  test('a minimal honest binding on node:http passes every case', async () => {
    const failed = [];
    for (const c of bindingCases) {
      const r = await runBindingCase(nodeBinding('none'), c, { unset: true, writesBeforeResponse: true });
      if (r.status !== 'passed') failed.push(r);
    }
    expect(failed).toEqual([]);
  }, 60_000);

  test('a binding that sends the cookie only to requests without one fails the decision table (rolling, a regenerated id)', async () => {
    expect((await run('no-rolling', 'decision---om')).status).toBe('failed');
    expect((await run('no-rolling', 'decision-----')).status).toBe('failed');
  });

  test('a binding that writes after the response fails stored-before-response', async () => {
    const r = await run('write-after-response', 'stored-before-response');
    expect(r).toMatchObject({ status: 'failed', reason: expect.stringMatching(/response came before the store write/) });
  });

  test('a binding that never commits fails the decision table', async () => {
    const r = await run('drops-changes', 'decision-----');
    expect(r).toMatchObject({ status: 'failed', reason: expect.stringMatching(/disagree/) });
  });
});
