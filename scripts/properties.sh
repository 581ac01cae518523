#!/usr/bin/env bash
# The property-based tests of @sess/core (packages/core/test/properties.test.ts) with a million runs per
# property instead of CI's 2,000, one group at a time (each prints its result as it ends). Prints the seed;
# docs/reliability.md records a run.
#   bash scripts/properties.sh [runs]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs="${1:-1000000}"
seed="${SESS_PROPERTY_SEED:-$RANDOM$RANDOM}"
echo "sess properties: $runs runs per property, seed $seed, $(node --version), $(nproc) cores"
cd "$root/packages/core"
for group in 'the Cookie header parser' 'signature verification' 'the stored-record decoder' 'the id grammar'; do
  start=$(date +%s)
  SESS_PROPERTY_RUNS="$runs" SESS_PROPERTY_SEED="$seed" npx jest test/properties.test.ts -t "$group" --testTimeout=0 --verbose 2>&1 | grep -E '✓|✕|●|Counterexample|Shrunk|seed|Tests:'
  echo "sess properties: $group done in $(( $(date +%s) - start )) s"
done
