import { describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
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
    const body = r.stdout.slice(0, r.stdout.indexOf('\nexpress-session level'));
    const json = JSON.parse(body);
    expect(json.results.map((x: { id: string }) => x.id)).toEqual(['roundtrip']);
    expect(json.passed).toBe(1);
    expect(closing(r.stdout)).toBe('1 passed, 0 failed, 0 skipped');
  });

  test('--level express-session counts only what express-session apps rely on; the summary has a line per level', () => {
    // IgnoresExpiry fails expired-null, a sess-level case (expiry on read).
    const args = [fixture('broken-factory.mjs'), '--grep', '^(roundtrip|expired-null)$', '--timeout', '10000'];
    const all = cli(...args);
    expect(all.status).toBe(1);
    expect(all.stdout).toMatch(/what it means: a session past its expiry is still served until the store's cleanup runs/);
    expect(all.stdout).toMatch(/^express-session level \(what express-session apps rely on\): 1 passed, 0 failed, 0 skipped$/m);
    expect(all.stdout).toMatch(/^sess level \(what sess features need beyond it\): 0 passed, 1 failed, 0 skipped$/m);
    expect(closing(all.stdout)).toBe('1 passed, 1 failed, 0 skipped');
    const es = cli(...args, '--level', 'express-session');
    expect(es.status).toBe(0);
    expect(es.stdout).toMatch(/FAIL expired-null — .*\[sess level: not counted at --level express-session\]/);
    expect(closing(es.stdout)).toBe('1 passed, 0 failed, 0 skipped');
  });

  test('--reporter junit, markdown and json to --output: full reasons, what they mean, and the closing line on stdout', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sessconf-cli-'));
    try {
      const args = [fixture('broken-factory.mjs'), '--grep', '^(roundtrip|expired-null)$', '--timeout', '10000', '--name', 'IgnoresExpiry'];
      const j = cli(...args, '--reporter', 'junit', '--output', path.join(dir, 'r.xml'));
      expect(closing(j.stdout)).toBe('1 passed, 1 failed, 0 skipped');
      const xml = readFileSync(path.join(dir, 'r.xml'), 'utf8');
      expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="IgnoresExpiry" tests="2" failures="1"/);
      expect(xml).toMatch(/<testsuite name="IgnoresExpiry \(sess level\)" tests="1" failures="1"/);
      expect(xml).toMatch(/<failure message="an expired record must read as null[^"]*">[^<]*What it means: a session past its expiry is still served/);
      const m = cli(...args, '--reporter', 'markdown');
      expect(m.stdout).toMatch(/^## IgnoresExpiry against the sess conformance suite$/m);
      expect(m.stdout).toMatch(/^\| `expired-null`: an expired record reads as null, before any background cleanup \| \*\*failed\*\*: an expired record must read as null [^|]*\| a session past its expiry is still served until the store's cleanup runs, so users stay logged in after their timeout\. \|$/m);
      expect(m.stdout).toMatch(/^\| `roundtrip`: .* \| passed \| {2}\|$/m);
      const js = cli(...args, '--reporter', 'json', '--output', path.join(dir, 'r.json'), '--level', 'express-session');
      expect(js.status).toBe(0);
      const json = JSON.parse(readFileSync(path.join(dir, 'r.json'), 'utf8'));
      expect(json).toMatchObject({ level: 'express-session', passed: 1, failed: 0, levels: { sess: { failed: 1 } } });
      expect(json.results.find((x: { id: string }) => x.id === 'expired-null')).toMatchObject({ level: 'sess', status: 'failed', impact: expect.stringMatching(/stay logged in/) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('init writes a factory module that runs as it is, and never overwrites', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sessconf-init-'));
    try {
      const run = (...a: string[]) => spawnSync(process.execPath, [bin, ...a], { encoding: 'utf8', timeout: 120_000, cwd: dir, env: { ...process.env, NODE_PATH: path.join(__dirname, '..', 'node_modules') } });
      const made = run('init', 'memorystore');
      expect(made.status).toBe(0);
      expect(made.stdout).toMatch(/^wrote sess-conformance\.memorystore\.mjs: edit the connection options, then run/);
      const text = readFileSync(path.join(dir, 'sess-conformance.memorystore.mjs'), 'utf8');
      expect(text).toMatch(/^\/\/ sess-conformance factory for memorystore/);
      expect(text).toMatch(/createMemoryStore\(session\)/);
      expect(run('init', 'memorystore').status).toBe(2);
      const generic = run('init', 'connect-something-else', '--out', 'other.mjs');
      expect(generic.status).toBe(0);
      expect(readFileSync(path.join(dir, 'other.mjs'), 'utf8')).toMatch(/could not be loaded from here to see its shape/);
      expect(run('init', 'Not A Package!').status).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('usage errors', () => {
    expect(cli().status).toBe(2);
    expect(cli('--list').stdout).toMatch(/^capabilities-declared\t/);
    const bad = cli(fixture('nope.mjs'));
    expect(bad.status).toBe(2);
    expect(bad.stdout).toMatch(/^sess-conformance: cannot load/);
    expect(cli(fixture('memory-factory.cjs'), '--level', 'strict').status).toBe(2);
    expect(cli(fixture('memory-factory.cjs'), '--reporter', 'tap').status).toBe(2);
  });
});
