import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { listCases, runConformance, summarise } from './runner.js';
import type { CaseResult, StoreFactory } from './types.js';

const USAGE = `usage: sess-conformance <factory module> [options]

The module default-exports a store factory (ESM or CommonJS): a function given { namespace, caseId }
that returns a store (or a promise of one), or { create, destroy?, adapter? }. express-session style
callback stores are accepted as they are.

options:
  --grep <regexp>      run only the cases whose id or title matches
  --timeout <ms>       per-case deadline (default: each case's own)
  --reporter <kind>    text (default) or json
  --shared             declare a callback store shared across processes
  --list               list the cases and exit
  -h, --help           this text`;

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i === -1) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`${name} needs a value`);
  return v;
}

async function loadFactory(spec: string): Promise<StoreFactory> {
  const abs = path.resolve(spec);
  const mod = (await import(pathToFileURL(abs).href)) as { default?: unknown };
  let f: unknown = mod.default ?? mod;
  // A CommonJS module imported from ESM: module.exports is the default; it may itself carry a default.
  if (f && typeof f === 'object' && 'default' in (f as object) && typeof (f as { create?: unknown }).create !== 'function') f = (f as { default: unknown }).default;
  if (typeof f !== 'function' && !(f && typeof (f as { create?: unknown }).create === 'function')) {
    throw new Error(`${spec} must default-export a store factory (a function, or { create, destroy? })`);
  }
  return f as StoreFactory;
}

/** Run the CLI; resolves the exit code (0 only when nothing failed). */
export async function main(args: string[], out: (line: string) => void = (l) => process.stdout.write(l + '\n')): Promise<number> {
  if (args.includes('-h') || args.includes('--help')) {
    out(USAGE);
    return 0;
  }
  if (args.includes('--list')) {
    for (const c of listCases()) out(`${c.id}\t${c.title}${c.needs.length ? `\t(needs ${c.needs.join(', ')})` : ''}`);
    return 0;
  }
  const positional = args.filter((a, i) => !a.startsWith('-') && !['--grep', '--timeout', '--reporter'].includes(args[i - 1] ?? ''));
  if (positional.length !== 1) {
    out(USAGE);
    return 2;
  }
  const grepSrc = option(args, '--grep');
  const timeout = option(args, '--timeout');
  const reporter = option(args, '--reporter') ?? 'text';
  if (reporter !== 'text' && reporter !== 'json') throw new Error('--reporter is text or json');
  const timeoutMs = timeout === undefined ? undefined : Number(timeout);
  if (timeoutMs !== undefined && !(timeoutMs > 0)) throw new Error('--timeout takes a positive number of ms');
  let factory = await loadFactory(positional[0]!);
  if (args.includes('--shared')) {
    const f = typeof factory === 'function' ? { create: factory } : factory;
    factory = { ...f, adapter: { ...(f.adapter ?? {}), shared: true } };
  }
  const results: CaseResult[] = await runConformance(factory, {
    grep: grepSrc === undefined ? undefined : new RegExp(grepSrc),
    timeoutMs,
    onResult:
      reporter === 'text'
        ? (r) => out(`${r.status === 'passed' ? 'ok  ' : r.status === 'failed' ? 'FAIL' : 'skip'} ${r.id}${r.reason ? ` — ${r.reason}` : ''} (${r.durationMs} ms)`)
        : undefined,
  });
  const s = summarise(results);
  if (reporter === 'json') out(JSON.stringify({ results, ...s }, null, 2));
  out(`${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped`);
  return s.failed > 0 ? 1 : 0;
}
