#!/usr/bin/env node
'use strict';
// The run's result decides the exit code; a timer, socket or connection the store under test left open must
// not keep the process (and the CI job running it) alive, so the process exits once the report is out.
const exit = (code) => process.stdout.write('', () => process.exit(code));
require('../dist/cli.js').main(process.argv.slice(2)).then(exit, (err) => {
  console.error(err && err.stack ? err.stack : err);
  exit(2);
});
