/**
 * The level choice, in the jest binding and the programmatic API: a store that breaks only what sess's own
 * features need (it ignores expiry on read) passes at the express-session level and fails at the sess level.
 */
import { describe, expect, test } from '@jest/globals';
import { MemoryStore, type SessionRecord, type WriteContext } from '@sess/core';
import { describeStore } from '@sess/conformance/jest';
import { junit, markdown, report, runConformance, summarise } from '@sess/conformance';

/** Keeps every record an hour, whatever its expiry: expired-null (sess level) fails. */
class IgnoresExpiry extends MemoryStore {
  override async set(sid: string, r: SessionRecord, c: WriteContext) {
    return super.set(sid, r, { ...c, json: undefined, expires: new Date(Date.now() + 3_600_000) });
  }
}
const factory = () => new IgnoresExpiry({ checkPeriod: 0 });

// Declared at the express-session level: the sess-level cases show as skipped (not counted), the rest pass.
describeStore('IgnoresExpiry at the express-session level', factory, { level: 'express-session', grep: /^(roundtrip|overwrite|expired-null|touch-stores-cookie)$/ });

describe('the programmatic API takes the same level choice', () => {
  test('summarise and the reporters count and show each level', async () => {
    const results = await runConformance(factory, { grep: /^(roundtrip|expired-null)$/, level: 'express-session', timeoutMs: 10_000 });
    expect(results.map((r) => [r.id, r.level, r.status])).toEqual([
      ['roundtrip', 'express-session', 'passed'],
      ['expired-null', 'sess', 'failed'],
    ]);
    expect(results[1]!.impact).toMatch(/users stay logged in after their timeout/);
    expect(summarise(results, 'express-session')).toEqual({ passed: 1, failed: 0, skipped: 0 });
    expect(summarise(results)).toEqual({ passed: 1, failed: 1, skipped: 0 });
    expect(report('text', results)).toBe(
      'express-session level (what express-session apps rely on): 1 passed, 0 failed, 0 skipped\n' +
        'sess level (what sess features need beyond it): 0 passed, 1 failed, 0 skipped',
    );
    expect(junit(results, 'x')).toContain('<testsuite name="x (sess level)" tests="1" failures="1"');
    expect(markdown(results, 'x')).toContain('### sess level: what sess features need beyond it');
  }, 30_000);
});
