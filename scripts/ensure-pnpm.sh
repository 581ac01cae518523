#!/usr/bin/env bash
# Make the pinned pnpm available (from package.json's packageManager), installing it with npm if needed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
want="$(node -p "require('$root/package.json').packageManager.split('@')[1].split('+')[0]")"
have="$(pnpm --version 2>/dev/null || true)"
if [ "$have" != "$want" ]; then
  echo "sess: installing pnpm@$want with npm" >&2
  npm install -g "pnpm@$want" >/dev/null
fi
