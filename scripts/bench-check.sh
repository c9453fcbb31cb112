#!/usr/bin/env bash
# Runs the micro-benchmarks of the hot paths (Benchmarks/EventflowBenchmarks) and checks
# each one's allocations per operation against Thresholds/: more allocations than recorded
# fail (a regression on a hot path); fewer pass, with a reminder to record the gain.
# Usage: scripts/bench-check.sh          check (CI runs this)
#        scripts/bench-check.sh update   record the current allocations in Thresholds/
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = update ]; then
  swift package --allow-writing-to-package-directory benchmark thresholds update --target EventflowBenchmarks --no-progress || exit 1
  # Only allocations are deterministic enough to check on a shared machine: keep those.
  for file in Thresholds/*.json; do
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); json.dump({'mallocCountTotal': d['mallocCountTotal']}, open(sys.argv[1], 'w'), indent=2)" "$file"
  done
  exit 0
fi
swift package benchmark thresholds check --target EventflowBenchmarks --no-progress
code=$?
case $code in
  0) echo "BENCH-CHECK: PASS (allocations as recorded in Thresholds/)" ;;
  4) echo "BENCH-CHECK: PASS (fewer allocations than Thresholds/ records: run 'make bench-thresholds' and commit the gain)"; code=0 ;;
  *) echo "BENCH-CHECK: FAIL (a hot path allocates more than Thresholds/ allows; see the table above)" ;;
esac
exit "$code"
