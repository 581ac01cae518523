#!/usr/bin/env bash
# Install what is needed and start the demo on http://localhost:${PORT:-3000}.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export TURBO_TELEMETRY_DISABLED=1 TURBO_NO_UPDATE_NOTIFIER=1
bash scripts/ensure-pnpm.sh
pnpm install --frozen-lockfile
pnpm exec turbo run build --filter=@sess/demo... --output-logs=errors-only
exec pnpm --filter @sess/demo start
