#!/usr/bin/env node
// Build one package (run from its folder): tsc to CommonJS in dist/, then thin entry points so that
// CommonJS and ESM consumers share one copy of the code (no dual-package hazard):
//   dist/entry.js   CommonJS entry (with --callable NAME: module.exports is that function, carrying every export)
//   dist/entry.mjs  ESM entry re-exporting the CommonJS module's names
//   dist/entry.d.mts types for the ESM entry
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const args = process.argv.slice(2);
const callable = args.includes('--callable') ? args[args.indexOf('--callable') + 1] : undefined;
const cwd = process.cwd();
const require = createRequire(path.join(cwd, 'package.json'));

rmSync(path.join(cwd, 'dist'), { recursive: true, force: true });
const tsc = require.resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit', cwd });

const dist = path.join(cwd, 'dist');
const cjsEntry = callable
  ? `'use strict';\nconst api = require('./index.js');\nconst main = api[${JSON.stringify(callable)}];\nfor (const key of Object.keys(api)) if (!(key in main) || key === 'default') main[key] = api[key];\nObject.defineProperty(main, '__esModule', { value: true });\nmodule.exports = main;\n`
  : `'use strict';\nmodule.exports = require('./index.js');\n`;
writeFileSync(path.join(dist, 'entry.js'), cjsEntry);

const mod = require(path.join(dist, 'entry.js'));
const names = Object.keys(mod).filter((k) => k !== 'default' && k !== '__esModule' && /^[A-Za-z_$][\w$]*$/.test(k));
let esm = `import cjs from './entry.js';\n`;
esm += `export const { ${names.join(', ')} } = cjs;\n`;
if ('default' in mod) esm += `export default cjs${callable ? '' : '.default'};\n`;
writeFileSync(path.join(dist, 'entry.mjs'), esm);

let dmts = `export * from './index.js';\n`;
if (callable) dmts += `import { ${callable} } from './index.js';\nexport default ${callable};\n`;
else if ('default' in mod) dmts += `import cjs from './index.js';\nexport default cjs;\n`;
writeFileSync(path.join(dist, 'entry.d.mts'), dmts);
if (!existsSync(path.join(dist, 'index.d.ts'))) throw new Error('tsc wrote no index.d.ts');
console.log(`built ${path.basename(cwd)}: ${names.length} exports${callable ? `, callable ${callable}` : ''}`);
