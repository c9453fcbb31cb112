#!/usr/bin/env bash
# Ingest throughput of Eventflow measured with wrk, side by side with an nginx
# `return 202;` baseline in the same run (same machine, same wrk settings).
# Usage: scripts/bench-ingest.sh [EVENTFLOW_BINARY]
# Environment: BENCH_SECONDS (10 per run), BENCH_CONNECTIONS (64), BENCH_THREADS (2).
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-.build/release/eventflow}
seconds=${BENCH_SECONDS:-10}
connections=${BENCH_CONNECTIONS:-64}
threads=${BENCH_THREADS:-2}
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

nginx_port=$(free_port)
start_nginx "$nginx_port"

eventflow_port=$(free_port)
"$binary" serve --port "$eventflow_port" --data-dir "$work/data" --log-level warning --no-delivery &
eventflow_pid=$!
pids+=($eventflow_pid)

wait_http "http://127.0.0.1:$eventflow_port/healthz"

# run NAME URL SCRIPT → prints wrk's report to $work/NAME.txt
run() {
  wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency -s "scripts/wrk/$3" "$2" > "$work/$1.txt"
}
rps() { awk '/^Requests\/sec:/ {print $2}' "$work/$1.txt"; }
p99() { awk '$1 == "99%" {print $2}' "$work/$1.txt"; }
errors() { awk '/Non-2xx or 3xx responses:/ {print $5} /Socket errors:/ {print}' "$work/$1.txt"; }

echo "wrk -t$threads -c$connections -d${seconds}s on loopback, $(nproc) cores; eventflow $(basename "$binary") with synchronous=FULL"
run nginx-single "http://127.0.0.1:$nginx_port/v1/streams/events/events" single-event.lua
run eventflow-single "http://127.0.0.1:$eventflow_port/v1/streams/events/events" single-event.lua
run eventflow-batch "http://127.0.0.1:$eventflow_port/v1/streams/events/events" ndjson-100.lua
peak_rss_kib=$(awk '/^VmHWM:/ {print $2}' "/proc/$eventflow_pid/status")
committed=$(curl -s "http://127.0.0.1:$eventflow_port/v1/streams" | python3 -c 'import json,sys; print([s["head_offset"] for s in json.load(sys.stdin)["streams"] if s["name"]=="events"][0])')

for name in nginx-single eventflow-single eventflow-batch; do
  echo; echo "== $name"; sed -n '/Latency Distribution/,/Requests\/sec/p' "$work/$name.txt"
done
ratio=$(python3 -c "print(f'{$(rps eventflow-single)/$(rps nginx-single)*100:.1f}')")
batch_events=$(python3 -c "print(f'{$(rps eventflow-batch)*100:,.0f}')")
echo
echo "summary"
printf '  %-40s %12s req/s   p99 %s\n' "nginx return 202 (baseline)" "$(rps nginx-single)" "$(p99 nginx-single)"
printf '  %-40s %12s req/s   p99 %s   (%s%% of nginx)\n' "eventflow single events" "$(rps eventflow-single)" "$(p99 eventflow-single)" "$ratio"
printf '  %-40s %12s events/s   p99 %s\n' "eventflow NDJSON batches of 100" "$batch_events" "$(p99 eventflow-batch)"
printf '  %-40s %12s MiB\n' "eventflow peak resident memory" "$((peak_rss_kib / 1024))"
printf '  %-40s %12s events\n' "events committed in the log" "$committed"
for name in eventflow-single eventflow-batch; do
  bad=$(errors "$name")
  [ -z "$bad" ] || echo "  $name: non-2xx or socket errors: $bad"
done
