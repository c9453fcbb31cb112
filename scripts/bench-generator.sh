#!/usr/bin/env bash
# The load generator alone against nginx `return 202;`, beside wrk with the same settings:
# throughput and lag at 20,000 requests/s, and memory for 10 million events.
# Usage: scripts/bench-generator.sh [BIN_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-.build/release}
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

port=$(free_port)
start_nginx "$port"

wrk -t2 -c64 -d10s -s scripts/wrk/single-event.lua "http://127.0.0.1:$port/v1/streams/events/events" > "$work/wrk.txt"
wrk_rps=$(awk '/^Requests\/sec:/ {print $2}' "$work/wrk.txt")

# The verdict needs a reference target; nginx stands in, so only the generator's own figures count here.
"$bin/performance-test" --profile scripts/profiles/generator-20k.yaml --url "http://127.0.0.1:$port" \
  --target-url "http://127.0.0.1:$port" --out "$work/results" > "$work/gen.txt" 2>&1 || { tail -5 "$work/gen.txt"; true; }
summary=$(ls "$work"/results/generator-20k-*/summary.json)
"$bin/performance-test" --profile scripts/profiles/generator-max.yaml --url "http://127.0.0.1:$port" \
  --target-url "http://127.0.0.1:$port" --out "$work/results" > "$work/genmax.txt" 2>&1 || true
summary_max=$(ls "$work"/results/generator-max-*/summary.json)
/usr/bin/time -v "$bin/performance-test" --profile scripts/profiles/generator-10m.yaml --url "http://127.0.0.1:$port" \
  --target-url "http://127.0.0.1:$port" --out "$work/results" > "$work/gen10m.txt" 2> "$work/time.txt" || true
summary10m=$(ls "$work"/results/generator-10m-*/summary.json)

python3 - "$wrk_rps" "$summary" "$summary10m" "$work/time.txt" "$summary_max" <<'PY'
import json, re, sys
wrk = float(sys.argv[1])
figures = json.load(open(sys.argv[2]))["figures"]
figures10m = json.load(open(sys.argv[3]))["figures"]
rss_kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(sys.argv[4]).read()).group(1))
most = json.load(open(sys.argv[5]))["figures"]
print(f"wrk -t2 -c64 single events against nginx: {wrk:,.0f} req/s (closed loop, as fast as it can)")
print(f"generator offered 150,000 req/s: sent {most['achieved_events_per_second']:,.0f} req/s = {most['achieved_events_per_second'] / wrk * 100:.1f}% of wrk")
print(f"generator at 20,000 req/s offered: achieved ratio {figures['achieved_rate_ratio']:.3f}, "
      f"lag p99 {figures['generator_lag_p99_ms']:.3f} ms, late sends (>1 ms) {figures['late_sends']:.0f} of {figures['requests']:.0f}, "
      f"latency p99 {figures['ingest_p99_ms']:.2f} ms")
print(f"generator with {figures10m['offered_events_per_second'] * 40:,.0f} events planned ({figures10m['requests']:,.0f} requests): "
      f"peak resident memory {rss_kib / 1024:,.0f} MiB; lag p99 {figures10m['generator_lag_p99_ms']:.1f} ms")
PY
