import { afterAll } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeStore } from '@sess/conformance/jest';
import { FileStore } from '@sess/store-file';

const root = mkdtempSync(path.join(os.tmpdir(), 'sess-file-conf-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// Each case gets its own folder; `open()` makes a second instance on the same folder (shared).
describeStore('FileStore', (ctx) => new FileStore({ dir: path.join(root, ctx.namespace), reapInterval: 0 }));
