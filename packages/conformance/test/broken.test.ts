/**
 * The suite proves it can fail: each store below is broken on purpose in one way, and the case that
 * guards against that must fail (while the rest of the suite still passes).
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import { MemoryStore, type SessionLock, type SessionPatch, type SessionRecord, type SyncStoreOps, type WriteContext } from '@sess/core';
import { runConformance, type CaseResult } from '@sess/conformance';

const shared = new Map<string, MemoryStore>();

class IgnoresExpiry extends MemoryStore {
  private kept = new Map<string, SessionRecord>();
  override async set(sid: string, r: SessionRecord, c: WriteContext) {
    this.kept.set(sid, JSON.parse(JSON.stringify(r)));
    return super.set(sid, r, { ...c, expires: new Date(Date.now() + 3_600_000) });
  }
}
class SwallowsErrors extends MemoryStore {
  override async set(sid: string, r: SessionRecord, c: WriteContext) {
    try {
      await super.set(sid, r, { ...c, json: undefined });
    } catch {
      // swallowed: the caller thinks it was saved
    }
  }
}
/** Synchronous ops that do not do what the promise-based ones do: its sync touch rewrites the data. */
class SyncTouchRewrites extends MemoryStore {
  override get sync(): SyncStoreOps {
    const ops = (this as unknown as { syncOps: SyncStoreOps }).syncOps;
    return {
      ...ops,
      touch: (sid, r, c) => {
        if (ops.get(sid)) ops.set(sid, r, c);
      },
    };
  }
}
class NeverSettles extends MemoryStore {
  override get(): Promise<SessionRecord | null> {
    return new Promise(() => undefined);
  }
}
class LosesWrites extends MemoryStore {
  private n = 0;
  override async set(sid: string, r: SessionRecord, c: WriteContext) {
    if (++this.n % 7 === 0) return;
    return super.set(sid, r, c);
  }
}
const leakedHandles: NodeJS.Timeout[] = [];
afterAll(() => leakedHandles.forEach((h) => clearInterval(h)));

class LeaksHandle extends MemoryStore {
  private handle = (() => {
    const h = setInterval(() => undefined, 1000);
    leakedHandles.push(h);
    return h;
  })();
  override async close() {
    await super.close();
    void this.handle; // forgets to clearInterval
  }
}
class LiesAboutLocks extends MemoryStore {
  override readonly capabilities = { ...new MemoryStore({ checkPeriod: 0 }).capabilities, lock: false };
}
class TouchRewrites extends MemoryStore {
  override async touch(sid: string, r: SessionRecord, c: WriteContext) {
    if (await this.get(sid)) await this.set(sid, r, c);
  }
}
/** Extends the expiry but keeps the old cookie, as connect-redis's touch does (declaring a cookie-storing touch). */
class TouchKeepsOldCookie extends MemoryStore {
  override async touch(sid: string, _r: SessionRecord, c: WriteContext) {
    const cur = await this.get(sid);
    if (cur) await this.set(sid, cur, c);
  }
}
class TouchResurrects extends MemoryStore {
  override async touch(sid: string, r: SessionRecord, c: WriteContext) {
    await this.set(sid, r, c);
  }
}
class RacyPatch extends MemoryStore {
  override async patch(sid: string, p: SessionPatch, c: WriteContext) {
    const cur = await this.get(sid);
    if (!cur) return false;
    await new Promise((r) => setTimeout(r, 1));
    await this.set(sid, { ...cur, ...p.set, cookie: p.cookie }, c);
    return true;
  }
}
class ClearsEverything extends MemoryStore {
  override async clear() {
    for (const s of shared.values()) await (MemoryStore.prototype.clear as (this: MemoryStore) => Promise<void>).call(s);
  }
}
class StealsLocks extends MemoryStore {
  override async lock(): Promise<SessionLock> {
    return { release: async () => undefined };
  }
}

async function run(make: () => MemoryStore, grep?: RegExp): Promise<Record<string, CaseResult>> {
  const results = await runConformance(
    (ctx) => {
      const s = make();
      shared.set(ctx.namespace, s);
      return s;
    },
    { grep, timeoutMs: grep?.test('expired-null') ? 10_000 : undefined },
  );
  return Object.fromEntries(results.map((r) => [r.id, r]));
}

describe('the suite catches broken stores', () => {
  test.each<[string, string, () => MemoryStore, RegExp]>([
    ['ignores expiry', 'expired-null', () => new IgnoresExpiry({ checkPeriod: 0 }), /expired record must read as null/],
    ['swallows errors', 'unserialisable-rejects', () => new SwallowsErrors({ checkPeriod: 0 }), /must reject/],
    ['never settles', 'roundtrip', () => new NeverSettles({ checkPeriod: 0 }), /store\.get\(\) did not settle within 300 ms/],
    ['loses writes', 'parallel-writes', () => new LosesWrites({ checkPeriod: 0 }), /was lost/],
    ['leaks a handle', 'close-releases', () => new LeaksHandle({ checkPeriod: 0 }), /after close\(\) the store still holds \d+ Timeout/],
    ['lies about a capability', 'capabilities-declared', () => new LiesAboutLocks({ checkPeriod: 0 }), /lock is implemented but capabilities.lock is not declared/],
    ['touch rewrites data', 'touch-extends', () => new TouchRewrites({ checkPeriod: 0 }), /touch rewrote the data/],
    ['touch keeps the old cookie', 'touch-stores-cookie', () => new TouchKeepsOldCookie({ checkPeriod: 0 }), /touch must store the new cookie/],
    ['touch resurrects', 'touch-no-resurrect', () => new TouchResurrects({ checkPeriod: 0 }), /brought a destroyed session back/],
    ['patch is not atomic', 'atomic-patch', () => new RacyPatch({ checkPeriod: 0 }), /was lost/],
    ['clear reaches other namespaces', 'clear-own-namespace', () => new ClearsEverything({ checkPeriod: 0 }), /removed a session of another namespace/],
    ['lock is not exclusive', 'lock-exclusive', () => new StealsLocks({ checkPeriod: 0 }), /must wait and then fail/],
    ['sync touch rewrites data', 'sync-agrees', () => new SyncTouchRewrites({ checkPeriod: 0 }), /sync\.touch rewrote the data/],
  ])('%s → %s fails', async (_name, caseId, make, reason) => {
    const results =
      caseId === 'roundtrip'
        ? Object.fromEntries((await runConformance(() => make(), { grep: /^roundtrip$/, timeoutMs: 300 })).map((r) => [r.id, r]))
        : await run(make, new RegExp(`^${caseId}$`));
    expect(results[caseId]?.status).toBe('failed');
    expect(results[caseId]?.reason).toMatch(reason);
  });

  test('the honest MemoryStore passes every case it can run', async () => {
    const results = await runConformance(() => new MemoryStore({ checkPeriod: 0 }));
    const failed = results.filter((r) => r.status === 'failed');
    expect(failed).toEqual([]);
    expect(results.filter((r) => r.status === 'skipped').map((r) => [r.id, r.reason])).toEqual([['shared-instances', 'store does not declare capabilities.shared']]);
  }, 120_000);
});
