/**
 * The CLI as a store author runs it, on stores that misbehave the ways real ones have: an unhandled rejection
 * after a case ended, an exception thrown from a timer, a callback called twice, a callback and a rejection for
 * one call, a timer left running with no close(), an operation that settles after its case gave up on it.
 * Every run must end with a result for every case, the per-level lines, the closing line and the exit code,
 * and the process must exit by itself.
 */
import { describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { listCases } from '@sess/conformance';

const bin = path.join(__dirname, '..', 'bin', 'sess-conformance.js');
const fixture = (name: string) => path.join(__dirname, 'fixtures', name);
function cli(...args: string[]) {
  const started = Date.now();
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000, cwd: path.join(__dirname, '..') });
  return { ...r, ms: Date.now() - started };
}

/** The ids a run reported a final result for (a late line replaces the case's first one). */
function reported(stdout: string): string[] {
  return [...new Set([...stdout.matchAll(/^(?:ok {2}|FAIL|skip) ([a-z-]+)/gm)].map((m) => m[1]!))];
}

function endsProperly(r: ReturnType<typeof cli>, cases: string[]) {
  expect(r.error).toBeUndefined(); // not killed by the timeout: the process exited by itself
  expect(r.signal).toBeNull();
  expect(r.stderr).toBe('');
  const lines = r.stdout.trim().split('\n');
  expect(lines.at(-1)).toMatch(/^\d+ passed, \d+ failed, \d+ skipped$/);
  expect(lines.at(-3)).toMatch(/^express-session level .*: \d+ passed, \d+ failed, \d+ skipped$/);
  expect(lines.at(-2)).toMatch(/^sess level .*: \d+ passed, \d+ failed, \d+ skipped$/);
  expect(reported(r.stdout).sort()).toEqual([...cases].sort());
}

const basics = ['roundtrip', 'overwrite', 'missing-null', 'destroy-idempotent', 'touch-no-resurrect'];
const grep = `^(${basics.join('|')})$`;

describe('the CLI survives whatever the store does', () => {
  test('an unhandled rejection after the case ended fails that case, late, and the run goes on', () => {
    const r = cli(fixture('misbehaves-late-query.mjs'), '--grep', grep);
    endsProperly(r, basics);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/FAIL destroy-idempotent — destroyed record is still there/);
    // Its delete fails 300 ms later, once the case's cleanup has closed the connection: reported as that case's.
    expect(r.stdout).toMatch(/FAIL [a-z-]+ \(late\) — .*after the case ended: unhandled promise rejection from the store: Error: connection is closed/);
  });

  test('an exception thrown from the store\'s timer fails the case it belongs to', () => {
    const r = cli(fixture('misbehaves-uncaught.mjs'), '--grep', grep);
    endsProperly(r, basics);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/FAIL roundtrip — uncaught exception from the store: Error: replication callback crashed/);
    expect(r.stdout).toMatch(/ok {3}missing-null/); // get-only case: the store's set() never ran in it
  });

  test('a callback called twice, and a callback plus a rejection for one call, are failures with their reason', () => {
    const r = cli(fixture('misbehaves-twice.mjs'), '--grep', grep);
    endsProperly(r, basics);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/FAIL missing-null — store\.get\(\) called its callback twice/);
    expect(r.stdout).toMatch(/store\.set\(\) called its callback and also rejected its promise \(post-write hook failed\)/);
  });

  test('a timer the store leaves running is reported, and the process exits anyway', () => {
    const r = cli(fixture('misbehaves-open-handle.mjs'), '--grep', grep);
    endsProperly(r, basics);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^note: the store left \d+ Timeout open after its last case/m);
    expect(r.stdout).not.toMatch(/PipeWrap|TTYWrap/);
    expect(r.ms).toBeLessThan(60_000);
  });

  test('an operation that settles after its case gave up on it is reported as that case\'s late failure', () => {
    const r = cli(fixture('misbehaves-late-settle.mjs'), '--grep', grep, '--timeout', '1000');
    endsProperly(r, basics);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/FAIL missing-null — HungOperationError: case missing-null: store\.get\(\) did not settle within 1000 ms/);
    expect(r.stdout).toMatch(/FAIL missing-null \(late\) — .*after the case ended: store\.get\(\) rejected \(backend timed out\)/);
  });

  test('the whole suite on a misbehaving store still gives every case a result', () => {
    const r = cli(fixture('misbehaves-twice.mjs'));
    endsProperly(
      r,
      listCases().map((c) => c.id),
    );
    expect(r.status).toBe(1);
  }, 120_000);
});
