import { expect, test } from '@jest/globals';
// readme:programmatic:start
import { MemoryStore } from '@sess/core';
import { runConformance, summarise } from '@sess/conformance';

async function check() {
  const results = await runConformance(() => new MemoryStore(), { grep: /roundtrip|overwrite/ });
  for (const r of results) console.log(r.status, r.id, r.reason ?? '');
  return summarise(results); // { passed, failed, skipped }
}
// readme:programmatic:end

test('the programmatic example of the README runs', async () => {
  const log = console.log;
  console.log = () => undefined;
  try {
    expect(await check()).toEqual({ passed: 2, failed: 0, skipped: 0 });
  } finally {
    console.log = log;
  }
});
