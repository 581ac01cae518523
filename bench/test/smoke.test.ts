/**
 * The bench runs end to end (both implementations, every scenario) and reports its numbers. No timing
 * is asserted here: performance is read from `pnpm bench`, never from a test.
 */
import { expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

test('one short interleaved round produces a row per scenario with both implementations', () => {
  const r = spawnSync(process.execPath, [path.join(__dirname, '..', 'src', 'run.mjs'), '--duration', '1', '--rounds', '1', '--connections', '2', '--json'], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, SESS_BENCH_PINNED: '1' },
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const out = JSON.parse(r.stdout);
  expect(out.results.map((x: { scenario: string }) => x.scenario)).toEqual(['read', 'write', 'create']);
  for (const row of out.results) {
    expect(row.esRps).toBeGreaterThan(0);
    expect(row.sessRps).toBeGreaterThan(0);
    expect(Number.isFinite(row.ratio)).toBe(true);
    expect(row.roundRatios).toHaveLength(1);
    expect(row.ratioMin).toBeLessThanOrEqual(row.ratioMax);
  }
}, 130_000);

test('the observability variants run: today against core before the channels, and with @sess/opentelemetry', () => {
  const r = spawnSync(process.execPath, [path.join(__dirname, '..', 'src', 'run.mjs'), '--variant', 'memory-before-channels,memory-otel', '--scenarios', 'read', '--duration', '1', '--rounds', '1', '--connections', '2', '--json'], {
    encoding: 'utf8',
    timeout: 170_000,
    env: { ...process.env, SESS_BENCH_PINNED: '1' },
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const out = JSON.parse(r.stdout);
  expect(out.results.map((x: { variant: string }) => x.variant)).toEqual(['memory-before-channels', 'memory-otel']);
  for (const row of out.results) expect(row.esRps > 0 && row.sessRps > 0).toBe(true);
}, 180_000);

test('the sess command at scale runs end to end (count, export, import, migrate) and reports time and peak memory', () => {
  const r = spawnSync(process.execPath, [path.join(__dirname, '..', 'src', 'operate.mjs'), '--sessions', '2000', '--json'], { encoding: 'utf8', timeout: 170_000 });
  expect(r.status).toBe(0);
  const out = JSON.parse(r.stdout);
  expect(out.results.map((x: { operation: string }) => x.operation)).toEqual(['count (Redis)', 'export (Redis -> file)', 'import (file -> PostgreSQL)', 'migrate --verify (PostgreSQL -> Redis)']);
  for (const row of out.results) expect(row.seconds > 0 && row.peakRssMb > 0 && row.sessions === 2000).toBe(true);
}, 180_000);
