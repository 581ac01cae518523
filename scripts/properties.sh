#!/usr/bin/env bash
# The property-based tests of @sess/core (packages/core/test/properties.test.ts) with a million runs per
# property instead of CI's 2,000. Prints jest's result and the seed; docs/reliability.md records a run.
#   bash scripts/properties.sh [runs]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs="${1:-1000000}"
seed="${SESS_PROPERTY_SEED:-$RANDOM$RANDOM}"
echo "sess properties: $runs runs per property, seed $seed, $(node --version), $(nproc) cores"
cd "$root/packages/core"
start=$(date +%s)
SESS_PROPERTY_RUNS="$runs" SESS_PROPERTY_SEED="$seed" npx jest test/properties.test.ts --testTimeout=0 --verbose
echo "sess properties: done in $(( $(date +%s) - start )) s"
