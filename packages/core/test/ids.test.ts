/**
 * Session ids: 24 random bytes from uid-safe, 64 ids per draw (see generateSessionId), and never the same ids in
 * two processes started from one startup snapshot.
 */
import { expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { generateSessionId, readSessionCookie, signId } from '@sess/core';

test('ids are 32 base64url characters, none repeated across many draws', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 64 * 300 + 7; i++) {
    const id = generateSessionId();
    expect(id).toMatch(/^[A-Za-z0-9_-]{32}$/);
    seen.add(id);
  }
  expect(seen.size).toBe(64 * 300 + 7);
});

test('each character position of an id is uniform over the base64url alphabet (the draw is cut on byte boundaries)', () => {
  // 24 bytes are 32 characters exactly: if a cut fell inside a character's bits, the last character of an id would
  // take only a quarter or a half of the alphabet. 64 * 200 ids: each of the 64 symbols at each position ~200 times.
  const counts = Array.from({ length: 32 }, () => new Map<string, number>());
  const n = 64 * 200;
  for (let i = 0; i < n; i++) {
    const id = generateSessionId();
    for (let p = 0; p < 32; p++) counts[p]!.set(id[p]!, (counts[p]!.get(id[p]!) ?? 0) + 1);
  }
  for (const c of counts) {
    expect(c.size).toBe(64);
    for (const k of c.values()) expect(k).toBeGreaterThan(100); // expected 200; below 100 is ~1e-14 per symbol
  }
});

test('processes started from one startup snapshot hand out different ids (the drawn ids are not in the snapshot)', () => {
  // The built module (as a bundled app would carry it) with uid-safe and random-bytes, in one file: a snapshot's
  // entry can only require Node's own modules.
  const dist = path.join(__dirname, '..', 'dist', 'ids.js');
  const req = createRequire(path.join(__dirname, '..', 'package.json'));
  const uidPath = req.resolve('uid-safe');
  const modules: Record<string, string> = { './ids.js': dist, './strings.js': path.join(path.dirname(dist), 'strings.js'), 'uid-safe': uidPath, 'random-bytes': createRequire(uidPath).resolve('random-bytes') };
  let entry = 'const __m = {};\n';
  for (const [name, file] of Object.entries(modules)) entry += `__m[${JSON.stringify(name)}] = function (module, exports, require) {\n${readFileSync(file, 'utf8')}\n};\n`;
  entry += `const __c = {};
function __req(n) { if (!(n in __m)) return require(n); if (!__c[n]) { const module = { exports: {} }; __c[n] = module; __m[n](module, module.exports, __req); } return __c[n].exports; }
const ids = __req('./ids.js');
const drawnAtBuild = ids.generateSessionId();
require('v8').startupSnapshot.setDeserializeMainFunction(() => process.stdout.write(JSON.stringify({ drawnAtBuild, id: ids.generateSessionId() })));
`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sess-snapshot-'));
  try {
    writeFileSync(path.join(dir, 'entry.js'), entry);
    const blob = path.join(dir, 'snapshot.blob');
    const built = spawnSync(process.execPath, ['--snapshot-blob', blob, '--build-snapshot', 'entry.js'], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
    expect(built.stderr).toBe('');
    expect(built.status).toBe(0);
    const run = () => {
      const r = spawnSync(process.execPath, ['--snapshot-blob', blob], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
      expect(r.status).toBe(0);
      return JSON.parse(r.stdout) as { drawnAtBuild: string; id: string };
    };
    const [a, b] = [run(), run()];
    expect(a.drawnAtBuild).toBe(b.drawnAtBuild); // the snapshot did keep the module's state
    expect(a.id).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(a.id).not.toBe(b.id);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);

test('an id kept alone holds no more memory than its own characters (not the draw it was cut from)', () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  // One id kept of every 64, as an in-memory store keyed by id keeps the sessions that were saved.
  const kept = new Map<string, number>();
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 64 * 4000; i++) {
    const id = generateSessionId();
    if (i % 64 === 0) kept.set(id, i);
  }
  gc();
  const perId = (process.memoryUsage().heapUsed - before) / kept.size;
  // A 32-character string is about 56 bytes, plus the Map's entry; a slice of the 2,048-character draw kept ~2,100.
  expect(perId).toBeLessThan(500);
});

test("a signed id is cookie-signature's, byte for byte, for string and Buffer secrets, and verifies back", () => {
  const cookieSignature = require('cookie-signature') as { sign(v: string, s: string | Buffer): string; unsign(v: string, s: string | Buffer): string | false };
  const secrets: Array<string | Buffer> = ['s', 'bench secret', 'ünïcödé secret ✓', 'x'.repeat(300), Buffer.from([0, 1, 2, 255, 254]), Buffer.from('buffer secret')];
  for (const secret of secrets) {
    for (let i = 0; i < 200; i++) {
      const id = i % 50 === 0 ? 'a' : generateSessionId().slice(0, 1 + (i % 32));
      const ours = signId(id, secret);
      expect(ours).toBe('s:' + cookieSignature.sign(id, secret));
      expect(cookieSignature.unsign(ours.slice(2), secret)).toBe(id);
      expect(readSessionCookie('sid=' + encodeURIComponent(ours), 'sid', [secret])).toEqual({ id, secretIndex: 0, value: ours });
    }
  }
});
