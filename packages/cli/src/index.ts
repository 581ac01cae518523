/**
 * The `sess` command: operate the sessions of any store (count, list, show, revoke, revoke-user, prune,
 * export, import) and move them between stores (migrate). See docs/operating.md.
 */
import { createReadStream, createWriteStream, existsSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { SessError, callEitherWay, copySession, idTag, scanSessions, type CopyResult, type SessionRecord, type StoredSession } from '@sess/core';
import { CliError, openStore, type OpenedStore } from './stores.js';

export { CliError, openStore, openModule, redact } from './stores.js';
export type { OpenedStore, OpenOptions } from './stores.js';

const VERSION: string = (require('../package.json') as { version: string }).version;

const HELP = `sess ${VERSION}: operate the sessions of a store

Usage: sess <command> [options]

Commands:
  count <store>                     how many live sessions
  list <store>                      every live session: id tag, expiry, user, data keys
  show <store> <id|tag>             one session
  revoke <store> <id|tag>           destroy one session (log it out)
  revoke-user <store> <user key>    destroy every session of a user (log them out everywhere)
  prune <store>                     delete expired sessions now
  export <store> [file]             every live session as JSON Lines, with its remaining lifetime (stdout without a file)
  import <store> [file]             restore an export (stdin without a file); expired lines are skipped
  migrate --from <store> --to <store>
                                    copy every live session with its remaining lifetime (idempotent, resumable)

<store> is a URL: redis://, rediss://, postgres://, mysql://, mongodb://, file://<dir>, with the store's
options as query parameters (postgres://host/db?tableName=user_sessions, redis://host?prefix=app:);
or a module path (.js, .mjs, .cjs) whose default export is a store, a function returning one, or { store }
(any express-session store works); or --config <module> instead.

Options:
  --json              machine-readable output (JSON; JSON Lines for list)
  --reveal-ids        show session ids instead of their tags (ids are credentials: handle with care)
  --reveal            show session values instead of redacting them
  --config <module>   the store, from a module (instead of <store>)
  --from, --to        migrate's stores
  --verify            migrate: re-read every copied session from the new store and compare
  --concurrency <n>   import and migrate: operations in flight (default 16)
  --limit <n>         list: at most n sessions
  --field <name>      revoke-user on a store without a per-user index: the session field holding the user key
  --timeout <ms>      how long to wait for a server (default 5000)
  -h, --help          this help; -v, --version the version
`;

/** Where output goes (replaced in tests). */
export interface Io {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream;
}

interface Flags {
  json: boolean;
  reveal: boolean;
  revealIds: boolean;
  verify: boolean;
  concurrency: number;
  limit: number;
  timeoutMs: number;
  field?: string;
  config?: string;
  from?: string;
  to?: string;
}

function write(out: Writable, text: string): Promise<void> | void {
  if (!out.write(text)) return once(out, 'drain').then(() => undefined);
}

const tagOf = (id: string, f: Flags) => (f.revealIds ? id : idTag(id));

function remaining(ms: number | null): string {
  if (ms === null) return '-';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

/** The session's data (no cookie): values redacted unless --reveal. */
function data(record: SessionRecord, f: Flags): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(record)) {
    if (k === 'cookie' || k === '__sess') continue;
    out[k] = f.reveal ? record[k] : '[redacted]';
  }
  return out;
}

function row(s: StoredSession, f: Flags, now: number) {
  return {
    id: tagOf(s.id, f),
    expires: s.expires === null ? null : new Date(s.expires).toISOString(),
    remainingMs: s.expires === null ? null : s.expires - now,
    userKey: s.userKey ?? null,
    data: data(s.record, f),
  };
}

/** Run `fn` over the items with at most `limit` in flight. */
async function pool<T>(items: AsyncIterable<T>, limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const running = new Set<Promise<void>>();
  let failure: unknown;
  for await (const item of items) {
    if (failure !== undefined) break;
    const p = fn(item).catch((err) => void (failure ??= err)).finally(() => running.delete(p));
    running.add(p);
    if (running.size >= limit) await Promise.race(running);
  }
  await Promise.all(running);
  if (failure !== undefined) throw failure;
}

/** Open a store, check that its server answers (with the reason it does not), run `fn`, close it. */
async function withStore<T>(spec: string | undefined, f: Flags, forWrite: boolean, fn: (s: OpenedStore) => Promise<T>): Promise<T> {
  const given = spec ?? f.config;
  if (!given) throw new CliError('no store given: pass a store URL (redis://…, postgres://…, file://./sessions), a module, or --config <module>', 2);
  const opened = await openStore(given, { forWrite, timeoutMs: f.timeoutMs });
  try {
    await probe(opened, f.timeoutMs);
    return await fn(opened);
  } finally {
    await Promise.race([opened.close().catch(() => undefined), new Promise((r) => setTimeout(r, 2000).unref())]);
  }
}

/** A read the store must answer within the timeout: a clear error for an unreachable server or a missing table. */
async function probe(s: OpenedStore, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CliError(`cannot reach the store at ${s.label}: no answer within ${timeoutMs} ms${reason(s.lastError())}`)), timeoutMs);
  });
  try {
    await Promise.race([s.store.get('sess-cli-probe-0000000000000000'), late]);
  } catch (err) {
    throw explain(err, s);
  } finally {
    clearTimeout(timer);
  }
}

function reason(err: unknown): string {
  const codes: string[] = [];
  let e: unknown = err;
  for (let i = 0; i < 5 && e && typeof e === 'object'; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && !code.startsWith('SESS_')) codes.push(code);
    e = (e as { cause?: unknown }).cause ?? (e as { errors?: unknown[] }).errors?.[0];
  }
  return codes.length ? ` (${codes[0]})` : '';
}

/** A store error as the command's user needs it: unreachable, missing table, or the typed error's own words. */
function explain(err: unknown, s: OpenedStore): Error {
  if (err instanceof CliError) return err;
  const chain: Array<{ code?: unknown; message?: unknown }> = [];
  let e: unknown = err;
  for (let i = 0; i < 6 && e && typeof e === 'object'; i++) {
    chain.push(e as never);
    e = (e as { cause?: unknown }).cause;
  }
  const codes = chain.map((x) => x.code);
  const text = chain.map((x) => String(x.message ?? '')).join(' ');
  if (codes.includes('ER_NO_SUCH_TABLE') || codes.includes('42P01') || /does not exist/.test(text)) {
    const hint = s.label.startsWith('mysql') ? 'createDatabaseTable=true' : 'createTableIfMissing=true';
    return new CliError(`the session table does not exist at ${s.label}: check tableName in the URL, or create it (the app does on first use; or add ?${hint})`);
  }
  const net = ['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'EAI_AGAIN'];
  const netCode = [...codes, (s.lastError() as { code?: unknown } | undefined)?.code].find((c) => net.includes(c as string));
  if (netCode || /MongoServerSelectionError|Connection is closed|connect ECONNREFUSED/.test(text)) {
    return new CliError(`cannot reach the store at ${s.label}${netCode ? ` (${netCode as string})` : reason(s.lastError())}`);
  }
  if (codes.includes('28P01') || codes.includes('ER_ACCESS_DENIED_ERROR') || /NOAUTH|WRONGPASS|Authentication failed/i.test(text)) {
    return new CliError(`the store at ${s.label} refused the credentials`);
  }
  if (SessError.isInstance(err)) return new CliError(`${s.label}: ${err.message} [${err.code}]`);
  return new CliError(`${s.label}: ${(err as Error)?.message ?? String(err)}`);
}

/** The session `ref` names: an id, or a tag (`sess list` shows tags) found by a scan. */
async function resolve(s: OpenedStore, ref: string): Promise<StoredSession | null> {
  const record = /^[\w-]{12}$/.test(ref) ? null : await s.store.get(ref).catch(() => null);
  if (record) return { id: ref, record, expires: record.cookie?.expires ? new Date(record.cookie.expires as string).getTime() : null };
  for await (const x of scanSessions(s.store)) if (x.id === ref || idTag(x.id) === ref) return x;
  return null;
}

async function count(spec: string | undefined, f: Flags, io: Io): Promise<number> {
  return withStore(spec, f, false, async (s) => {
    let n = 0;
    if (s.store.length && !s.store.scan) n = await s.store.length();
    else for await (const _ of scanSessions(s.store)) n++;
    await write(io.stdout, f.json ? JSON.stringify({ store: s.label, count: n }) + '\n' : `${n} live session${n === 1 ? '' : 's'} in ${s.label}\n`);
    return 0;
  });
}

async function list(spec: string | undefined, f: Flags, io: Io): Promise<number> {
  return withStore(spec, f, false, async (s) => {
    const now = Date.now();
    let n = 0;
    if (!f.json) await write(io.stdout, `${(f.revealIds ? 'ID' : 'TAG').padEnd(f.revealIds ? 34 : 14)}${'EXPIRES'.padEnd(26)}${'LEFT'.padEnd(7)}${'USER'.padEnd(20)}DATA\n`);
    for await (const x of scanSessions(s.store)) {
      if (n >= f.limit) break;
      n++;
      const r = row(x, f, now);
      if (f.json) await write(io.stdout, JSON.stringify(r) + '\n');
      else {
        const shown = f.reveal ? JSON.stringify(r.data) : Object.keys(r.data).join(', ') || '-';
        await write(io.stdout, `${r.id.padEnd(f.revealIds ? 34 : 14)}${(r.expires ?? '-').padEnd(26)}${remaining(r.remainingMs).padEnd(7)}${String(r.userKey ?? '-').slice(0, 19).padEnd(20)}${shown}\n`);
      }
    }
    if (!f.json) await write(io.stderr, `${n} session${n === 1 ? '' : 's'}${n >= f.limit ? ` (--limit ${f.limit})` : ''}${f.reveal ? '' : '; values redacted (--reveal shows them)'}\n`);
    return 0;
  });
}

async function show(spec: string | undefined, ref: string | undefined, f: Flags, io: Io): Promise<number> {
  if (!ref) throw new CliError('sess show <store> <id|tag>: which session?', 2);
  return withStore(spec, f, false, async (s) => {
    const x = await resolve(s, ref);
    if (!x) {
      await write(io.stderr, `no live session ${f.revealIds ? ref : idTag(ref) === ref ? ref : `tagged ${idTag(ref)}`} in ${s.label}\n`);
      return 1;
    }
    const r = { ...row(x, f, Date.now()), cookie: x.record.cookie };
    const human = { id: r.id, expires: r.expires ?? '-', left: remaining(r.remainingMs), user: r.userKey ?? '-', data: r.data, cookie: r.cookie };
    await write(io.stdout, f.json ? JSON.stringify(r) + '\n' : Object.entries(human).map(([k, v]) => `${k.padEnd(9)}${typeof v === 'string' ? v : JSON.stringify(v)}`).join('\n') + '\n');
    return 0;
  });
}

async function revoke(spec: string | undefined, ref: string | undefined, f: Flags, io: Io): Promise<number> {
  if (!ref) throw new CliError('sess revoke <store> <id|tag>: which session?', 2);
  return withStore(spec, f, false, async (s) => {
    const x = await resolve(s, ref);
    if (x) await s.store.destroy(x.id);
    const out = { store: s.label, revoked: x ? 1 : 0, id: x ? tagOf(x.id, f) : null };
    await write(io.stdout, f.json ? JSON.stringify(out) + '\n' : x ? `revoked session ${out.id}\n` : `no live session matched: nothing revoked\n`);
    return 0;
  });
}

async function revokeUser(spec: string | undefined, userKey: string | undefined, f: Flags, io: Io): Promise<number> {
  if (!userKey) throw new CliError('sess revoke-user <store> <user key>: which user?', 2);
  return withStore(spec, f, false, async (s) => {
    let n = 0;
    if (s.store.capabilities.userIndex && s.store.destroyUser && !f.field) {
      n = await s.store.destroyUser(userKey);
    } else {
      if (!f.field && !s.store.scan) throw new CliError(`${s.label} keeps no per-user index: say which session field holds the user key with --field (e.g. --field userId)`, 2);
      for await (const x of scanSessions(s.store)) {
        const key = f.field ? x.record[f.field] : x.userKey;
        if (key !== undefined && key !== null && String(key) === userKey) {
          await s.store.destroy(x.id);
          n++;
        }
      }
    }
    await write(io.stdout, f.json ? JSON.stringify({ store: s.label, userKey, revoked: n }) + '\n' : `revoked ${n} session${n === 1 ? '' : 's'} of user ${userKey}\n`);
    return 0;
  });
}

async function prune(spec: string | undefined, f: Flags, io: Io): Promise<number> {
  return withStore(spec, f, true, async (s) => {
    const raw = s.raw as unknown as Record<string, unknown>;
    let removed: number | null = null;
    let how: string;
    if (s.label.startsWith('redis') || s.label.startsWith('rediss')) how = 'Redis expires sessions by itself (key TTLs): nothing to prune';
    else {
      const method = ['prune', 'pruneSessions', 'clearExpiredSessions', 'reap'].find((m) => typeof raw[m] === 'function');
      if (!method) throw new CliError(`${s.label} has no way to prune (no prune(), pruneSessions(), clearExpiredSessions() or reap()); its backend may expire sessions by itself`);
      const r = await callEitherWay<unknown>(raw as never, method as never, []);
      removed = typeof r === 'number' ? r : null;
      how = removed === null ? 'expired sessions deleted' : `${removed} expired session${removed === 1 ? '' : 's'} deleted`;
    }
    await write(io.stdout, f.json ? JSON.stringify({ store: s.label, pruned: removed }) + '\n' : how + '\n');
    return 0;
  });
}

interface ExportLine {
  id: string;
  expires: number | null;
  remainingMs: number | null;
  userKey: string | null;
  session: SessionRecord;
}

async function exportTo(spec: string | undefined, file: string | undefined, f: Flags, io: Io): Promise<number> {
  return withStore(spec, f, false, async (s) => {
    // Sessions are credentials: the file is the owner's alone.
    const out = file ? createWriteStream(file, { mode: 0o600 }) : io.stdout;
    let n = 0;
    const now = Date.now();
    for await (const x of scanSessions(s.store)) {
      const line: ExportLine = { id: x.id, expires: x.expires, remainingMs: x.expires === null ? null : x.expires - now, userKey: x.userKey ?? null, session: x.record };
      await write(out, JSON.stringify(line) + '\n');
      n++;
    }
    if (file) {
      (out as NodeJS.WritableStream).end();
      await once(out, 'finish');
    }
    const summary = { store: s.label, exported: n, file: file ?? null };
    await write(io.stderr, f.json ? JSON.stringify(summary) + '\n' : `exported ${n} session${n === 1 ? '' : 's'} from ${s.label}${file ? ` to ${file}` : ''}\n`);
    return 0;
  });
}

async function importFrom(spec: string | undefined, file: string | undefined, f: Flags, io: Io): Promise<number> {
  if (file && !existsSync(file)) throw new CliError(`no such file: ${file}`, 2);
  return withStore(spec, f, true, async (s) => {
    const input = file ? createReadStream(file) : io.stdin;
    const lines = createInterface({ input, crlfDelay: Infinity });
    const counts = { imported: 0, expired: 0, invalid: 0, failed: 0 };
    let lineNo = 0;
    const parsed = (async function* () {
      for await (const text of lines) {
        lineNo++;
        if (!text.trim()) continue;
        yield { text, n: lineNo };
      }
    })();
    await pool(parsed, f.concurrency, async ({ text, n }) => {
      let line: ExportLine;
      try {
        line = JSON.parse(text) as ExportLine;
        if (typeof line.id !== 'string' || !line.session || typeof line.session !== 'object' || typeof line.session.cookie !== 'object') throw new Error('not a session line');
      } catch {
        counts.invalid++;
        if (counts.invalid <= 5) await write(io.stderr, `line ${n}: not a sess export line (skipped)\n`);
        return;
      }
      const expires = line.expires ?? (line.session.cookie.expires ? new Date(line.session.cookie.expires as string).getTime() : Date.now() + 86_400_000);
      if (!(expires > Date.now())) {
        counts.expired++;
        return;
      }
      try {
        await s.store.set(line.id, line.session, { expires: new Date(expires), userKey: line.userKey ?? null });
        counts.imported++;
      } catch (err) {
        counts.failed++;
        if (counts.failed <= 5) await write(io.stderr, `line ${n}: ${explain(err, s).message}\n`);
      }
    });
    const summary = { store: s.label, ...counts };
    await write(f.json ? io.stdout : io.stderr, f.json ? JSON.stringify(summary) + '\n' : `imported ${counts.imported}, skipped ${counts.expired} expired, ${counts.invalid} invalid line${counts.invalid === 1 ? '' : 's'}, ${counts.failed} failed, into ${s.label}\n`);
    return counts.failed > 0 || counts.invalid > 0 ? 1 : 0;
  });
}

/** A count the store answers cheaply (a SQL count, a folder listing), for the progress bar; undefined for Redis. */
async function cheapCount(s: OpenedStore): Promise<number | undefined> {
  const name = (s.raw as { constructor?: { name?: string } }).constructor?.name;
  if (!s.store.length || !['PgStore', 'MySQLStore', 'MongoStore', 'FileStore', 'MemoryStore'].includes(name ?? '')) return undefined;
  return s.store.length().catch(() => undefined);
}

async function migrate(f: Flags, io: Io): Promise<number> {
  if (!f.from || !f.to) throw new CliError('sess migrate --from <store> --to <store>: both stores are needed', 2);
  if (f.from === f.to) throw new CliError('sess migrate: --from and --to are the same store', 2);
  return withStore(f.from, f, false, (from) =>
    withStore(f.to, f, true, async (to) => {
      const counts: Record<CopyResult | 'failed' | 'verified' | 'mismatched', number> = { copied: 0, present: 0, expired: 0, gone: 0, failed: 0, verified: 0, mismatched: 0 };
      const total = await cheapCount(from);
      const showBar = !f.json && io.stderr.isTTY === true;
      let bar: import('cli-progress').SingleBar | undefined;
      if (showBar) {
        const { SingleBar, Presets } = require('cli-progress') as typeof import('cli-progress');
        bar = new SingleBar(
          { stream: io.stderr as NodeJS.WritableStream, format: total === undefined ? 'migrating {value} sessions | {copied} copied, {present} there, {expired} expired, {failed} failed' : 'migrating [{bar}] {percentage}% {value}/{total} | {copied} copied, {present} there, {expired} expired, {failed} failed | eta {eta_formatted}', hideCursor: true },
          Presets.shades_classic,
        );
        bar.start(total ?? 0, 0, counts);
      }
      let done = 0;
      const errors: string[] = [];
      await pool(scanSessions(from.store), f.concurrency, async (x) => {
        try {
          const result = await copySession(from.store, to.store, x);
          counts[result]++;
          if (result === 'copied' && f.verify) {
            const back = await to.store.get(x.id);
            const same = back !== null && JSON.stringify(data(back, { ...f, reveal: true })) === JSON.stringify(data(x.record, { ...f, reveal: true }));
            counts[same ? 'verified' : 'mismatched']++;
          }
        } catch (err) {
          counts.failed++;
          if (errors.length < 5) errors.push(explain(err, to).message);
        }
        done++;
        if (bar) {
          if (total !== undefined && done > total) bar.setTotal(done);
          bar.update(done, counts);
        }
      });
      bar?.stop();
      for (const e of errors) await write(io.stderr, `failed: ${e}\n`);
      const summary = { from: from.label, to: to.label, ...counts };
      if (f.json) await write(io.stdout, JSON.stringify(summary) + '\n');
      else {
        await write(
          io.stdout,
          `migrated ${from.label} -> ${to.label}: ${counts.copied} copied, ${counts.present} already there, ${counts.expired} skipped as expired, ${counts.gone} destroyed meanwhile, ${counts.failed} failed` +
            (f.verify ? `; verified ${counts.verified}, ${counts.mismatched} different` : '') +
            '\n',
        );
      }
      return counts.failed > 0 || counts.mismatched > 0 ? 1 : 0;
    }),
  );
}

/** Run the command line `argv` (without node and the script); resolves the exit code. */
export async function run(argv: string[], io: Io = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin }): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        json: { type: 'boolean' },
        reveal: { type: 'boolean' },
        'reveal-ids': { type: 'boolean' },
        verify: { type: 'boolean' },
        config: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        concurrency: { type: 'string' },
        limit: { type: 'string' },
        field: { type: 'string' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (err) {
    await write(io.stderr, `sess: ${(err as Error).message}\nRun sess --help for the commands and options.\n`);
    return 2;
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  const [command, ...args] = parsed.positionals;
  if (v.version) {
    await write(io.stdout, VERSION + '\n');
    return 0;
  }
  if (v.help || !command || command === 'help') {
    await write(io.stdout, HELP);
    return command || v.help ? 0 : 2;
  }
  const int = (name: string, dflt: number) => {
    const raw = v[name];
    if (raw === undefined) return dflt;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new CliError(`--${name} must be a positive integer`, 2);
    return n;
  };
  try {
    const f: Flags = {
      json: !!v.json,
      reveal: !!v.reveal,
      revealIds: !!v['reveal-ids'],
      verify: !!v.verify,
      concurrency: int('concurrency', 16),
      limit: int('limit', Number.MAX_SAFE_INTEGER),
      timeoutMs: int('timeout', 5000),
      field: v.field as string | undefined,
      config: v.config as string | undefined,
      from: v.from as string | undefined,
      to: v.to as string | undefined,
    };
    // With --config the store comes from the module, so every positional is the command's own argument.
    const [store, arg] = f.config ? [undefined, args[0]] : [args[0], args[1]];
    switch (command) {
      case 'count':
        return await count(store, f, io);
      case 'list':
        return await list(store, f, io);
      case 'show':
        return await show(store, arg, f, io);
      case 'revoke':
        return await revoke(store, arg, f, io);
      case 'revoke-user':
        return await revokeUser(store, arg, f, io);
      case 'prune':
        return await prune(store, f, io);
      case 'export':
        return await exportTo(store, arg, f, io);
      case 'import':
        return await importFrom(store, arg, f, io);
      case 'migrate':
        return await migrate(f, io);
      default:
        throw new CliError(`unknown command "${command}": sess knows count, list, show, revoke, revoke-user, prune, export, import and migrate (sess --help)`, 2);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException)?.code === 'EPIPE') return 0; // the reader went away (sess list | head)
    const e = err instanceof CliError ? err : new CliError(SessError.isInstance(err) ? `${err.message} [${err.code}]` : String((err as Error)?.message ?? err));
    await write(io.stderr, jsonWanted(argv) ? JSON.stringify({ error: e.message }) + '\n' : `sess: ${e.message}\n`);
    return e.exitCode;
  }
}

const jsonWanted = (argv: string[]) => argv.includes('--json');

/** The bin's entry: run, then exit with the code once output is flushed. */
export function main(): void {
  // Output piped into a command that stopped reading (sess list | head): done, quietly.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  run(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      // Clients a store opened may hold the loop open (a pool's idle timer): the command is over.
      setTimeout(() => process.exit(code), 50).unref();
    },
    (err) => {
      process.stderr.write(`sess: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}

/** Read a JSON Lines export into memory (tests, small files). */
export function readExport(file: string): ExportLine[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ExportLine);
}
export type { ExportLine };
