#!/usr/bin/env bash
# Coverage-guided fuzzing of EventflowCore's parsers with libFuzzer (swiftc -sanitize=fuzzer).
# Each target (Fuzz/Targets, entry point in Fuzz/Entry) is compiled with the Core sources (Core imports
# nothing), then run for FUZZ_SECONDS on a working copy of its seed corpus (Fuzz/Corpus/<target>).
# A crash is kept in Fuzz/Regressions/<target>/, where FuzzRegressionTests replays it in
# `make test`, and fails the run.
# Usage: scripts/fuzz.sh [TARGET…]   Environment: FUZZ_SECONDS (default 30), FUZZ_JOBS (default 1)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-30}
jobs=${FUZZ_JOBS:-1}
out=.build/fuzz
mkdir -p "$out"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(IngestParser TextParsers)
core=$(find Sources/EventflowCore -name '*.swift' | sort)
status=0
for target in "${targets[@]}"; do
  name=$(echo "$target" | sed -E 's/([a-z])([A-Z])/\1-\2/g' | tr 'A-Z' 'a-z')
  binary="$out/$name"
  echo "=== fuzz $name: building"
  # ld.gold warns about every local ASan symbol it cannot export; those lines say nothing.
  swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name EventflowFuzz \
    $core Fuzz/Targets/*.swift "Fuzz/Entry/${target}Entry.swift" -o "$binary" 2> >(grep -v "Cannot export local symbol" >&2)
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
