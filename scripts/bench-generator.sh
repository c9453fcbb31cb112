#!/usr/bin/env bash
# The load generator alone against nginx `return 202;`, beside wrk with the same settings:
# its capacity as a share of wrk's, its lag at 20,000 requests/s, and its memory for
# 10 million events. Capacity and lag run in ROUNDS rounds (default 3), wrk and the
# generator one after the other in each, so that each ratio compares neighbours on a
# shared machine; the medians and spreads close the output.
# Usage: scripts/bench-generator.sh [BIN_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-.build/release}
rounds=${ROUNDS:-3}
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

port=$(free_port)
start_nginx "$port"
url="http://127.0.0.1:$port"

# run_generator PROFILE: one run against nginx (which stands in for the reference target
# too, so only the generator's own figures count); prints its summary.json.
run_generator() {
  local out="$work/results-$1-$RANDOM"
  "$bin/performance-test" --profile "scripts/profiles/$1.yaml" --url "$url" --target-url "$url" --out "$out" > "$out.log" 2>&1 || true
  ls "$out"/"$1"-*/summary.json
}

summaries=()
for round in $(seq 1 "$rounds"); do
  wrk -t2 -c64 -d10s -s scripts/wrk/single-event.lua "$url/v1/streams/events/events" > "$work/wrk.txt"
  wrk_rps=$(awk '/^Requests\/sec:/ {print $2}' "$work/wrk.txt")
  summaries+=("$wrk_rps" "$(run_generator generator-max)" "$(run_generator generator-20k)")
  echo "round $round done" >&2
done
/usr/bin/time -v "$bin/performance-test" --profile scripts/profiles/generator-10m.yaml --url "$url" \
  --target-url "$url" --out "$work/results-10m" > "$work/gen10m.txt" 2> "$work/time.txt" || true

python3 - "$work/time.txt" "$(ls "$work"/results-10m/generator-10m-*/summary.json)" "${summaries[@]}" <<'PY'
import json, re, statistics, sys
rss_kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(sys.argv[1]).read()).group(1))
figures10m = json.load(open(sys.argv[2]))["figures"]
rest = sys.argv[3:]
shares, lags = [], []
for n in range(0, len(rest), 3):
    wrk = float(rest[n])
    most = json.load(open(rest[n + 1]))["figures"]
    at20k = json.load(open(rest[n + 2]))["figures"]
    share = most["achieved_events_per_second"] / wrk * 100
    shares.append(share)
    lags.append(at20k["generator_lag_p99_ms"])
    print(f"round {n // 3 + 1}: wrk -t2 -c64 {wrk:,.0f} req/s; generator offered 150,000 req/s sent {most['achieved_events_per_second']:,.0f} req/s "
          f"= {share:.1f}% of wrk; at 20,000 req/s: achieved ratio {at20k['achieved_rate_ratio']:.3f}, lag p99 {at20k['generator_lag_p99_ms']:.3f} ms, "
          f"late sends (>1 ms) {at20k['late_sends']:.0f} of {at20k['requests']:.0f}, latency p99 {at20k['ingest_p99_ms']:.2f} ms")
def spread(values, digits, unit):
    return f"median {statistics.median(values):.{digits}f}{unit} (spread {min(values):.{digits}f}–{max(values):.{digits}f}{unit})"
print(f"capacity, share of wrk's requests/s: {spread(shares, 1, '%')}")
print(f"lag p99 at 20,000 req/s: {spread(lags, 3, ' ms')}")
print(f"generator with {figures10m['offered_events_per_second'] * 40:,.0f} events planned ({figures10m['requests']:,.0f} requests): "
      f"peak resident memory {rss_kib / 1024:,.0f} MiB; lag p99 {figures10m['generator_lag_p99_ms']:.1f} ms")
PY
