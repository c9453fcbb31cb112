#!/usr/bin/env bash
# Runs performance-test on every shipped load profile (LoadProfiles/*.yaml), each against a
# freshly spawned Eventflow and reference target, with every stage scaled by DURATION_SCALE;
# then one table of verdicts. Fails when any profile fails, so a profile that stops passing
# out of the box is caught.
# Usage: scripts/profiles.sh BIN_DIR [DURATION_SCALE]
# Environment: REPORT_ONLY — thresholds (space-separated) checked and reported but kept out
# of the verdicts (performance-test's --report-only).
set -uo pipefail
cd "$(dirname "$0")/.."
bin=${1:-.build/release}
scale=${2:-0.1}
export EVENTFLOW_BINARY="$bin/eventflow"
results=()
status=0
for profile in LoadProfiles/*.yaml; do
  echo; echo "=== $profile (--duration-scale $scale)"
  # performance-test refuses --report-only for a threshold its profile does not have.
  report_only=()
  for figure in ${REPORT_ONLY:-}; do
    grep -qE "^[[:space:]]+$figure:" "$profile" && report_only+=(--report-only "$figure")
  done
  "$bin/performance-test" --spawn --profile "$profile" --duration-scale "$scale" ${report_only[@]+"${report_only[@]}"}
  code=$?
  case $code in 0) verdict=PASS ;; 1) verdict=FAIL; status=1 ;; *) verdict="COULD NOT RUN ($code)"; status=1 ;; esac
  results+=("$(printf '%-40s %s' "$profile" "$verdict")")
done
echo
echo "=== profiles at --duration-scale $scale"
printf '%s\n' "${results[@]}"
if [ "$status" -eq 0 ]; then echo "PROFILES: PASS"; else echo "PROFILES: FAIL"; fi
exit "$status"
