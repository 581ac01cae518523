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
let counts = { passed: 0, failed: 1, skipped: 0, suitesFailed: 1 };
try {
  const j = JSON.parse(readFileSync(raw, 'utf8'));
  counts = {
    passed: j.numPassedTests,
    failed: j.numFailedTests + (j.numRuntimeErrorTestSuites ?? 0),
    skipped: j.numPendingTests + j.numTodoTests,
    suitesFailed: j.numFailedTestSuites,
  };
} catch {
  // jest did not write results: count as a failure below.
}
writeFileSync(path.join(outDir, `${slug}.json`), JSON.stringify({ package: pkg.name, ...counts, exitCode: r.status }));
process.exit(r.status ?? 1);
