/**
 * A store from what the command line names: a URL (`redis://`, `rediss://`, `postgres://`, `postgresql://`,
 * `mysql://`, `mongodb://`, `mongodb+srv://`, `file://<dir>`) with the store's options as query parameters, or
 * a module (a factory's path, or `--config`) whose default export is a store, a function returning one, or
 * `{ store }`: any express-session store works through core's adapter.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { fromCallbackStore, type CallbackStore, type SessionStore } from '@sess/core';

/** Why the command cannot go on, said plainly (exit code 2 for usage, 1 for the rest). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

type Kind = 'redis' | 'postgres' | 'mysql' | 'mongodb' | 'file';
type OptionType = 'string' | 'number' | 'boolean';

const SCHEMES: Record<string, Kind> = {
  'redis:': 'redis',
  'rediss:': 'redis',
  'postgres:': 'postgres',
  'postgresql:': 'postgres',
  'mysql:': 'mysql',
  'mongodb:': 'mongodb',
  'mongodb+srv:': 'mongodb',
  'file:': 'file',
};

/** The store options a URL's query may carry, per store, with their types (the rest stays in the URL for the driver). */
const QUERY_OPTIONS: Record<Kind, Record<string, OptionType>> = {
  redis: { prefix: 'string', scanCount: 'number', commandTimeout: 'number', batchWrites: 'boolean' },
  postgres: { tableName: 'string', schemaName: 'string', userTableName: 'string', createTableIfMissing: 'boolean' },
  mysql: { tableName: 'string', 'schema.tableName': 'string', userTableName: 'string', createDatabaseTable: 'boolean' },
  mongodb: { dbName: 'string', collectionName: 'string', stringify: 'boolean' },
  file: { fsync: 'boolean', ttl: 'number', concurrency: 'number' },
};

const PACKAGES: Record<Kind, string> = {
  redis: '@sess/store-redis',
  postgres: '@sess/store-pg',
  mysql: '@sess/store-mysql',
  mongodb: '@sess/store-mongo',
  file: '@sess/store-file',
};

/** A store opened for a command. */
export interface OpenedStore {
  /** The store in the sess contract (an adapter around an express-session store). */
  store: SessionStore;
  /** What was given (a callback store for an express-session store), for its own extra methods (prune…). */
  raw: SessionStore | CallbackStore;
  /** How to name it in output: the URL without its password, or the module's path. */
  label: string;
  /** The last connection error the client reported, for a clear "cannot reach" message. */
  lastError(): unknown;
  close(): Promise<void>;
}

/** The URL with its password replaced, for messages. */
export function redact(spec: string): string {
  try {
    const u = new URL(spec);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return spec.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:***@');
  }
}

function coerce(kind: Kind, name: string, raw: string): unknown {
  const type = QUERY_OPTIONS[kind][name];
  if (type === 'number') {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) throw new CliError(`store URL option ${name} must be a number, got "${raw}"`, 2);
    return n;
  }
  if (type === 'boolean') {
    if (raw === 'true' || raw === '1' || raw === '') return true;
    if (raw === 'false' || raw === '0') return false;
    throw new CliError(`store URL option ${name} must be true or false, got "${raw}"`, 2);
  }
  return raw;
}

/** What the CLI needs of the store it opens: no background timers, and tables created only when asked. */
export interface OpenOptions {
  /** The command writes to this store (import, migrate --to): create its table if missing unless the URL says otherwise. */
  forWrite?: boolean;
  /** How long to wait for the server on connect (ms). */
  timeoutMs?: number;
}

/** Open the store `spec` names (a URL or a module path). */
export async function openStore(spec: string, opts: OpenOptions = {}): Promise<OpenedStore> {
  if (typeof spec !== 'string' || spec.length === 0) throw new CliError('no store given: pass a store URL (redis://…, postgres://…, file://./sessions) or a module', 2);
  const looksLikeModule = /\.(c|m)?js$/.test(spec.split('?')[0]!) && !spec.includes('://');
  if (looksLikeModule) return openModule(spec);
  const scheme = /^([a-z][a-z0-9+.-]*:)/i.exec(spec)?.[1]?.toLowerCase();
  if (!scheme) {
    if (existsSync(spec)) throw new CliError(`"${spec}" is a path, not a store URL: for a folder of session files write file://${spec}; for a module, a .js, .mjs or .cjs file`, 2);
    throw new CliError(`"${redact(spec)}" is not a store URL: expected redis://, rediss://, postgres://, mysql://, mongodb:// or file://<dir>, or a module path`, 2);
  }
  const kind = SCHEMES[scheme];
  if (!kind) throw new CliError(`unknown store scheme "${scheme}//" in ${redact(spec)}: sess knows redis://, rediss://, postgres://, postgresql://, mysql://, mongodb://, mongodb+srv:// and file://<dir>; for another store, pass a module that creates it`, 2);
  return kind === 'file' ? openFile(spec, opts) : openUrl(kind, spec, opts);
}

function splitQuery(kind: Kind, url: URL): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const [name, value] of [...url.searchParams]) {
    if (!(name in QUERY_OPTIONS[kind])) continue;
    options[name] = coerce(kind, name, value);
    url.searchParams.delete(name);
  }
  return options;
}

function load<T>(kind: Kind): T {
  try {
    return require(PACKAGES[kind]) as T;
  } catch (err) {
    throw new CliError(`the ${kind} store needs ${PACKAGES[kind]} (npm install ${PACKAGES[kind]}): ${(err as Error).message.split('\n')[0]}`);
  }
}

async function openUrl(kind: Exclude<Kind, 'file'>, spec: string, opts: OpenOptions): Promise<OpenedStore> {
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    throw new CliError(`"${redact(spec)}" is not a valid URL`, 2);
  }
  const options = splitQuery(kind, url);
  const connection = url.toString();
  const label = redact(spec);
  let last: unknown;
  let store: SessionStore;
  const timeout = opts.timeoutMs ?? 5000;
  if (kind === 'redis') {
    const { RedisStore } = load<typeof import('@sess/store-redis')>(kind);
    const { Redis } = require('ioredis') as typeof import('ioredis');
    // The CLI's own client: a bounded connect (no endless reconnecting), commands failing fast while offline.
    const client = new Redis(connection, { lazyConnect: false, connectTimeout: timeout, maxRetriesPerRequest: 1, retryStrategy: (n: number) => (n > 2 ? null : 200) });
    client.on('error', (err: unknown) => (last = err));
    const rs = new RedisStore({ client, ...options });
    store = rs;
    return { store, raw: store, label, lastError: () => last, close: async () => void (await client.quit().catch(() => client.disconnect())) };
  }
  if (kind === 'postgres') {
    const { PgStore } = load<typeof import('@sess/store-pg')>(kind);
    const createTableIfMissing = (options.createTableIfMissing as boolean | undefined) ?? !!opts.forWrite;
    const pgStore = new PgStore({
      connectionString: connection,
      ...options,
      createTableIfMissing,
      pruneSessionInterval: false,
      poolOptions: { connectionTimeoutMillis: timeout },
      errorLog: (_msg: string, err: unknown) => (last = err),
    });
    return { store: pgStore, raw: pgStore, label, lastError: () => last, close: () => pgStore.close() };
  }
  if (kind === 'mysql') {
    const { MySQLStore } = load<typeof import('@sess/store-mysql')>(kind);
    const { tableName, 'schema.tableName': schemaTable, createDatabaseTable, ...rest } = options;
    const table = (schemaTable ?? tableName) as string | undefined;
    const mysqlStore = new MySQLStore({
      uri: connection,
      ...rest,
      ...(table ? { schema: { tableName: table } } : {}),
      createDatabaseTable: (createDatabaseTable as boolean | undefined) ?? !!opts.forWrite,
      pruneSessionInterval: false,
      poolOptions: { connectTimeout: timeout },
      errorLog: (_msg: string, err: unknown) => (last = err),
    } as never);
    return { store: mysqlStore, raw: mysqlStore, label, lastError: () => last, close: () => mysqlStore.close() };
  }
  const { MongoStore } = load<typeof import('@sess/store-mongo')>(kind);
  const mongoStore = new MongoStore({
    url: connection,
    ...options,
    autoRemove: 'disabled',
    clientOptions: { serverSelectionTimeoutMS: timeout, connectTimeoutMS: timeout },
    errorLog: (_msg: string, err: unknown) => (last = err),
  } as never);
  return { store: mongoStore, raw: mongoStore, label, lastError: () => last, close: () => mongoStore.close() };
}

function openFile(spec: string, _opts: OpenOptions): OpenedStore {
  const rest = spec.slice('file://'.length);
  const q = rest.indexOf('?');
  const dir = decodeURIComponent(q === -1 ? rest : rest.slice(0, q));
  if (!dir) throw new CliError('file:// needs a folder: file://./sessions or file:///var/lib/app/sessions', 2);
  const options: Record<string, unknown> = {};
  if (q !== -1) {
    for (const [name, value] of new URLSearchParams(rest.slice(q + 1))) {
      if (!(name in QUERY_OPTIONS.file)) throw new CliError(`file:// takes no option "${name}"; its options are ${Object.keys(QUERY_OPTIONS.file).join(', ')}`, 2);
      options[name] = coerce('file', name, value);
    }
  }
  const { FileStore } = load<typeof import('@sess/store-file')>('file');
  const store = new FileStore({ dir, reapInterval: 0, ...options });
  return { store, raw: store, label: `file://${dir}`, lastError: () => undefined, close: () => store.close() };
}

/** A module: its default export (or module.exports) is a store, a function returning one, or `{ store }`. */
export async function openModule(file: string): Promise<OpenedStore> {
  const abs = path.resolve(file);
  if (!existsSync(abs)) throw new CliError(`no such module: ${file}`, 2);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
  } catch (err) {
    throw new CliError(`${file} could not be loaded: ${(err as Error).message.split('\n')[0]}`);
  }
  let made: unknown = mod.default ?? mod;
  if (made && typeof made === 'object' && 'default' in (made as object) && Object.keys(made as object).length === 1) made = (made as { default: unknown }).default;
  if (typeof made === 'function' && typeof (made as { prototype?: { get?: unknown } }).prototype?.get !== 'function') made = await (made as () => unknown)();
  if (made && typeof made === 'object' && 'store' in (made as object) && typeof (made as { get?: unknown }).get !== 'function') made = (made as { store: unknown }).store;
  if (!made || typeof made !== 'object' || typeof (made as { get?: unknown }).get !== 'function') {
    throw new CliError(`${file} must export a session store (an object with get, set and destroy), a function returning one, or { store }`, 2);
  }
  const raw = made as SessionStore | CallbackStore;
  const store = fromCallbackStore(raw);
  return {
    store,
    raw,
    label: file,
    lastError: () => undefined,
    async close() {
      const close = (raw as { close?: (cb?: () => void) => unknown }).close;
      if (typeof close === 'function') await store.close?.();
    },
  };
}
