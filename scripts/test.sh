#!/usr/bin/env bash
# The whole test suite, from a fresh clone: get pnpm, install, start the services the tests need,
# build, typecheck, lint and test every package, then print "N passed, N failed, N skipped".
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export TURBO_TELEMETRY_DISABLED=1 TURBO_NO_UPDATE_NOTIFIER=1 FORCE_COLOR=0

bash scripts/ensure-pnpm.sh || exit 1
pnpm install --frozen-lockfile || exit 1
services_ok=1
bash scripts/services.sh || services_ok=0
if [ "$services_ok" = 0 ]; then
  echo "sess: some services did not start; tests that need them will fail under CI=true and skip loudly otherwise" >&2
fi

bash scripts/ensure-chromium.sh || echo "sess: chromium is missing; the demo's browser tests will fail under CI=true" >&2

rm -rf .test-results
pnpm exec turbo run build typecheck lint test --continue --concurrency=2 --output-logs=new-only
turbo_status=$?
# Every package that has tests must have reported results.
expected=$(node -e "
const fs=require('fs'),path=require('path');
for (const base of ['packages','examples','tests','bench']) {
  const dirs = base==='bench' ? ['bench'] : (fs.existsSync(base)?fs.readdirSync(base).map(d=>path.join(base,d)):[]);
  for (const d of dirs) { try { const p=JSON.parse(fs.readFileSync(path.join(d,'package.json'),'utf8')); if (p.scripts&&p.scripts.test) console.log(p.name) } catch {} }
}")
node scripts/summary.mjs $expected
summary_status=$?
if [ $turbo_status -ne 0 ] && [ $summary_status -eq 0 ]; then
  echo "sess: build, typecheck or lint failed (see above)"
  exit 1
fi
exit $summary_status
