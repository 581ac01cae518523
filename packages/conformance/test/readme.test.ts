/** Every code block of the README is a file that the tests run: keep them in step. */
import { expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const readme = readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
const file = (p: string) => readFileSync(path.join(__dirname, p), 'utf8');

test('README shows the tested jest example', () => {
  expect(readme).toContain(file('memory.test.ts').trim());
});

test('README shows the tested CLI factory module', () => {
  expect(readme).toContain(file('fixtures/memorystore-factory.mjs').trim());
});

test('README shows the tested programmatic example', () => {
  const src = file('programmatic.test.ts');
  const snippet = src.slice(src.indexOf('// readme:programmatic:start') + 29, src.indexOf('// readme:programmatic:end')).trim();
  expect(readme).toContain(snippet);
});
