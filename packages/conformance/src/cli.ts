import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { init } from './init.js';
import { REPORTERS, levelLines, report, textLine, type ReporterName } from './reporters.js';
import { listCases, runConformance, summarise } from './runner.js';
import type { CaseResult, Level, StoreFactory } from './types.js';

const USAGE = `usage: sess-conformance <factory module> [options]
       sess-conformance init <store package> [--out <file>]

The module default-exports a store factory (ESM or CommonJS): a function given { namespace, caseId }
that returns a store (or a promise of one), or { create, destroy?, adapter? }. express-session style
callback stores are accepted as they are. \`init\` writes a commented factory module for a store package.

options:
  --level <level>      what counts toward the exit code: sess (default: every case) or express-session
                       (only what express-session and the apps written for it rely on)
  --grep <regexp>      run only the cases whose id or title matches
  --timeout <ms>       per-case deadline (default: each case's own)
  --reporter <kind>    text (default), json, junit or markdown
  --output <file>      write the json, junit or markdown report to a file (stdout keeps the text lines)
  --name <name>        the store's name in the junit and markdown reports
  --shared             declare a callback store shared across processes
  --list               list the cases (id, level, title) and exit
  -h, --help           this text

Every run ends with a line per level and "N passed, N failed, N skipped" for the chosen level, whatever the
store does; the exit code is 1 when a counted case failed, 2 for a usage error.`;

const VALUED = ['--grep', '--timeout', '--reporter', '--level', '--output', '--name', '--out'];

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i === -1) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) throw new UsageError(`${name} needs a value`);
  return v;
}

class UsageError extends Error {}

async function loadFactory(spec: string): Promise<StoreFactory> {
  const abs = path.resolve(spec);
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(abs).href)) as { default?: unknown };
  } catch (err) {
    throw new UsageError(`cannot load ${spec}: ${err instanceof Error ? err.message : String(err)}`);
  }
  let f: unknown = mod.default ?? mod;
  // A CommonJS module imported from ESM: module.exports is the default; it may itself carry a default.
  if (f && typeof f === 'object' && 'default' in (f as object) && typeof (f as { create?: unknown }).create !== 'function') f = (f as { default: unknown }).default;
  if (typeof f !== 'function' && !(f && typeof (f as { create?: unknown }).create === 'function')) {
    throw new UsageError(`${spec} must default-export a store factory (a function, or { create, destroy? })`);
  }
  return f as StoreFactory;
}

/** Handles (timers, sockets, …) open now, by type. */
function handles(): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of process.getActiveResourcesInfo()) m.set(t, (m.get(t) ?? 0) + 1);
  return m;
}

/** Run the CLI; resolves the exit code (0 only when no counted case failed, 2 for a usage error). */
export async function main(args: string[], out: (line: string) => void = (l) => process.stdout.write(l + '\n')): Promise<number> {
  try {
    return await run(args, out);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    out(`sess-conformance: ${err.message}`);
    return 2;
  }
}

async function run(args: string[], out: (line: string) => void): Promise<number> {
  if (args.includes('-h') || args.includes('--help')) {
    out(USAGE);
    return 0;
  }
  if (args.includes('--list')) {
    for (const c of listCases()) out(`${c.id}\t${c.level}\t${c.title}${c.needs.length ? `\t(needs ${c.needs.join(', ')})` : ''}`);
    return 0;
  }
  const positional = args.filter((a, i) => !a.startsWith('-') && !VALUED.includes(args[i - 1] ?? ''));
  if (positional[0] === 'init') {
    if (positional.length !== 2) throw new UsageError('init takes one store package: sess-conformance init connect-redis');
    let file: string;
    try {
      file = init(positional[1]!, option(args, '--out'));
    } catch (err) {
      throw new UsageError(err instanceof Error ? err.message : String(err));
    }
    out(`wrote ${path.relative(process.cwd(), file) || file}: edit the connection options, then run`);
    out(`  npx sess-conformance ${path.relative(process.cwd(), file) || file}`);
    return 0;
  }
  if (positional.length !== 1) {
    out(USAGE);
    return 2;
  }
  const grepSrc = option(args, '--grep');
  const timeout = option(args, '--timeout');
  const reporter = (option(args, '--reporter') ?? 'text') as ReporterName;
  if (!REPORTERS.includes(reporter)) throw new UsageError(`--reporter is one of ${REPORTERS.join(', ')}`);
  const level = (option(args, '--level') ?? 'sess') as Level;
  if (level !== 'sess' && level !== 'express-session') throw new UsageError('--level is sess or express-session');
  const output = option(args, '--output');
  const name = option(args, '--name') ?? path.basename(positional[0]!).replace(/\.[cm]?[jt]s$/, '');
  const timeoutMs = timeout === undefined ? undefined : Number(timeout);
  if (timeoutMs !== undefined && !(timeoutMs > 0)) throw new UsageError('--timeout takes a positive number of ms');
  let grep: RegExp | undefined;
  try {
    grep = grepSrc === undefined ? undefined : new RegExp(grepSrc);
  } catch (err) {
    throw new UsageError(`--grep: ${err instanceof Error ? err.message : String(err)}`);
  }
  // stdout and stderr open their handles on first use: open them now, so they are not counted as the store's.
  void process.stdout;
  void process.stderr;
  const before = handles();
  let factory = await loadFactory(positional[0]!);
  if (args.includes('--shared')) {
    const f = typeof factory === 'function' ? { create: factory } : factory;
    factory = { ...f, adapter: { ...(f.adapter ?? {}), shared: true } };
  }
  const streaming = reporter === 'text' || output !== undefined;
  const results: CaseResult[] = await runConformance(factory, {
    grep,
    timeoutMs,
    level,
    onResult: streaming ? (r) => out(textLine(r, level)) : undefined,
    onLate: streaming ? (r) => out(textLine(r, level, true)) : undefined,
  });
  if (reporter !== 'text') {
    const body = report(reporter, results, level, name);
    if (output !== undefined) {
      writeFileSync(output, body.endsWith('\n') ? body : body + '\n');
      out(`wrote the ${reporter} report to ${output}`);
    } else out(body);
  }
  // What the store left running is reported; the bin exits the process anyway.
  const left: string[] = [];
  for (const [type, n] of handles()) {
    const extra = n - (before.get(type) ?? 0);
    if (extra > 0) left.push(`${extra} ${type}`);
  }
  if (left.length) out(`note: the store left ${left.join(', ')} open after its last case (not closed by close() or the factory's destroy); sess-conformance exits anyway`);
  for (const line of levelLines(results)) out(line);
  const s = summarise(results, level);
  out(`${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped`);
  return s.failed > 0 ? 1 : 0;
}
