/**
 * `sess-conformance init <store package>`: write a commented factory module for a store package, so a store
 * author goes from nothing to a first run in one command. Known packages get their wiring (namespace, cleanup,
 * where the connection options go); any other package gets a module shaped after what it exports.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

interface Template {
  /** Imports, at the top of the module. */
  imports: string;
  /** The body of `create({ namespace })`, returning the store. */
  create: string;
  /** The body of `destroy(store, { namespace })`, if the factory created something to release. */
  destroy?: string;
  /** Whether the store shares its data across processes. */
  shared: boolean;
  /** What the author should check or edit, as comment lines. */
  notes: string[];
}

const env = (name: string, dflt: string) => `process.env.${name} ?? '${dflt}'`;

const KNOWN: Record<string, Template> = {
  'connect-redis': {
    imports: "import { RedisStore } from 'connect-redis';\nimport { createClient } from 'redis';",
    create: `const client = createClient({ url: ${env('REDIS_URL', 'redis://127.0.0.1:6379')} });
    await client.connect();
    clients.set(namespace, client);
    // Each case gets its own key prefix, so cases never see each other's sessions.
    return new RedisStore({ client, prefix: namespace + ':' });`,
    destroy: 'await clients.get(namespace)?.quit();',
    shared: true,
    notes: ['REDIS_URL picks the server. Cases only touch keys under their own prefix.'],
  },
  'connect-pg-simple': {
    imports: "import session from 'express-session';\nimport connectPgSimple from 'connect-pg-simple';\nimport pg from 'pg';",
    create: `const PgStore = connectPgSimple(session);
    const pool = new pg.Pool({ connectionString: ${env('DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/test')} });
    clients.set(namespace, pool);
    // Each case gets a table of its own, created by the store.
    return new PgStore({ pool, tableName: namespace, createTableIfMissing: true, pruneSessionInterval: false });`,
    destroy: `const pool = clients.get(namespace);
    await pool.query(\`drop table if exists "\${namespace}"\`);
    await pool.end();`,
    shared: true,
    notes: ['DATABASE_URL picks the server; the role needs CREATE on the database (each case makes and drops a table).'],
  },
  'express-mysql-session': {
    imports: "import session from 'express-session';\nimport createMySQLStore from 'express-mysql-session';",
    create: `const MySQLStore = createMySQLStore(session);
    const url = new URL(${env('MYSQL_URL', 'mysql://root@127.0.0.1:3306/test')});
    const store = new MySQLStore({
      host: url.hostname,
      port: Number(url.port || 3306),
      user: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
      database: url.pathname.slice(1),
      clearExpired: false,
      // Each case gets a table of its own.
      schema: { tableName: namespace },
    });
    await store.onReady();
    clients.set(namespace, store);
    return store;`,
    destroy: `const conn = await (await import('mysql2/promise')).createConnection(${env('MYSQL_URL', 'mysql://root@127.0.0.1:3306/test')});
    await conn.query(\`drop table if exists \\\`\${namespace}\\\`\`);
    await conn.end();`,
    shared: true,
    notes: ['MYSQL_URL picks the server (MySQL or MariaDB); mysql2 must be installed for the cleanup.'],
  },
  'connect-mongo': {
    imports: "import MongoStore from 'connect-mongo';\nimport { MongoClient } from 'mongodb';",
    create: `const client = await MongoClient.connect(${env('MONGO_URL', 'mongodb://127.0.0.1:27017/test')});
    clients.set(namespace, client);
    // Each case gets a collection of its own.
    return MongoStore.create({ client, collectionName: namespace });`,
    destroy: `const client = clients.get(namespace);
    await client.db().collection(namespace).drop().catch(() => undefined);
    await client.close();`,
    shared: true,
    notes: ["MONGO_URL picks the server. On a server without TTL indexes (FerretDB), add autoRemove: 'interval'."],
  },
  'connect-mongodb-session': {
    imports: "import session from 'express-session';\nimport createMongoDBStore from 'connect-mongodb-session';",
    create: `const MongoDBStore = createMongoDBStore(session);
    const store = new MongoDBStore({ uri: ${env('MONGO_URL', 'mongodb://127.0.0.1:27017/test')}, collection: namespace });
    store.on('error', (err) => console.error(err));
    await store.initialConnectionPromise;
    return store;`,
    destroy: `await store.client.db().collection(namespace).drop().catch(() => undefined);
    await store.client.close();`,
    shared: true,
    notes: ['MONGO_URL picks the server.'],
  },
  memorystore: {
    imports: "import session from 'express-session';\nimport createMemoryStore from 'memorystore';",
    create: `const MemoryStore = createMemoryStore(session);
    return new MemoryStore({ checkPeriod: 60_000 });`,
    destroy: 'store.stopInterval();',
    shared: false,
    notes: ['An in-process store: each case gets a store of its own, so no namespace is needed.'],
  },
  'session-file-store': {
    imports: "import os from 'node:os';\nimport path from 'node:path';\nimport { rm } from 'node:fs/promises';\nimport session from 'express-session';\nimport createFileStore from 'session-file-store';",
    create: `const FileStore = createFileStore(session);
    // Each case gets a folder of its own.
    return new FileStore({ path: path.join(os.tmpdir(), namespace), reapInterval: -1, logFn: () => undefined });`,
    destroy: "await rm(path.join(os.tmpdir(), namespace), { recursive: true, force: true });",
    shared: true,
    notes: [],
  },
};

for (const [pkg, cls, opts, shared] of [
  ['@sess/store-redis', 'RedisStore', `{ url: ${env('REDIS_URL', 'redis://127.0.0.1:6379')}, prefix: namespace + ':' }`, true],
  ['@sess/store-pg', 'PgStore', `{ connectionString: ${env('DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/test')}, tableName: namespace, createTableIfMissing: true }`, true],
  ['@sess/store-mysql', 'MySQLStore', `{ uri: ${env('MYSQL_URL', 'mysql://root@127.0.0.1:3306/test')}, schema: { tableName: namespace } }`, true],
  ['@sess/store-mongo', 'MongoStore', `{ url: ${env('MONGO_URL', 'mongodb://127.0.0.1:27017/test')}, collectionName: namespace }`, true],
  ['@sess/store-file', 'FileStore', "{ dir: path.join(os.tmpdir(), namespace) }", true],
] as const) {
  KNOWN[pkg] = {
    imports: `${pkg === '@sess/store-file' ? "import os from 'node:os';\nimport path from 'node:path';\n" : ''}import { ${cls} } from '${pkg}';`,
    create: `// A sess store: the suite calls it directly (its close() runs after each case).\n    return new ${cls}(${opts});`,
    shared,
    notes: ['Each case gets a namespace of its own; the store removes it with clear() after the case.'],
  };
}

/** What a package's main export looks like, when it can be loaded from `cwd`. */
function shapeOf(pkg: string, cwd: string): 'factory' | 'class' | 'create' | 'unknown' {
  try {
    const mod = createRequire(path.join(cwd, 'package.json'))(pkg) as unknown;
    const main = (mod as { default?: unknown }).default ?? mod;
    if (typeof main === 'object' && main !== null && typeof (main as { create?: unknown }).create === 'function') return 'create';
    if (typeof main !== 'function') return 'unknown';
    const proto = (main as { prototype?: Record<string, unknown> }).prototype;
    if (proto && typeof proto.get === 'function' && typeof proto.set === 'function') return 'class';
    return 'factory';
  } catch {
    return 'unknown';
  }
}

function generic(pkg: string, cwd: string): Template {
  const shape = shapeOf(pkg, cwd);
  const ident = 'storeModule';
  const make: Record<typeof shape, string> = {
    factory: `// ${pkg} exports a function of express-session (the require('x')(session) form).
    const Store = ${ident}(session);
    return new Store({
      // Your connection options. Keep each case apart: a prefix, table, collection or folder named after
      // \`namespace\` (the suite gives each case a new one and clears it afterwards).
    });`,
    class: `// ${pkg} exports the store class.
    return new ${ident}({
      // Your connection options. Keep each case apart with \`namespace\` (a prefix, table, collection, folder).
    });`,
    create: `// ${pkg} exports an object with create().
    return ${ident}.create({
      // Your connection options. Keep each case apart with \`namespace\` (a prefix, table, collection, folder).
    });`,
    unknown: `// ${pkg} could not be loaded from here to see its shape (install it first); the two usual forms:
    //   const Store = ${ident}(session); return new Store({ ... });   // require('x')(session) stores
    //   return new ${ident}({ ... });                                 // class stores
    const Store = typeof ${ident} === 'function' && !${ident}.prototype?.get ? ${ident}(session) : ${ident};
    return new Store({
      // Your connection options. Keep each case apart with \`namespace\` (a prefix, table, collection, folder).
    });`,
  };
  return {
    imports: `import session from 'express-session';\nimport ${ident} from '${pkg}';`,
    create: make[shape],
    destroy: '// Release what create() opened for this case (a client, a pool): the store\'s own close() has run.',
    shared: true,
    notes: [`Generated for a package sess-conformance does not know (${shape === 'unknown' ? 'not installed here' : `its main export looks like a ${shape === 'create' ? 'MongoStore-style object' : shape}`}): fill in the connection options.`],
  };
}

/** The factory module's text for `pkg`. */
export function factoryModule(pkg: string, cwd = process.cwd()): string {
  const t = KNOWN[pkg] ?? generic(pkg, cwd);
  const needsClients = /clients\./.test(t.create + (t.destroy ?? ''));
  return `// sess-conformance factory for ${pkg}, written by \`sess-conformance init ${pkg}\`.
// Run it with:  npx sess-conformance ${'<this file>'}            (every case; exit code counts the sess level)
//               npx sess-conformance <this file> --level express-session   (only what express-session apps rely on)
//
// The suite calls create() once per case with a namespace of the case's own (a short lower-case name, safe as a
// key prefix, table, collection or folder name) and destroy() after the case (after the store's own close()).
${t.notes.map((n) => `// ${n}`).join('\n')}
${t.imports}
${needsClients ? '\n/** What create() opened per case, for destroy(). */\nconst clients = new Map();\n' : ''}
export default {
  async create({ namespace }) {
    ${t.create}
  },
  async destroy(store, { namespace }) {
    ${t.destroy ?? '// Nothing to release: the store closes itself.'}
  },
  // ${t.shared ? 'Instances on one namespace share data (a server-backed store): the shared-instances case runs.' : 'An in-process store: instances do not share data.'}
  adapter: { shared: ${t.shared} },
};
`;
}

/** Write the factory module for `pkg` to `out` (never over an existing file). Returns the path written. */
export function init(pkg: string, out?: string, cwd = process.cwd()): string {
  if (!/^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*$/i.test(pkg)) throw new Error(`"${pkg}" is not an npm package name`);
  const file = path.resolve(cwd, out ?? `sess-conformance.${pkg.replace(/^@/, '').replace(/\//g, '-')}.mjs`);
  if (existsSync(file)) throw new Error(`${path.relative(cwd, file) || file} exists already: remove it or pass --out <file>`);
  writeFileSync(file, factoryModule(pkg, cwd));
  return file;
}
