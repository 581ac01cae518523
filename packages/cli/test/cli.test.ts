/**
 * The `sess` command (the built binary) against every store on its real server: count, list, show, revoke,
 * revoke-user, prune, export, import, and migrate to the next store in the list, with ids as tags and values
 * redacted unless asked, and JSON for scripts.
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { idTag } from '@sess/core';
import { serviceTest } from '../../conformance/test/services';
import { record, sess, sid, targets, tmp, type Target } from './helpers';

const dir = tmp('stores');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const all = targets(dir);
const ns = (t: Target, what: string) => `cli_${what}_${t.name}_${process.pid}`;

async function seed(t: Target, space: string): Promise<string[]> {
  const store = t.open(space);
  try {
    const ids = [sid(`${t.name}a`), sid(`${t.name}b`), sid(`${t.name}c`), sid(`${t.name}d`)];
    const users = ['u1', 'u1', 'u2', null];
    for (const [i, id] of ids.entries()) {
      const { record: r, ctx } = record({ secret: `value-${i}`, userId: users[i], n: i });
      await store.set(id, r, ctx(users[i]));
    }
    return ids;
  } finally {
    await store.close();
  }
}

const lines = (out: string) => out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));

for (const [i, t] of all.entries()) {
  describe(`sess on ${t.name}`, () => {
    const svc = t.service ? serviceTest(t.service) : { available: true, missing: () => undefined };
    if (!svc.available) {
      svc.missing(`the sess command on ${t.name}`);
      return;
    }
    const space = ns(t, 'ops');
    afterAll(() => t.drop(space));

    test('count, list, show, revoke, revoke-user, prune', async () => {
      const ids = await seed(t, space);
      const url = t.url(space);

      const count = await sess(['count', url, '--json']);
      expect(count.stderr).toBe('');
      expect(JSON.parse(count.stdout)).toMatchObject({ count: 4 });
      expect((await sess(['count', url])).stdout).toMatch(/^4 live sessions in /);

      // Ids as tags, values redacted, unless asked.
      const listed = await sess(['list', url, '--json']);
      expect(listed.code).toBe(0);
      const rows = lines(listed.stdout);
      expect(rows.map((r) => r.id).sort()).toEqual(ids.map(idTag).sort());
      for (const id of ids) expect(listed.stdout).not.toContain(id);
      expect(listed.stdout).not.toContain('value-');
      expect(rows.find((r) => r.id === idTag(ids[0]!))).toMatchObject({ userKey: 'u1', data: { secret: '[redacted]', userId: '[redacted]', n: '[redacted]' } });
      expect(rows[0].remainingMs).toBeGreaterThan(3_500_000);
      const human = await sess(['list', url]);
      expect(human.stdout.split('\n')[0]).toMatch(/^TAG\s+EXPIRES\s+LEFT\s+USER\s+DATA/);
      expect(human.stdout).toContain(idTag(ids[0]!));
      expect(human.stderr).toMatch(/4 sessions; values redacted/);
      const revealed = lines((await sess(['list', url, '--json', '--reveal-ids', '--reveal'])).stdout);
      expect(revealed.map((r) => r.id).sort()).toEqual([...ids].sort());
      expect(revealed.find((r) => r.id === ids[2])!.data).toEqual({ secret: 'value-2', userId: 'u2', n: 2 });
      expect(lines((await sess(['list', url, '--json', '--limit', '2'])).stdout)).toHaveLength(2);

      const byTag = await sess(['show', url, idTag(ids[3]!), '--json']);
      expect(JSON.parse(byTag.stdout)).toMatchObject({ id: idTag(ids[3]!), data: { secret: '[redacted]' } });
      const byId = await sess(['show', url, ids[3]!, '--json', '--reveal']);
      expect(JSON.parse(byId.stdout)).toMatchObject({ data: { secret: 'value-3' } });
      const missing = await sess(['show', url, sid('nothere')]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).not.toContain(sid('nothere'));

      expect(JSON.parse((await sess(['revoke', url, idTag(ids[3]!), '--json'])).stdout)).toMatchObject({ revoked: 1 });
      expect(JSON.parse((await sess(['revoke-user', url, 'u1', '--json'])).stdout)).toMatchObject({ userKey: 'u1', revoked: 2 });
      const left = lines((await sess(['list', url, '--json', '--reveal-ids'])).stdout).map((r) => r.id);
      expect(left).toEqual([ids[2]]);

      // A user of a store without the index, by a session field.
      expect(JSON.parse((await sess(['revoke-user', url, 'u2', '--field', 'userId', '--json'])).stdout)).toMatchObject({ revoked: 1 });
      expect(JSON.parse((await sess(['count', url, '--json'])).stdout).count).toBe(0);

      const pruned = await sess(['prune', url, '--json']);
      expect(pruned.code).toBe(0);
      expect(JSON.parse(pruned.stdout)).toHaveProperty('pruned');
    });

    test('export and import: JSON Lines with the remaining lifetime, streamed; expired lines skipped and counted', async () => {
      const from = ns(t, 'exp');
      const into = ns(t, 'imp');
      try {
        const ids = await seed(t, from);
        const file = path.join(dir, `${t.name}.jsonl`);
        const exported = await sess(['export', t.url(from), file]);
        expect(exported.code).toBe(0);
        expect(exported.stderr).toMatch(/exported 4 sessions/);
        expect(statSync(file).mode & 0o777).toBe(0o600);
        const dump = lines(readFileSync(file, 'utf8'));
        expect(dump.map((l) => l.id).sort()).toEqual([...ids].sort());
        for (const l of dump) expect(l.remainingMs).toBeGreaterThan(3_500_000);
        expect(dump.find((l) => l.id === ids[0])).toMatchObject({ userKey: 'u1', session: { secret: 'value-0' } });
        // An expired line and a broken one, as a stale or damaged backup would have.
        const stale = { ...dump[0], id: sid('stale'), expires: Date.now() - 1000, remainingMs: -1000 };
        writeFileSync(file, readFileSync(file, 'utf8') + JSON.stringify(stale) + '\n');
        const imported = await sess(['import', t.url(into), file, '--json']);
        expect(JSON.parse(imported.stdout)).toMatchObject({ imported: 4, expired: 1, invalid: 0, failed: 0 });
        expect(imported.code).toBe(0);
        const back = t.open(into);
        try {
          const got = await back.get(ids[1]!);
          expect(got).toMatchObject({ secret: 'value-1', userId: 'u1' });
          expect(Math.abs(Date.parse(got!.cookie.expires as string) - dump.find((l) => l.id === ids[1])!.expires)).toBeLessThanOrEqual(1000);
          if (back.capabilities.userIndex && back.listUser) expect((await back.listUser('u1')).map((s) => s.id).sort()).toEqual([ids[0], ids[1]].sort());
          expect(await back.get(sid('stale'))).toBeNull();
        } finally {
          await back.close();
        }
        // From stdin to the store, and to stdout from it.
        const piped = await sess(['export', t.url(into)]);
        expect(lines(piped.stdout)).toHaveLength(4);
        const again = await sess(['import', t.url(into), '--json'], { input: piped.stdout + 'not json\n' });
        expect(JSON.parse(again.stdout)).toMatchObject({ imported: 4, invalid: 1 });
        expect(again.code).toBe(1);
      } finally {
        await t.drop(from);
        await t.drop(into);
      }
    });

    const next = all[(i + 1) % all.length]!;
    const nextSvc = next.service ? serviceTest(next.service) : { available: true };
    if (nextSvc.available) {
      test(`migrate to ${next.name}: every live session with its remaining lifetime, verified, idempotent`, async () => {
        const from = ns(t, 'mfrom');
        const to = ns(next, 'mto');
        try {
          const ids = await seed(t, from);
          // One already there (a live app wrote it in dual-write): never overwritten.
          const target = next.open(to);
          const mine = record({ secret: 'newer' });
          await target.set(ids[0]!, mine.record, mine.ctx('u1'));
          await target.close();
          const run = await sess(['migrate', '--from', t.url(from), '--to', next.url(to), '--verify', '--json']);
          expect(run.stderr).toBe('');
          expect(JSON.parse(run.stdout)).toMatchObject({ copied: 3, present: 1, expired: 0, failed: 0, verified: 3, mismatched: 0 });
          const human = await sess(['migrate', '--from', t.url(from), '--to', next.url(to)]);
          expect(human.stdout).toMatch(/0 copied, 4 already there, 0 skipped as expired, 0 destroyed meanwhile, 0 failed/);
          const back = next.open(to);
          try {
            expect(await back.get(ids[0]!)).toMatchObject({ secret: 'newer' });
            const moved = await back.get(ids[2]!);
            expect(moved).toMatchObject({ secret: 'value-2', userId: 'u2' });
            expect(Date.parse(moved!.cookie.expires as string) - Date.now()).toBeGreaterThan(3_500_000);
          } finally {
            await back.close();
          }
        } finally {
          await t.drop(from);
          await next.drop(to);
        }
      });
    }
  });
}

describe('errors and input', () => {
  test('usage: --help, an unknown command, an unknown scheme, a bad URL option, a missing store', async () => {
    const help = await sess(['--help']);
    expect(help.code).toBe(0);
    for (const c of ['count', 'list', 'show', 'revoke', 'revoke-user', 'prune', 'export', 'import', 'migrate']) expect(help.stdout).toContain(`  ${c} `);
    expect((await sess(['frobnicate'])).stderr).toMatch(/unknown command "frobnicate"/);
    const scheme = await sess(['count', 'memcached://127.0.0.1:11211']);
    expect(scheme.code).toBe(2);
    expect(scheme.stderr).toMatch(/unknown store scheme "memcached:\/\/"/);
    expect((await sess(['count', 'redis://127.0.0.1:6379?scanCount=many'])).stderr).toMatch(/scanCount must be a number/);
    expect((await sess(['count'])).stderr).toMatch(/no store given/);
    expect((await sess(['migrate', '--from', 'file://./a'])).stderr).toMatch(/both stores are needed/);
    expect((await sess(['count', 'file://./x?dri=1'])).stderr).toMatch(/takes no option "dri"/);
    const badUrl = await sess(['count', 'postgres://app:hunter2@db:notaport/app']);
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toMatch(/is not a valid URL/);
    expect(badUrl.stderr).not.toContain('hunter2');
    expect((await sess(['count', 'sessions'])).stderr).toMatch(/is not a store URL/);
  });

  test('an unreachable server, without its password in the message', async () => {
    for (const url of ['redis://:hunter2@127.0.0.1:1', 'postgres://app:hunter2@127.0.0.1:1/app', 'mysql://app:hunter2@127.0.0.1:1/app', 'mongodb://app:hunter2@127.0.0.1:1/app']) {
      const r = await sess(['count', url, '--timeout', '1500']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^sess: cannot reach the store at \w+:\/\/(app)?:\*\*\*@127\.0\.0\.1:1/);
      expect(r.stderr).not.toContain('hunter2');
    }
  });

  const pgSvc = serviceTest('pg');
  if (pgSvc.available) {
    test('a missing table is named, and not created by a read', async () => {
      const r = await sess(['count', `${require('../../conformance/test/services').urls.pg}?tableName=cli_missing_${process.pid}`]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/the session table does not exist at postgres:.*createTableIfMissing=true/);
      const again = await sess(['count', `${require('../../conformance/test/services').urls.pg}?tableName=cli_missing_${process.pid}`]);
      expect(again.stderr).toMatch(/does not exist/);
    });
  } else pgSvc.missing('the missing-table message');

  test('a module as the store: an express-session store through the adapter, and --config', async () => {
    const folder = tmp('module');
    const mod = path.join(folder, 'store.cjs');
    writeFileSync(
      mod,
      `const session = require(${JSON.stringify(require.resolve('express-session'))});
       class MapStore extends session.Store {
         constructor() { super(); this.m = new Map(); const e = new Date(Date.now() + 60000).toISOString();
           for (const id of ['aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb']) this.m.set(id, JSON.stringify({ cookie: { expires: e, originalMaxAge: 60000 }, userId: 'u' })); }
         get(sid, cb) { const v = this.m.get(sid); cb(null, v ? JSON.parse(v) : null); }
         set(sid, s, cb) { this.m.set(sid, JSON.stringify(s)); cb(); }
         destroy(sid, cb) { this.m.delete(sid); cb(); }
         all(cb) { cb(null, Object.fromEntries([...this.m].map(([k, v]) => [k, JSON.parse(v)]))); }
       }
       module.exports = () => new MapStore();`,
    );
    const r = await sess(['count', mod, '--json']);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toMatchObject({ count: 2 });
    const viaConfig = await sess(['list', '--config', mod, '--json']);
    expect(lines(viaConfig.stdout).map((x) => x.id)).toEqual([idTag('a'.repeat(32)), idTag('b'.repeat(32))]);
    const bad = path.join(folder, 'bad.mjs');
    writeFileSync(bad, 'export default 42;\n');
    expect((await sess(['count', bad])).stderr).toMatch(/must export a session store/);
    rmSync(folder, { recursive: true, force: true });
  });

  test('migrate on a terminal shows a progress bar (cli-progress) and ends with the summary', async () => {
    if (!existsSync('/usr/bin/script')) throw new Error('util-linux script(1) is needed to give the command a terminal');
    const folder = tmp('tty');
    const { FileStore } = require('@sess/store-file') as typeof import('@sess/store-file');
    const src = new FileStore({ dir: path.join(folder, 'a'), reapInterval: 0 });
    for (let n = 0; n < 50; n++) {
      const r = record({ n });
      await src.set(sid(`tty${n}`), r.record, r.ctx());
    }
    await src.close();
    const cmd = `${process.execPath} ${require('./helpers').BIN} migrate --from file://${folder}/a --to file://${folder}/b`;
    const r = require('node:child_process').spawnSync('/usr/bin/script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/migrating \[[\u2588\u2591 ]+\] 100% 50\/50/);
    expect(r.stdout).toMatch(/50 copied, 0 already there/);
    rmSync(folder, { recursive: true, force: true });
  });
});
