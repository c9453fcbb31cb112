#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer (swiftc -sanitize=fuzzer,address).
# EventflowCore is compiled once, instrumented, as a module of its own; each target (its
# FuzzTarget file in Fuzz/CoreTargets or Fuzz/AcceptanceTargets, with the AcceptanceKit files
# it fuzzes, and its entry point in Fuzz/Entry) is linked against it and run for FUZZ_SECONDS
# on a working copy of its seed corpus (Fuzz/Corpus/<target>). A crash is kept in
# Fuzz/Regressions/<target>/, where FuzzRegressionTests replays it in `make test`, and fails the run.
# Usage: scripts/fuzz.sh [TARGET…]   Environment: FUZZ_SECONDS (default 30), FUZZ_JOBS (default 1)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-30}
jobs=${FUZZ_JOBS:-1}
out=.build/fuzz
mkdir -p "$out/modules"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(IngestParser TextParsers ProfileParser)
flags=(-sanitize=fuzzer,address -parse-as-library -O)
# ld.gold warns about every local ASan symbol it cannot export; those lines say nothing.
quiet() { grep -v "Cannot export local symbol" >&2 || true; }

# The sources a target is compiled from besides EventflowCore.
sources() {
  case "$1" in
    ProfileParser) echo Fuzz/AcceptanceTargets/ProfileParserFuzzTarget.swift AcceptanceTests/AcceptanceKit/LoadProfile.swift AcceptanceTests/AcceptanceKit/RequestPlanner.swift \
      AcceptanceTests/AcceptanceKit/Verification/Threshold.swift AcceptanceTests/AcceptanceKit/Verification/RateSchedule.swift ;;
    TextParsers) echo Fuzz/AcceptanceTargets/TextParsersFuzzTarget.swift AcceptanceTests/AcceptanceKit/Verification/Threshold.swift ;;
    *) echo "Fuzz/CoreTargets/${1}FuzzTarget.swift" ;;
  esac
}

echo "=== fuzz: building EventflowCore with coverage"
swiftc "${flags[@]}" -module-name EventflowCore -emit-module -emit-module-path "$out/modules/EventflowCore.swiftmodule" \
  -emit-library -static -o "$out/libEventflowCore.a" $(find Sources/EventflowCore -name '*.swift' | sort) 2> >(quiet)

status=0
for target in "${targets[@]}"; do
  name=$(echo "$target" | sed -E 's/([a-z])([A-Z])/\1-\2/g' | tr 'A-Z' 'a-z')
  binary="$out/$name"
  echo "=== fuzz $name: building"
  swiftc "${flags[@]}" -module-name EventflowFuzz -I "$out/modules" -L "$out" -lEventflowCore \
    $(sources "$target") "Fuzz/Entry/${target}Entry.swift" -o "$binary" 2> >(quiet)
  corpus="$out/corpus-$name"
  mkdir -p "$corpus" "Fuzz/Regressions/$name"
  cp -n "Fuzz/Corpus/$name"/* "$corpus"/ 2>/dev/null || true
  echo "=== fuzz $name: ${seconds}s × $jobs job(s)"
  if ! "$binary" "$corpus" -max_total_time="$seconds" -jobs="$jobs" -workers="$jobs" -print_final_stats=1 \
      -artifact_prefix="Fuzz/Regressions/$name/" -max_len=65536 2>&1 | grep -E "^(#[0-9]+ *DONE|stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==|SUMMARY|artifact_prefix|Test unit written|Done)"; then
    true
  fi
  if ls "Fuzz/Regressions/$name"/crash-* >/dev/null 2>&1; then
    echo "fuzz $name: FOUND a crash, kept in Fuzz/Regressions/$name/ (make test replays it)"
    status=1
  else
    echo "fuzz $name: no crash"
  fi
done
exit "$status"
