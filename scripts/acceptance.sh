#!/usr/bin/env bash
# The acceptance run: smoke-test, behaviour-test and performance-test, each against a
# freshly spawned Eventflow and reference target (behaviour-test also on a throwaway
# PostgreSQL for its scale-out scenario), then one final table.
# Usage: scripts/acceptance.sh BIN_DIR [PROFILE] [DURATION_SCALE]
# Environment: REPORT_ONLY — profile thresholds (space-separated) that performance-test
# checks and reports but leaves out of the verdict (its --report-only); REQUIRE_ALL — 1
# (default): a behaviour scenario that was skipped fails the run (behaviour-test
# --require-all; disk-full needs root), 0: skips are reported but do not fail it.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=${1:-.build/release}
profile=${2:-LoadProfiles/5x-peak.yaml}
scale=${3:-1}
export EVENTFLOW_BINARY="$bin/eventflow"
results=()
status=0

run() {
  local name=$1; shift
  echo; echo "=== $name: $*"
  "$@" 2>&1 | tee "$log"
  local code=${PIPESTATUS[0]}
  local verdict
  case $code in 0) verdict=PASS ;; 1) verdict=FAIL ;; *) verdict="COULD NOT RUN ($code)" ;; esac
  [ "$code" -eq 0 ] || status=1
  results+=("$(printf '%-18s %s' "$name" "$verdict")")
}

log=$(mktemp)
postgres_dir=$(mktemp -d /tmp/eventflow-postgres.XXXXXX)
trap 'rm -f "$log"; scripts/postgres.sh stop "$postgres_dir"' EXIT
run smoke-test "$bin/smoke-test" --spawn
# The scale-out scenario runs collectors and processors on one throwaway PostgreSQL.
if postgres_url=$(scripts/postgres.sh start "$postgres_dir"); then
  require_all=()
  [ "${REQUIRE_ALL:-1}" = 0 ] || require_all=(--require-all)
  run behaviour-test "$bin/behaviour-test" --spawn --postgres-url "$postgres_url" "${require_all[@]}"
else
  echo "PostgreSQL did not start (see above): behaviour-test cannot run its scale-out scenario" >&2
  run behaviour-test bash -c "exit 2"
fi
report_only=()
for figure in ${REPORT_ONLY:-}; do report_only+=(--report-only "$figure"); done
run performance-test "$bin/performance-test" --spawn --profile "$profile" --duration-scale "$scale" "${report_only[@]}"
report=$(grep -o 'results: .*report.html' "$log" | tail -1 | cut -d' ' -f2)

echo
echo "=== acceptance"
printf '%s\n' "${results[@]}"
[ -n "$report" ] && echo "report: $report"
if [ "$status" -eq 0 ]; then echo "ACCEPTANCE: PASS"; else echo "ACCEPTANCE: FAIL"; fi
exit "$status"
