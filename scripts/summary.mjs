#!/usr/bin/env node
// Add up the per-package counts written by scripts/jest.mjs (and any other runner that writes
// .test-results/*.json in the same shape) and print the closing line: N passed, N failed, N skipped.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.join(root, '.test-results');
const expected = process.argv.slice(2);
let passed = 0;
let failed = 0;
let skipped = 0;
const seen = new Set();
const failures = [];
let files = [];
try {
  files = readdirSync(dir).filter((f) => f.endsWith('.json') && !f.endsWith('.jest.json'));
} catch {
  // no results at all
}
for (const f of files) {
  const r = JSON.parse(readFileSync(path.join(dir, f), 'utf8'));
  seen.add(r.package);
  passed += r.passed;
  failed += r.failed;
  skipped += r.skipped;
  if (r.exitCode !== 0 && r.failed === 0) {
    console.log(`${r.package}: the test run exited with ${r.exitCode} (suite failed to run)`);
    failed += 1;
  }
  console.log(`${r.package}: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped`);
  for (const f of r.failures ?? []) failures.push({ package: r.package, ...f });
}
for (const f of failures) {
  console.log(`FAILED ${f.package} ${f.file} › ${f.test}`);
  if (f.message) console.log(f.message.replace(/^/gm, '    '));
}
for (const name of expected) {
  if (!seen.has(name)) {
    console.log(`${name}: no test results (did its tests run?)`);
    failed += 1;
  }
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
