import { describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const bin = path.join(__dirname, '..', 'bin', 'sess-conformance.js');
const fixture = (name: string) => path.join(__dirname, 'fixtures', name);
const cli = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000, cwd: path.join(__dirname, '..') });
const closing = (out: string) => out.trim().split('\n').pop();

describe('sess-conformance CLI', () => {
  test('runs a CommonJS factory of a sess store and closes with the counts', () => {
    const r = cli(fixture('memory-factory.cjs'));
    expect(r.status).toBe(0);
    expect(closing(r.stdout)).toMatch(/^\d+ passed, 0 failed, 1 skipped$/);
    expect(r.stdout).toMatch(/skip shared-instances — store does not declare capabilities.shared/);
  });

  test('runs an ESM factory of an express-session store through the adapter', () => {
    const r = cli(fixture('memorystore-factory.mjs'), '--grep', '^(roundtrip|overwrite|missing-null|destroy-idempotent)$');
    expect(r.stderr).toBe('');
    expect(closing(r.stdout)).toBe('4 passed, 0 failed, 0 skipped');
    expect(r.status).toBe(0);
  });

  test('a failing store exits non-zero and names the case', () => {
    const r = cli(fixture('broken-factory.mjs'), '--grep', 'expired-null');
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/FAIL expired-null — an expired record must read as null/);
    expect(closing(r.stdout)).toBe('0 passed, 1 failed, 0 skipped');
  });

  test('--reporter json and --timeout', () => {
    const r = cli(fixture('memory-factory.cjs'), '--grep', 'roundtrip', '--reporter', 'json', '--timeout', '5000');
    expect(r.status).toBe(0);
    const body = r.stdout.slice(0, r.stdout.lastIndexOf('\n', r.stdout.trim().length - 1));
    const json = JSON.parse(body);
    expect(json.results.map((x: { id: string }) => x.id)).toEqual(['roundtrip']);
    expect(json.passed).toBe(1);
    expect(closing(r.stdout)).toBe('1 passed, 0 failed, 0 skipped');
  });

  test('usage errors', () => {
    expect(cli().status).toBe(2);
    expect(cli('--list').stdout).toMatch(/^capabilities-declared\t/);
    const bad = cli(fixture('nope.mjs'));
    expect(bad.status).toBe(2);
  });
});
