#!/usr/bin/env node
// Run jest for the package in the current folder and record its counts in
// <repo>/.test-results/<package>.json, which scripts/summary.mjs adds up into the closing line.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const slug = pkg.name.replace(/^@/, '').replace(/\//g, '__');
const outDir = path.join(root, '.test-results');
mkdirSync(outDir, { recursive: true });
const raw = path.join(outDir, `${slug}.jest.json`);
rmSync(raw, { force: true });
const require = createRequire(path.join(process.cwd(), 'package.json'));
const jestBin = require.resolve('jest/bin/jest', { paths: [process.cwd(), root] });
const r = spawnSync(process.execPath, [jestBin, '--json', `--outputFile=${raw}`, ...process.argv.slice(2)], { stdio: 'inherit' });
let counts = { passed: 0, failed: 1, skipped: 0, suitesFailed: 1, failures: [] };
// The first lines of a failure's message: enough to name the cause in the closing summary, which is
// all that remains of a long CI log when only its end is kept.
const head = (text) =>
  String(text ?? '')
    .replace(/\u001b\[[0-9;]*m/g, '')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(0, 6)
    .join('\n');
try {
  const j = JSON.parse(readFileSync(raw, 'utf8'));
  const failures = [];
  for (const suite of j.testResults ?? []) {
    const file = path.relative(process.cwd(), suite.name);
    const failed = (suite.assertionResults ?? []).filter((a) => a.status === 'failed');
    for (const a of failed) failures.push({ file, test: a.fullName, message: head((a.failureMessages ?? []).join('\n')) });
    if (failed.length === 0 && suite.status === 'failed') failures.push({ file, test: '(suite failed to run)', message: head(suite.message) });
  }
  counts = {
    passed: j.numPassedTests,
    failed: j.numFailedTests + (j.numRuntimeErrorTestSuites ?? 0),
    skipped: j.numPendingTests + j.numTodoTests,
    suitesFailed: j.numFailedTestSuites,
    failures,
  };
} catch {
  // jest did not write results: count as a failure below.
}
writeFileSync(path.join(outDir, `${slug}.json`), JSON.stringify({ package: pkg.name, ...counts, exitCode: r.status }));
process.exit(r.status ?? 1);
